/**
 * A request-body sink handed to the client side before the upstream stream exists (the
 * connection may still be opening, or waiting for MAX_CONCURRENT_STREAMS). It holds what is
 * written until `attach`, answering `false` once it holds anything, so the client side pauses:
 * at most one chunk is buffered per request. Every request gets one, with or without body: its
 * `abort` is how the client side cancels the exchange (before it is sent: `cancelled`, the
 * upstream never sends it; after: forwarded to the attached sink).
 */
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { HeaderField } from "../hpack/types.ts";
import type { BodySink, RequestLink } from "./message.ts";

export class DeferredSink implements BodySink, RequestLink {
  #target: BodySink | null = null;
  /** Made on the first write before `attach` (most requests have no body). */
  #held: Uint8Array[] | null = null;
  #end: { trailers: HeaderField[] | null } | null = null;
  #aborted: ProxyError | null = null;
  onDrain: (() => void) | null = null;

  get cancelled(): boolean {
    return this.#aborted !== null;
  }

  write(chunk: Uint8Array): boolean {
    if (this.#aborted) return true;
    if (this.#target) return this.#room(this.#target.write(chunk));
    this.#held ??= [];
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
    this.#held = null;
    this.#target?.abort(err);
  }

  /** Connects the real sink and replays what was held (a retry attaches its new sink again). */
  attach(target: BodySink): void {
    if (this.#aborted) {
      target.abort(this.#aborted);
      return;
    }
    this.#target = target;
    let room = true;
    const held = this.#held;
    this.#held = null;
    if (held !== null) for (const chunk of held) room = this.#room(target.write(chunk));
    if (this.#end) target.end(this.#end.trailers);
    // The held chunks were taken with `false`: their producer waits for this, ended or not.
    if (room) this.onDrain?.();
  }

  /**
   * A target calls `onDrain` only after a `write` said false: the relay is made then, so a
   * request without body costs no closure.
   */
  #room(room: boolean): boolean {
    const target = this.#target as BodySink;
    if (!room && target.onDrain === null) target.onDrain = () => this.onDrain?.();
    return room;
  }
}
