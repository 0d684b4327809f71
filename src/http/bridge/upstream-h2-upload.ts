/**
 * A request body on an upstream HTTP/2 stream (upstream-h2.ts): the sink the client side writes
 * into, within the origin's windows. What the windows do not take waits, in order, until they
 * open; a producer may go on writing after a `false`, and hears `onDrain` once it all left.
 *
 * Each chunk waits for the rest of its turn of the event loop (or the next chunk) before it goes:
 * an end in the same turn, as both client sides give the last chunk and the end together, then
 * rides on the last DATA frame as END_STREAM, as browsers send a body (captures
 * local-debian-http/*-h2: a POST is `DATA[7 bytes, END_STREAM]`), instead of an empty END_STREAM
 * frame after it.
 */
import type { ProxyError } from "../../errors/proxy-error.ts";
import { appendChunk } from "../h2/chunk-list.ts";
import type { H2ClientSession } from "../h2/client-session.ts";
import { forwardableTrailers } from "../headers/trailers.ts";
import type { HeaderField } from "../hpack/types.ts";
import type { BodySink } from "./message.ts";

/** What a body needs of its connection. */
export interface UploadHost {
  readonly session: H2ClientSession;
  /** The origin's SETTINGS are read: body bytes may go (before, they wait: its limits apply). */
  readonly settled: boolean;
  /** Whether stream `id` is still open on the connection. */
  isOpen(id: number): boolean;
  /** Hands the session's output to the endpoint. */
  flush(): void;
  /** The client gave the exchange up (RST_STREAM). */
  cancel(id: number, err: ProxyError): void;
  /** The request's end went out (END_STREAM): what the connection does then. */
  sent(id: number): void;
}

export class RequestBody implements BodySink {
  onDrain: (() => void) | null = null;
  readonly #host: UploadHost;
  readonly #id: number;
  /**
   * Chunks the windows did not take yet (oldest first; a list, not one growing buffer: a producer
   * may go on writing small chunks after `false`), and whether END_STREAM is owed after them.
   */
  #pending: Uint8Array[] | null = null;
  #pendingEnd: { trailers: HeaderField[] | null } | null = null;
  /** The last chunk written, held until the end of its turn; `#holdQueued` while that is queued. */
  #held: Uint8Array | null = null;
  #holdQueued = false;

  constructor(host: UploadHost, id: number) {
    this.#host = host;
    this.#id = id;
  }

  write(chunk: Uint8Array): boolean {
    const host = this.#host;
    if (!host.isOpen(this.#id)) return true; // reset: drop
    if (this.#pending !== null || !host.settled) {
      this.#pending ??= [];
      appendChunk(this.#pending, chunk); // tiny chunks copied together (chunk-list.ts)
      return false;
    }
    const held = this.#held;
    if (held !== null) {
      this.#held = null;
      if (!this.#send(held, false)) {
        appendChunk(this.#pending as unknown as Uint8Array[], chunk); // #send left the rest of `held` there
        return false;
      }
    }
    if (host.session.writableBytes(this.#id) < chunk.length) return this.#send(chunk, false);
    this.#held = chunk;
    if (!this.#holdQueued) {
      this.#holdQueued = true;
      queueMicrotask(() => this.#release());
    }
    return true;
  }

  end(trailers: HeaderField[] | null): void {
    if (!this.#host.isOpen(this.#id)) return;
    if (this.#pending !== null) this.#pendingEnd = { trailers };
    else this.#finish(trailers);
  }

  abort(err: ProxyError): void {
    this.#host.cancel(this.#id, err);
  }

  /**
   * The stream is over (answered before its body was read, or reset): what waits never goes out.
   * Its producer is told, or it would keep holding the client's window credit for those bytes and
   * the client's next uploads would stall.
   */
  dropped(): void {
    this.#held = null;
    if (this.#pending === null) return;
    this.#pending = null;
    this.#pendingEnd = null;
    this.onDrain?.();
  }

  /** Bytes wait for the windows (or the origin's SETTINGS). */
  get waiting(): boolean {
    return this.#pending !== null;
  }

  /** The windows opened or the SETTINGS came: what waits goes, as far as they allow. */
  pump(): void {
    const pending = this.#pending;
    if (pending === null) return;
    const session = this.#host.session;
    // The last chunk carries END_STREAM when the end owed has no trailers.
    const endOnData =
      this.#pendingEnd !== null && forwardableTrailers(this.#pendingEnd.trailers).length === 0;
    let ended = false;
    while (pending.length > 0) {
      const chunk = pending[0] as Uint8Array;
      const last = endOnData && pending.length === 1;
      const n = session.writeData(this.#id, chunk, last);
      if (n < chunk.length) {
        pending[0] = chunk.subarray(n);
        break;
      }
      pending.shift();
      ended = last;
    }
    this.#host.flush();
    if (pending.length > 0) return;
    this.#pending = null;
    const end = this.#pendingEnd;
    this.#pendingEnd = null;
    if (end !== null) {
      if (ended) this.#host.sent(this.#id);
      else this.#finish(end.trailers);
    }
    // Also after the end: the producer's last writes were taken with `false`, and it still
    // waits to hear they left (the HTTP/2 client side grants their window credit then).
    this.onDrain?.();
  }

  /**
   * Queues `chunk` as DATA (END_STREAM on its last frame with `end`); what the windows do not take
   * waits (with the end owed), and false says so.
   */
  #send(chunk: Uint8Array, end: boolean): boolean {
    const n = this.#host.session.writeData(this.#id, chunk, end);
    this.#host.flush();
    if (n === chunk.length) {
      if (end) this.#host.sent(this.#id);
      return true;
    }
    this.#pending = [chunk.subarray(n)];
    if (end) this.#pendingEnd = { trailers: null };
    return false;
  }

  /** The turn that wrote the held chunk is over without an end: it goes as it is. */
  #release(): void {
    this.#holdQueued = false;
    const held = this.#held;
    this.#held = null;
    // Taken with `true`: a short write waits in `#pending`, whose drain tells the producer.
    if (held !== null && this.#host.isOpen(this.#id)) this.#send(held, false);
  }

  /**
   * The request's end: on the held chunk's DATA (no trailers), as trailers (HEADERS with
   * END_STREAM), or as an empty END_STREAM DATA frame.
   */
  #finish(trailers: HeaderField[] | null): void {
    const host = this.#host;
    const sendable = forwardableTrailers(trailers);
    const held = this.#held;
    this.#held = null;
    if (held !== null) {
      if (!this.#send(held, sendable.length === 0)) {
        this.#pendingEnd = { trailers }; // the rest and the end go from pump()
        return;
      }
      if (sendable.length === 0) return; // #send sent the end
    }
    if (sendable.length > 0) host.session.writeTrailers(this.#id, sendable);
    else host.session.writeData(this.#id, new Uint8Array(0), true);
    host.flush();
    host.sent(this.#id);
  }
}
