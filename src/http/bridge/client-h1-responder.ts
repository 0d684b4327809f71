/**
 * The Responder of one exchange on an HTTP/1.1 client connection: turns the upstream's response
 * into HTTP/1.1 bytes with framing chosen here (the upstream's framing never passes through):
 * - HEAD, 204, 304: no body; Content-Length kept for HEAD / 304 (it describes the GET
 *   representation, RFC 9110 §8.6), dropped for 204 (§15.3.5);
 * - a single valid Content-Length (present only when no decoding happened): that length, checked,
 *   unless the response announces trailers (`Trailer`) to an HTTP/1.1 client;
 * - otherwise chunked for HTTP/1.1 clients, trailers in the last chunk (RFC 9112 §7.1.2: a
 *   recipient that does not want them discards them), or read-until-close for HTTP/1.0 (without
 *   `Trailer`, as with a Content-Length: nothing can carry them).
 * Interim 1xx heads (100, 103) are forwarded to HTTP/1.1 clients only (RFC 9110 §15.2), never 101
 * except through `upgrade`. A failure before the head is a short error answer; after it the
 * connection is reset without a terminating chunk, so a truncation can never look complete.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import { statusFor } from "../../errors/wire.ts";
import { encodeChunk, encodeLastChunk } from "../h1/chunked.ts";
import { writeResponseHead } from "../h1/writer.ts";
import type { HeaderField } from "../hpack/types.ts";
import { type Exchange, type ResponseQueue, reasonPhrase } from "./client-h1-queue.ts";
import { CONNECTION_SPECIFIC, connectionTokens, isHopByHop, withoutHopByHop } from "./fields.ts";
import { type BodySink, type ByteSink, discardSink, type UpgradeResponder } from "./message.ts";

/** How the response body is framed to the client; `length` holds the Content-Length. */
type Framing = 0 | 1 | 2 | 3;
const Framing = { None: 0, Length: 1, Chunked: 2, Close: 3 } as const;

/** Called when the upstream switched protocols: the client's raw bytes go to `toUpstream`. */
export type OnUpgrade = (toUpstream: ByteSink) => void;

const INERT: BodySink = discardSink();

function errorAnswer(q: ResponseQueue, ex: Exchange, err: ProxyError): void {
  const status = statusFor(err);
  q.answer(ex, status, err, ex.bodyPending);
}

const DIGITS = /^[0-9]{1,15}$/;

/** A Content-Length of 1-15 digits as sent on: without leading zeros (the usual value is already). */
function canonicalLength(digits: string): string {
  return digits.length > 1 && digits.charCodeAt(0) === 0x30 ? String(Number(digits)) : digits;
}

/** Removes every field named `name` (lowercase) from `fields`, in place. */
function removeField(fields: HeaderField[], name: string): void {
  let w = 0;
  for (let r = 0; r < fields.length; r++) {
    const f = fields[r] as HeaderField;
    if (f[0] !== name) fields[w++] = f;
  }
  fields.length = w;
}

/** The framing `frame` chose, and the length for Framing.Length. */
interface Framed {
  out: HeaderField[];
  framing: Framing;
  length: number;
}

/**
 * Response fields minus hop-by-hop ones, pseudo-headers and Content-Length, with the framing to
 * use (one pass; the Content-Length values are checked to agree).
 */
function frame(ex: Exchange, status: number, fields: readonly HeaderField[], bodyless: boolean): Framed {
  const named = connectionTokens(fields);
  const out: HeaderField[] = [];
  let first: string | undefined;
  let agree = true;
  let trailers = false;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    const n = f[0];
    if (n.charCodeAt(0) === 58 /* ":" */ || isHopByHop(n, named)) continue;
    if (n === "trailer") trailers = true;
    if (n !== "content-length") out.push(f);
    else if (first === undefined) first = f[1];
    else if (f[1] !== first) agree = false;
  }
  const single = first !== undefined && agree && DIGITS.test(first);
  let framing: Framing;
  let length = 0;
  if (bodyless || ex.method === "HEAD" || status === 204 || status === 304) {
    framing = Framing.None;
    if (single && status !== 204) out.push(["content-length", canonicalLength(first as string)]);
  } else if (single && !(trailers && ex.version === "1.1")) {
    framing = Framing.Length;
    length = Number(first);
    out.push(["content-length", canonicalLength(first as string)]);
  } else if (ex.version === "1.1") {
    framing = Framing.Chunked;
    out.push(["transfer-encoding", "chunked"]);
  } else {
    framing = Framing.Close;
    ex.closeAfter = true;
  }
  // Trailers go only in a last chunk: a response announcing them goes chunked to an HTTP/1.1
  // client (its Content-Length dropped); framed otherwise, `Trailer` would promise what never comes.
  if (trailers && framing !== Framing.Chunked) removeField(out, "trailer");
  if (ex.closeAfter) out.push(["connection", "close"]);
  return { out, framing, length };
}

/** The response body sink: writes through the queue, checking a declared length. */
class H1BodySink implements BodySink {
  readonly #q: ResponseQueue;
  readonly #ex: Exchange;
  readonly #framing: Framing;
  readonly #length: number;
  #sent = 0;
  onDrain: (() => void) | null = null;

  constructor(q: ResponseQueue, ex: Exchange, framing: Framing, length: number) {
    this.#q = q;
    this.#ex = ex;
    this.#framing = framing;
    this.#length = length;
    ex.sink = this;
    if (framing === Framing.Length && length === 0) ex.delivered = true;
  }

  write(chunk: Uint8Array): boolean {
    const ex = this.#ex;
    if (ex.done) return true;
    if (this.#framing === Framing.Length && this.#sent + chunk.length > this.#length) {
      this.#q.truncate(ex, new ProxyError("HTTP_PROTOCOL", "response body longer than its Content-Length"));
      return true;
    }
    this.#sent += chunk.length;
    if (this.#framing === Framing.Length && this.#sent === this.#length) ex.delivered = true;
    const room = this.#q.emit(ex, this.#framing === Framing.Chunked ? encodeChunk(chunk) : chunk);
    if (!room) ex.wantsDrain = true;
    return room;
  }

  end(trailers: HeaderField[] | null): void {
    const ex = this.#ex;
    if (ex.done) return;
    if (this.#framing === Framing.Length && this.#sent !== this.#length) {
      this.#q.truncate(
        ex,
        new ProxyError("UPSTREAM_TRUNCATED", "response body shorter than its Content-Length"),
      );
      return;
    }
    if (this.#framing === Framing.Chunked) this.#q.emit(ex, lastChunk(trailers));
    this.#q.finish(ex);
  }

  abort(err: ProxyError): void {
    this.#q.truncate(this.#ex, err);
  }
}

function lastChunk(trailers: readonly HeaderField[] | null): Uint8Array {
  const kept = withoutHopByHop(trailers ?? []).filter(([n]) => !n.startsWith(":") && n !== "content-length");
  try {
    return encodeLastChunk(kept, "response");
  } catch {
    return encodeLastChunk([], "response"); // a trailer value HTTP/1.1 cannot carry: drop them all
  }
}

/** Fields of a 101 answer: hop-by-hop ones dropped except Connection and Upgrade themselves. */
function upgradeFields(fields: readonly HeaderField[]): HeaderField[] {
  return fields.filter(
    ([n]) => n === "connection" || n === "upgrade" || (!CONNECTION_SPECIFIC.has(n) && !n.startsWith(":")),
  );
}

/** The Responder of one exchange; `upgrade` hands the client's bytes to `onUpgrade`. */
class H1Responder implements UpgradeResponder {
  readonly #q: ResponseQueue;
  readonly #ex: Exchange;
  readonly #onUpgrade: OnUpgrade;

  constructor(q: ResponseQueue, ex: Exchange, onUpgrade: OnUpgrade) {
    this.#q = q;
    this.#ex = ex;
    this.#onUpgrade = onUpgrade;
  }

  interim(status: number, fields: HeaderField[]): void {
    const ex = this.#ex;
    if (ex.settled || ex.version === "1.0" || status < 100 || status > 199 || status === 101) return;
    if (status === 100 && ex.sent100) return;
    try {
      const kept = withoutHopByHop(fields).filter(([n]) => !n.startsWith(":")); // h2 :status
      this.#q.emit(ex, writeResponseHead(status, reasonPhrase(status), kept));
    } catch {
      // An interim head HTTP/1.1 cannot carry is only a hint: drop it.
    }
  }

  head(status: number, fields: HeaderField[], bodyless: boolean): BodySink {
    const q = this.#q;
    const ex = this.#ex;
    if (ex.settled) return INERT;
    const { out, framing, length } = frame(ex, status, fields, bodyless);
    let bytes: Uint8Array;
    try {
      bytes = writeResponseHead(status, reasonPhrase(status), out);
    } catch (err) {
      errorAnswer(q, ex, ProxyError.wrap(err, "HTTP_PROTOCOL"));
      return INERT;
    }
    ex.settled = true;
    ex.status = status;
    q.emit(ex, bytes);
    if (framing !== Framing.None) return new H1BodySink(q, ex, framing, length);
    q.finish(ex);
    return INERT;
  }

  fail(err: ProxyError): void {
    if (this.#ex.settled) this.#q.truncate(this.#ex, err);
    else errorAnswer(this.#q, this.#ex, err);
  }

  upgrade(fields: HeaderField[], toUpstream: ByteSink): ByteSink {
    const q = this.#q;
    const ex = this.#ex;
    if (ex.settled || !ex.upgradeRequested) {
      toUpstream.abort(new ProxyError("HTTP_PROTOCOL", "upstream switched protocols unasked"));
      if (!ex.settled) errorAnswer(q, ex, new ProxyError("HTTP_PROTOCOL", "unexpected 101 from upstream"));
      return INERT_BYTES;
    }
    let bytes: Uint8Array;
    try {
      bytes = writeResponseHead(101, reasonPhrase(101), upgradeFields(fields));
    } catch (err) {
      toUpstream.abort(ProxyError.wrap(err, "HTTP_PROTOCOL"));
      errorAnswer(q, ex, ProxyError.wrap(err, "HTTP_PROTOCOL"));
      return INERT_BYTES;
    }
    ex.settled = true;
    ex.status = 101;
    ex.closeAfter = true;
    q.emit(ex, bytes);
    q.countSwitch(ex);
    const toClient: ByteSink = {
      write(chunk) {
        if (ex.done) return true;
        const room = q.emit(ex, chunk);
        if (!room) ex.wantsDrain = true;
        return room;
      },
      end: () => q.finish(ex),
      // After the end (the origin's FIN or END_STREAM), a failure still tears the relay down.
      abort: (err) => (ex.done ? q.resetAfterEnd(err) : q.truncate(ex, err)),
      onDrain: null,
    };
    ex.sink = toClient;
    this.#onUpgrade(toUpstream);
    return toClient;
  }
}

export function clientH1Responder(q: ResponseQueue, ex: Exchange, onUpgrade: OnUpgrade): UpgradeResponder {
  return new H1Responder(q, ex, onUpgrade);
}

const INERT_BYTES: ByteSink = { write: () => true, end: () => {}, abort: () => {}, onDrain: null };
