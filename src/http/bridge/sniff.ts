/**
 * Which protocol a client speaks inside its tunnel, from its first bytes (pure): the HTTP/2
 * connection preface (RFC 9113 §3.4), an HTTP/1.x request line (a method token then a space,
 * RFC 9112 §3), or anything else, which the tunnel relays as bytes. And an Endpoint wrapper that
 * holds what it read while deciding, then hands it, in order, to whoever starts it next.
 */
import type { Endpoint, EndpointHandlers } from "../../proxy/endpoint.ts";
import { requestLineLike, startsAsText } from "../h1/request-line-like.ts";
import { afterLeadingEols } from "../h1/syntax.ts";

export type Sniffed = "h2" | "h1" | "other";

const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** Longest method token looked at before calling the bytes "other" (the longest registered
 * methods, e.g. VERSION-CONTROL, are 15 octets). */
const MAX_METHOD = 24;
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
/** Longest first line of printable text read before calling it "other" (bytes; request lines
 * are usually far shorter, and a text protocol that is not HTTP ends its first line sooner). */
const MAX_LINE = 8192;

/** "incomplete" while the bytes so far fit more than one answer. */
export function sniff(buf: Uint8Array): Sniffed | "incomplete" {
  let preface = true;
  for (let i = 0; i < Math.min(buf.length, PREFACE.length); i++) {
    if (buf[i] !== PREFACE[i]) {
      preface = false;
      break;
    }
  }
  if (preface && buf.length >= PREFACE.length) return "h2";
  // Empty lines (RFC 9112 §2.2) are looked past; more than afterLeadingEols does are HTTP/1 too,
  // which the parser refuses: no number of them steers a request into the byte relay.
  const start = afterLeadingEols(buf);
  if (start < 0) return "h1";
  for (let i = start; i < Math.min(buf.length, start + MAX_METHOD + 1); i++) {
    const c = String.fromCharCode(buf[i] as number);
    if (c === " " && i > start) return "h1";
    if (!TCHAR.test(c)) return lineLike(buf, start);
  }
  if (buf.length - start > MAX_METHOD) return lineLike(buf, start);
  return "incomplete";
}

/**
 * A malformed request line must reach the HTTP/1.1 parser (and be refused), not the byte relay:
 * a first line of text ending in an HTTP version is HTTP/1 (request-line-like.ts). Binary bytes
 * decide "other" at once; text waits for its line end, up to MAX_LINE bytes.
 */
function lineLike(buf: Uint8Array, start: number): Sniffed | "incomplete" {
  const lf = buf.indexOf(0x0a, start);
  if (lf >= 0 && lf - start < MAX_LINE) return requestLineLike(buf.subarray(start, lf)) ? "h1" : "other";
  if (!startsAsText(buf, start, buf.length)) return "other";
  return buf.length - start < MAX_LINE ? "incomplete" : "other";
}

/**
 * Starts `inner` at once and keeps what it delivers until `start` is called again by the next
 * consumer; `onFirst` sees the bytes held so far after each read (return true to stop reading).
 */
export class HoldingEndpoint implements Endpoint {
  readonly #inner: Endpoint;
  /** What was read before a consumer started; null once it has (no empty array kept). */
  #held: Uint8Array[] | null = [];
  /** What happened before a consumer started (replayed to it), nothing once it has. */
  #ended: Parameters<EndpointHandlers["end"]> | null = null;
  #failed: Parameters<EndpointHandlers["error"]> | null = null;
  #closed = false;
  #consumer: EndpointHandlers | null = null;
  /** The consumer's last call was pause() (the sniffer's own, before it starts, do not count). */
  #consumerPaused = false;
  /** The sniffer's callbacks: dropped when the consumer starts (so their scope can go too). */
  #onRead: ((self: HoldingEndpoint) => void) | null;
  #onGone: ((self: HoldingEndpoint) => void) | null;

  constructor(
    inner: Endpoint,
    onRead: (self: HoldingEndpoint) => void,
    onGone: (self: HoldingEndpoint) => void,
  ) {
    this.#inner = inner;
    this.#onRead = onRead;
    this.#onGone = onGone;
    const handlers = { e: this, ...HoldingEndpoint.#handlers };
    inner.start(handlers);
  }

  /**
   * The inner endpoint's handlers (to the consumer once there is one, else held), shared by every
   * endpoint: each gets `{ e, ...these }` (own properties, no closures).
   */
  static readonly #handlers = {
    data(this: { e: HoldingEndpoint }, chunk: Uint8Array): void {
      const e = this.e;
      if (e.#consumer) {
        e.#consumer.data(chunk);
        return;
      }
      e.#held?.push(chunk);
      e.#onRead?.(e);
    },
    end(this: { e: HoldingEndpoint }, ...a: Parameters<EndpointHandlers["end"]>): void {
      const e = this.e;
      if (e.#consumer) {
        e.#consumer.end(...a);
        return;
      }
      e.#ended = a;
      e.#onGone?.(e);
    },
    error(this: { e: HoldingEndpoint }, ...a: Parameters<EndpointHandlers["error"]>): void {
      const e = this.e;
      if (e.#consumer) {
        e.#consumer.error(...a);
        return;
      }
      e.#failed = a;
      e.#onGone?.(e);
    },
    drain(this: { e: HoldingEndpoint }): void {
      this.e.#consumer?.drain();
    },
    close(this: { e: HoldingEndpoint }): void {
      const e = this.e;
      if (e.#consumer) {
        e.#consumer.close();
        return;
      }
      e.#closed = true;
      e.#onGone?.(e);
    },
  };

  /** Everything held so far, as one array. */
  held(): Uint8Array {
    const held = this.#held ?? [];
    const total = held.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of held) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  start(h: EndpointHandlers): void {
    this.#consumer = h;
    this.#onRead = null;
    this.#onGone = null;
    const held = this.#held ?? [];
    this.#held = null;
    for (const c of held) h.data(c);
    const failed = this.#failed;
    const ended = this.#ended;
    this.#failed = null;
    this.#ended = null;
    if (failed) h.error(...failed);
    else if (ended) h.end(...ended);
    if (this.#closed) h.close();
    // A consumer that paused while taking the held bytes (a full pipeline) stays paused: it
    // resumes when it has room. Resuming it here let a client that never reads flood it.
    if (!this.#consumerPaused) this.#inner.resume();
  }

  write(chunk: Uint8Array): boolean {
    return this.#inner.write(chunk);
  }
  end(closeNotify?: boolean): void {
    this.#inner.end(closeNotify);
  }
  destroy(): void {
    this.#inner.destroy();
  }
  reset(): void {
    this.#inner.reset();
  }
  pause(): void {
    if (this.#consumer !== null) this.#consumerPaused = true;
    this.#inner.pause();
  }
  resume(): void {
    this.#consumerPaused = false;
    this.#inner.resume();
  }
}
