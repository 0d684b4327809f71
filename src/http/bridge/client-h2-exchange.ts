/**
 * One request stream of an HTTP/2 client, as the dispatcher sees it: the Responder the upstream
 * side drives and, once the head is out, the BodySink of the response (the same object: one per
 * stream). It turns those calls into H2ServerSession calls; its connection (ClientH2) flushes the
 * frames and reports the exchange.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import { statusFor } from "../../errors/wire.ts";
import { H2ErrorCode } from "../h2/errors.ts";
import type { H2ServerSession } from "../h2/server-session.ts";
import type { HeaderField } from "../hpack/types.ts";
import { answerBody } from "./client-h1-queue.ts";
import { connectionTokens, isHopByHop } from "./fields.ts";
import type { BodySink, Responder } from "./message.ts";
import { isRefused } from "./retry.ts";

/** What an exchange needs from its connection. */
export interface ExchangeHost {
  readonly session: H2ServerSession;
  /** Writes the session's output; false when the client's socket is full (then `waitSocket`). */
  flush(): boolean;
  /** `flush()` at the end of this turn (once, however often asked). */
  flushSoon(): void;
  /** The client sent FIN: no WINDOW_UPDATE can come, a response waiting for window never ends. */
  readonly inputEnded: boolean;
  /** Calls `ex.socketFree()` once the socket drains. */
  waitSocket(ex: H2Exchange): void;
  /**
   * The response is complete (`status`) or cut (0); called once. `failure`:
   * why the proxy cut it (null when it completed, or the client reset the stream).
   */
  finished(ex: H2Exchange, status: number, failure: ProxyError | null): void;
}

const TEXT_PLAIN: HeaderField = ["content-type", "text/plain; charset=utf-8"];
const NO_CONTENT = 204;
/** Why a response waiting for window is cut once the client sent FIN. */
export function windowNever(): ProxyError {
  return new ProxyError(
    "IO",
    "client connection closed with the response waiting for its flow-control window",
  );
}
const encoder = new TextEncoder();

/**
 * The response head as sent: `:status`, then the fields minus pseudo-headers and connection-specific
 * ones (and those `Connection` names), in order. Content-Length goes once, as one number (an
 * HTTP/1.1 origin may repeat it, or list it, with one value: HTTP/2 clients refuse either), and
 * never on a 204 (RFC 9110 §8.6; an HTTP/2 client treats it as malformed).
 */
function responseFields(status: number, fields: readonly HeaderField[]): HeaderField[] {
  const named = connectionTokens(fields);
  const out: HeaderField[] = [[":status", String(status)]];
  let length = status === NO_CONTENT; // true once placed (or never to be)
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (f[0].charCodeAt(0) === 0x3a || isHopByHop(f[0], named)) continue;
    if (f[0] !== "content-length") out.push(f);
    else if (!length) {
      length = true;
      const comma = f[1].indexOf(",");
      out.push(comma < 0 ? f : ["content-length", f[1].slice(0, comma).trim()]);
    }
  }
  return out;
}

/** Whether every name and value is octets (code units up to U+00FF), as HPACK carries them. */
function octets(fields: readonly HeaderField[]): boolean {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    for (const s of f) for (let j = 0; j < s.length; j++) if (s.charCodeAt(j) > 0xff) return false;
  }
  return true;
}

function trailerFields(fields: readonly HeaderField[]): HeaderField[] {
  const out = responseFields(0, fields);
  out.shift();
  return out;
}

export class H2Exchange implements Responder, BodySink {
  readonly #host: ExchangeHost;
  readonly id: number;
  /** The dispatcher's sink for the request body; null when answered locally (bytes dropped). */
  request: BodySink | null = null;
  /** Request bytes the request sink took with `false`: granted back on its `onDrain`. */
  unacked = 0;
  /** The client ended its request (END_STREAM) or the stream is gone. */
  requestDone = false;
  /** The response is complete, cut, or no longer wanted: later calls are no-ops. */
  done = false;
  #status = 0;
  #headSent = false;
  #waitWindow = false;
  #waitSocket = false;
  /** `end` was called and waits behind queued bytes (see `sent`). */
  #ending = false;
  onDrain: (() => void) | null = null;

  constructor(host: ExchangeHost, id: number) {
    this.#host = host;
    this.id = id;
  }

  interim(status: number, fields: HeaderField[]): void {
    if (this.done || this.#headSent || status >= 200 || status === 101) return;
    try {
      this.#host.session.respond(this.id, status, responseFields(status, fields), false);
    } catch {
      return; // an interim head HPACK cannot carry is dropped (it is advisory)
    }
    this.#host.flush();
  }

  head(status: number, fields: HeaderField[], bodyless: boolean): BodySink {
    if (this.done || this.#headSent) return this;
    this.#headSent = true;
    this.#status = status;
    try {
      this.#host.session.respond(this.id, status, responseFields(status, fields), bodyless);
    } catch {
      // A field HPACK cannot carry (a code unit above U+00FF): the stream fails, the others go on.
      this.abort(new ProxyError("HTTP_PROTOCOL", "response head cannot be encoded"));
      return this;
    }
    if (bodyless) {
      this.#finish(status);
      this.#host.flush();
    } else {
      // Later this turn: an end arriving with the head (an origin's HEADERS with END_STREAM) then
      // goes out on the same HEADERS frame, not as an extra empty DATA frame.
      this.#host.flushSoon();
    }
    return this;
  }

  fail(err: ProxyError): void {
    if (this.done) return;
    if (this.#headSent) {
      this.abort(err);
      return;
    }
    // The origin provably did not process it and the proxy could not send it again (it has a
    // body): the client may, as RFC 9113 §8.7 allows for a refused stream.
    if (isRefused(err)) {
      this.abort(err, H2ErrorCode.REFUSED_STREAM);
      return;
    }
    this.answer(statusFor(err), err);
  }

  /** A short local answer (error status, 405, 421, 431) while no head was sent. */
  answer(code: number, err: ProxyError): void {
    if (this.done || this.#headSent) return;
    this.#headSent = true;
    // As the HTTP/1.1 side writes it: "<status> <reason>: <CODE>: <detail>".
    const body = encoder.encode(answerBody(code, err));
    const fields: HeaderField[] = [
      [":status", String(code)],
      TEXT_PLAIN,
      ["content-length", String(body.length)],
    ];
    const session = this.#host.session;
    session.answeredLocally(this.id);
    session.respond(this.id, code, fields, false);
    session.writeData(this.id, body);
    session.end(this.id, null);
    this.#finish(code, err);
    this.#host.flush();
  }

  // The response body (BodySink).

  write(chunk: Uint8Array): boolean {
    if (this.done || this.#ending) return true;
    if (!this.#host.session.writeData(this.id, chunk)) {
      if (this.#host.inputEnded) {
        this.abort(windowNever());
        return true;
      }
      this.#waitWindow = true;
    }
    if (!this.#host.flush() && !this.#waitSocket) {
      this.#waitSocket = true;
      this.#host.waitSocket(this);
    }
    return !(this.#waitWindow || this.#waitSocket);
  }

  end(trailers: HeaderField[] | null): void {
    if (this.done || this.#ending) return;
    const t = trailers && trailers.length > 0 ? trailerFields(trailers) : null;
    // Trailers may wait for window before they are encoded: refuse what HPACK cannot carry now.
    if (t !== null && !octets(t)) {
      this.abort(new ProxyError("HTTP_PROTOCOL", "response trailers cannot be encoded"));
      return;
    }
    if (this.#host.session.end(this.id, t)) this.#finish(this.#status);
    else if (this.#host.inputEnded) {
      this.abort(windowNever()); // behind bytes no window will ever take
      return;
    } else this.#ending = true; // complete once the session says the end went out (`sent`)
    this.#host.flush();
  }

  /** The end that waited for the client's window went out: the response is complete. */
  sent(): void {
    if (!this.done) this.#finish(this.#status);
  }

  /** The upstream failed after the head (or refused the request): the stream is reset, never ended cleanly. */
  abort(err: ProxyError, code: number = H2ErrorCode.INTERNAL_ERROR): void {
    if (this.done) return;
    this.#host.session.resetStream(this.id, code);
    // The reset closes the stream both ways: no DATA or END_STREAM will come for a request body
    // still on its way, so the exchange lets it go now (else it stays until the connection ends).
    if (!this.requestDone) this.#abandonRequest(err);
    this.#finish(0, err);
    this.#host.flush();
  }

  /** No more request bytes will come: the dispatcher's sink is aborted (the exchange cancelled). */
  #abandonRequest(err: ProxyError): void {
    this.requestDone = true;
    const request = this.request;
    this.request = null;
    request?.abort(err);
  }

  /**
   * The client reset the stream (or the connection went): the request is abandoned, the response
   * dropped; the exchange counts as cut (0), before its head as after it.
   */
  gone(err: ProxyError): void {
    this.#abandonRequest(err);
    if (!this.done) this.#finish(0);
  }

  /** The response head went out (or a local answer did). */
  get answered(): boolean {
    return this.#headSent;
  }

  /** Waits for the client's flow-control window: bytes queued, or the end behind them. */
  get waitingWindow(): boolean {
    return (this.#waitWindow || this.#ending) && !this.done;
  }

  /** The session sent everything queued on this stream. */
  windowFree(): void {
    this.#waitWindow = false;
    if (!this.#waitSocket && !this.done) this.onDrain?.();
  }

  /** The client's socket drained. */
  socketFree(): void {
    this.#waitSocket = false;
    if (!this.#waitWindow && !this.done) this.onDrain?.();
  }

  #finish(status: number, failure: ProxyError | null = null): void {
    this.done = true;
    this.#host.finished(this, status, failure);
  }
}
