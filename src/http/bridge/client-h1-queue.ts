/**
 * The ordered output of an HTTP/1.1 client connection. Responses go back strictly in request
 * order (RFC 9112 §9.3.2): the front exchange writes to the endpoint, a later one buffers what it
 * produces and answers `false` to its producer, so at most about one chunk per pipelined request
 * is held. When the front exchange is done the next one's buffer is flushed and its producer is
 * woken. A truncated exchange resets the connection once it reaches the front (everything before
 * it is delivered whole); an exchange marked `closeAfter` ends the connection after its response.
 */

import { STATUS_CODES } from "node:http";
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { Endpoint } from "../../proxy/endpoint.ts";
import { writeResponseHead } from "../h1/writer.ts";

export interface Exchange {
  readonly method: string;
  readonly version: "1.0" | "1.1";
  /** The request asked for a protocol switch (`Connection: upgrade` + `Upgrade`). */
  readonly upgradeRequested: boolean;
  /** End the connection after this response (client asked, HTTP/1.0, close-delimited body, error). */
  closeAfter: boolean;
  /** Final status for `onExchange`; 0 once truncated. */
  status: number;
  /** Bytes produced while a previous exchange was still being answered. */
  out: Uint8Array[];
  /** The final head (or a local answer) was produced: later responder calls are ignored. */
  settled: boolean;
  /** The whole response was produced. */
  done: boolean;
  truncated: boolean;
  /** The request body is still being read: an answer now must close the connection. */
  bodyPending: boolean;
  /** A 100 Continue was already produced locally. */
  sent100: boolean;
  /** The producer was told `false` and waits for its sink's `onDrain`. */
  wantsDrain: boolean;
  /** The producer-facing sink, whose `onDrain` wakes the producer. */
  sink: { onDrain: (() => void) | null } | null;
  /** Why the exchange was truncated, reported through `onStop`. */
  failure: ProxyError | null;
  /** The error the proxy answered the exchange with (a local error status), reported with its count. */
  answerError: ProxyError | null;
  /** `onExchange` was told already: a 101 is counted when the protocol switches (`countSwitch`). */
  counted: boolean;
  /**
   * Every body byte its Content-Length announced was produced: once written, the client holds the
   * whole response (it may close before the origin's own end, e.g. an HTTP/2 END_STREAM in a
   * later frame, reaches the proxy).
   */
  delivered: boolean;
}

/** The reason phrase written for a status (RFC 9110 §15); empty when unregistered. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? "";
}

/**
 * The text body of a local error answer, the same over HTTP/1.1 and HTTP/2 and on the plain-HTTP
 * proxy: `<status> <reason>: <CODE>: <detail>` on one line.
 */
export function answerBody(status: number, err: ProxyError): string {
  return `${status} ${reasonPhrase(status)}: ${`${err.code}: ${err.message}`.replace(/[\r\n]+/g, " ")}\n`;
}

export interface QueueHooks {
  /** `failure`: the error the proxy answered it with, if any (answer()). */
  onExchange(status: number, failure: ProxyError | null): void;
  /** An exchange left the queue: the reader may take more requests. */
  onProgress(): void;
  /** The connection was ended (after a `closeAfter` response) or reset (truncation). */
  onStop(err: ProxyError | null): void;
}

const ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"; // answered on 405 (CONNECT refused)

export class ResponseQueue {
  readonly #ep: Endpoint;
  readonly #hooks: QueueHooks;
  readonly #q: Exchange[] = [];
  #stopped = false;
  /** The last write found the client's socket full: no new request is read until it drains. */
  #full = false;

  constructor(ep: Endpoint, hooks: QueueHooks) {
    this.#ep = ep;
    this.#hooks = hooks;
  }

  get length(): number {
    return this.#q.length;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Some request has no complete answer yet (produced, if not yet written). */
  get unanswered(): boolean {
    for (let i = 0; i < this.#q.length; i++) if (!(this.#q[i] as Exchange).done) return true;
    return false;
  }

  /**
   * Responses wait in the client's socket (it does not read): the reader takes no new request
   * until it drains, so that a client pipelining without reading cannot make the proxy answer
   * (and buffer) without end.
   */
  get full(): boolean {
    return this.#full;
  }

  open(method: string, version: "1.0" | "1.1", keepAlive: boolean, upgradeRequested: boolean): Exchange {
    const ex: Exchange = {
      method,
      version,
      upgradeRequested,
      closeAfter: !keepAlive || version === "1.0",
      status: 0,
      out: [],
      settled: false,
      done: false,
      truncated: false,
      bodyPending: false,
      sent100: false,
      wantsDrain: false,
      sink: null,
      failure: null,
      answerError: null,
      counted: false,
      delivered: false,
    };
    this.#q.push(ex);
    return ex;
  }

  /** Writes now if `ex` is at the front, else buffers; false = the producer should wait. */
  emit(ex: Exchange, bytes: Uint8Array): boolean {
    if (this.#stopped || bytes.length === 0) return true;
    if (this.#q[0] === ex && ex.out.length === 0) return this.#write(bytes);
    ex.out.push(bytes);
    return false;
  }

  finish(ex: Exchange): void {
    if (ex.done) return;
    ex.settled = true;
    ex.done = true;
    this.#advance();
  }

  /** The response cannot be completed: reset the connection once `ex` is at the front. */
  truncate(ex: Exchange, err: ProxyError): void {
    if (ex.done) return;
    ex.status = 0;
    ex.failure = err;
    ex.truncated = true;
    this.finish(ex);
  }

  /**
   * A relay's origin side failed after its end was passed on (the client's side still open): the
   * connection is reset now, so that the client does not take that end for a clean one.
   */
  resetAfterEnd(err: ProxyError): void {
    this.#stopped = true;
    this.#cutAll();
    this.#ep.reset();
    this.#hooks.onStop(err);
  }

  /** A locally generated answer (error, 421, 405) with a short text body. */
  answer(ex: Exchange, status: number, err: ProxyError, close: boolean): void {
    if (ex.settled) return;
    if (close) ex.closeAfter = true;
    ex.answerError = err;
    const body = new TextEncoder().encode(answerBody(status, err));
    const fields: [string, string][] = [
      ["Content-Type", "text/plain; charset=utf-8"],
      ["Content-Length", String(body.length)],
    ];
    if (status === 405) fields.push(["Allow", ALLOWED_METHODS]);
    if (ex.closeAfter) fields.push(["Connection", "close"]);
    ex.status = status;
    ex.settled = true;
    this.emit(ex, writeResponseHead(status, reasonPhrase(status), fields));
    if (ex.method !== "HEAD") this.emit(ex, body);
    this.finish(ex);
  }

  /** The client finished sending: end the connection after the responses still owed. */
  closeWhenDone(): void {
    if (this.#stopped) return;
    const last = this.#q[this.#q.length - 1];
    if (last === undefined) this.#stop("end", null);
    else last.closeAfter = true;
  }

  /** The endpoint has room again. */
  drain(): void {
    const was = this.#full;
    this.#full = false;
    this.#wake(this.#q[0]);
    if (was && !this.#stopped) this.#hooks.onProgress();
  }

  #write(bytes: Uint8Array): boolean {
    const room = this.#ep.write(bytes);
    if (!room) this.#full = true;
    return room;
  }

  /**
   * A 101 is the exchange's final answer: it is counted when the protocol switches, not when the
   * relay after it ends (a relay cut by the idle timeout or a shutdown still counts its 101).
   */
  countSwitch(ex: Exchange): void {
    if (ex.counted) return;
    ex.counted = true;
    this.#hooks.onExchange(ex.status, null);
  }

  /**
   * The connection is gone: nothing more is written; later producer calls are dropped. Requests
   * still unanswered count as cut (0).
   */
  shutdown(): void {
    this.#stopped = true;
    this.#cutAll();
  }

  /**
   * Empties the queue; each exchange not counted yet never reached the client whole (0), but the
   * front one whose whole Content-Length body was written (`delivered`), which counts its status.
   */
  #cutAll(): void {
    const left = this.#q.splice(0);
    for (let i = 0; i < left.length; i++) {
      const ex = left[i] as Exchange;
      if (ex.counted) continue;
      ex.counted = true;
      const whole = i === 0 && ex.delivered && !ex.truncated && ex.out.length === 0;
      this.#hooks.onExchange(whole ? ex.status : 0, whole ? ex.answerError : null);
    }
  }

  #advance(): void {
    let room = true;
    let popped = false;
    for (;;) {
      const front = this.#q[0];
      if (front === undefined || this.#stopped) break;
      for (const b of front.out.splice(0)) room = this.#write(b);
      if (!front.done) break;
      this.#q.shift();
      popped = true;
      if (!front.counted) this.#hooks.onExchange(front.status, front.answerError);
      if (front.truncated || front.closeAfter) {
        this.#stop(front.truncated ? "reset" : "end", front.failure);
        return;
      }
    }
    if (popped) this.#hooks.onProgress();
    if (room) this.#wake(this.#q[0]);
  }

  #wake(ex: Exchange | undefined): void {
    if (ex === undefined || !ex.wantsDrain || this.#stopped) return;
    ex.wantsDrain = false;
    ex.sink?.onDrain?.();
  }

  #stop(how: "end" | "reset", err: ProxyError | null): void {
    this.#stopped = true;
    this.#cutAll();
    if (how === "end") this.#ep.end();
    else this.#ep.reset();
    this.#hooks.onStop(err);
  }
}
