/**
 * A request-body sink handed to the client side before the upstream stream exists (the
 * connection may still be opening, or waiting for MAX_CONCURRENT_STREAMS). It holds what is
 * written until `attach`, answering `false` once it holds anything, so the client side pauses:
 * at most one chunk is buffered per request.
 */
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { HeaderField } from "../hpack/types.ts";
import type { BodySink } from "./message.ts";

export class DeferredSink implements BodySink {
  #target: BodySink | null = null;
  #held: Uint8Array[] = [];
  #end: { trailers: HeaderField[] | null } | null = null;
  #aborted: ProxyError | null = null;
  onDrain: (() => void) | null = null;

  write(chunk: Uint8Array): boolean {
    if (this.#aborted) return true;
    if (this.#target) return this.#target.write(chunk);
    this.#held.push(chunk);
    return false;
  }

  end(trailers: HeaderField[] | null): void {
    if (this.#aborted) return;
    if (this.#target) this.#target.end(trailers);
    else this.#end = { trailers };
  }

  abort(err: ProxyError): void {
    if (this.#aborted) return;
    this.#aborted = err;
    this.#held = [];
    this.#target?.abort(err);
  }

  /** Connects the real sink and replays what was held. */
  attach(target: BodySink): void {
    if (this.#aborted) {
      target.abort(this.#aborted);
      return;
    }
    this.#target = target;
    target.onDrain = () => this.onDrain?.();
    let room = true;
    for (const chunk of this.#held.splice(0)) room = target.write(chunk);
    if (this.#end) target.end(this.#end.trailers);
    else if (room) this.onDrain?.();
  }
}
