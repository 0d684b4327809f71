import { ProxyError } from "../errors/proxy-error.ts";
import { CR, LF } from "../http/h1/syntax.ts";
import { PROFILE_HEADER } from "../http/headers/names.ts";
import type { Authority } from "./authority.ts";
import { badRequest, checkPartialLine, FORWARD, parseHeaderLine, parseRequestLine } from "./connect-lines.ts";

/**
 * Pure, incremental parser for the HTTP/1.1 CONNECT request head (RFC 9112 §3, RFC 9110 §9.3.6);
 * one line at a time through `connect-lines.ts`.
 * No I/O, no clocks: the caller pushes each read into a ConnectParser until the result is `done`
 * or a ProxyError is thrown (parseConnect does the same for one whole buffer). The outcome depends only on the bytes, never on how they
 * were split, and once a prefix throws, every longer buffer throws the same code.
 *
 * Decisions (stricter than RFC 9112 allows, never looser):
 * - Line endings are strict CRLF. RFC 9112 §2.2 lets a recipient accept a bare LF, but every real
 *   CONNECT client sends CRLF, and one terminator rule leaves no doubt about where the head ends
 *   and the tunnelled bytes (`leftover`) begin. A bare LF or bare CR is BAD_REQUEST.
 * - Empty lines before the request line are skipped (RFC 9112 §2.2 SHOULD); they count toward the
 *   byte limit.
 * - Request line is exactly `method SP target SP HTTP/1.0|HTTP/1.1` with single spaces.
 *   Syntax (characters, spacing, version) is checked before the method, so `GET / HTTP/1.1` is
 *   BAD_METHOD (405) while `GET\t/ HTTP/1.1` is BAD_REQUEST; the method is judged only once the
 *   request line is complete. Methods are case-sensitive (RFC 9110 §9.1): `connect` is 405.
 * - Plain HTTP proxying: any other method with an absolute-form `http://` target (RFC 9112
 *   §3.2.2) ends the parse at its request line with `forward` and every byte read so far; the
 *   strict HTTP/1.1 codec then parses the whole head again (src/proxy/forward-http.ts). Userinfo in
 *   that target is BAD_REQUEST (never quoted: it may be a password); an `https://` target is
 *   BAD_REQUEST (https goes through CONNECT); an origin-form or other target is BAD_METHOD.
 * - Header lines: token name, no whitespace before the colon, no obs-fold (RFC 9112 §5.1, §5.2),
 *   values of VCHAR / SP / HTAB / obs-text, decoded as ISO-8859-1 and trimmed of SP/HTAB.
 * - A CONNECT has no content (RFC 9110 §9.3.6): `Transfer-Encoding`, or a `Content-Length` other
 *   than 0, is BAD_REQUEST, so no byte after the head can be read as a body by anyone.
 * - `Host` is ignored: the target comes from the authority-form request target.
 * - Limits: the whole head (request line, header lines, final CRLF CRLF) must fit in
 *   `maxHeaderBytes`; HEADERS_TOO_LARGE as soon as more bytes than that are buffered without the
 *   terminator. More than `maxHeaders` header lines is HEADERS_TOO_LARGE as soon as the extra line
 *   is complete.
 */

export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024; // bytes; whole CONNECT head — curl/browsers send < 1 KiB
export const DEFAULT_MAX_HEADERS = 64; // header lines; a CONNECT carries a handful (Host, UA, auth, profile)

export interface ConnectLimits {
  maxHeaderBytes: number;
  maxHeaders: number;
}

export const DEFAULT_CONNECT_LIMITS: ConnectLimits = {
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  maxHeaders: DEFAULT_MAX_HEADERS,
};

/** Header that selects the upstream profile for this tunnel (and, inside it, for one request). */
export { PROFILE_HEADER };
/** Header that selects the next hop (upstream proxy) for this tunnel; taken out of `headers`. */
export const NEXT_HOP_HEADER = "x-polytls-next-hop";

export interface ConnectRequest {
  method: "CONNECT";
  target: Authority;
  /** Header fields in order, names in their original case, values trimmed; without X-PolyTLS-Next-Hop. */
  headers: [name: string, value: string][];
  /** X-PolyTLS-Upstream-Profile, trimmed; null when absent or empty. */
  profile: string | null;
  /** Proxy-Authorization value, trimmed; null when absent. */
  proxyAuthorization: string | null;
  /** X-PolyTLS-Next-Hop, trimmed (a URL that may hold a password); null when absent or empty. */
  nextHop: string | null;
  /** A copy of the bytes after the terminating CRLF CRLF (e.g. the start of a ClientHello). */
  leftover: Uint8Array;
}

/** A plain-HTTP proxy request (`GET http://host/path HTTP/1.1`): the bytes read so far, head start included. */
export interface ForwardStart {
  method: "forward";
  bytes: Uint8Array;
}

export type ParseResult =
  | { kind: "incomplete" }
  | { kind: "done"; request: ConnectRequest; consumed: number }
  | { kind: "forward"; start: ForwardStart };

const INCOMPLETE: ParseResult = Object.freeze({ kind: "incomplete" });

/** Smallest buffer the incremental parser allocates, bytes (a curl CONNECT head is ~150 B). */
const INITIAL_CAPACITY = 1024;

/**
 * The incremental form: `push` each chunk as it arrives. Every byte is scanned a bounded number of
 * times however the head is split (the search for the line end and the partial-line check resume
 * where they stopped), and the buffer grows by doubling, so a head sent one byte at a time costs
 * O(n), not O(n²). Pure: no I/O, no clocks. `scanned` counts the bytes examined, for tests.
 */
export class ConnectParser {
  readonly #limits: ConnectLimits;
  #buf = new Uint8Array(INITIAL_CAPACITY);
  #len = 0;
  /** Start of the current (incomplete) line. */
  #pos = 0;
  /** Bytes before this index (and at or after #pos) have been searched for LF / checked. */
  #checked = 0;
  #target: Authority | null = null;
  readonly #headers: [string, string][] = [];
  #result: ParseResult = INCOMPLETE;
  #error: unknown = null;
  /** Bytes examined by the line-end search and the partial-line check. */
  scanned = 0;

  constructor(limits: ConnectLimits = DEFAULT_CONNECT_LIMITS) {
    this.#limits = limits;
  }

  /** Adds `chunk` and parses what it completes. Throws the first error again on every later call. */
  push(chunk: Uint8Array): ParseResult {
    if (this.#error !== null) throw this.#error;
    if (this.#result.kind !== "incomplete") return this.#result;
    this.#append(chunk);
    try {
      this.#result = this.#advance();
    } catch (err) {
      this.#error = err;
      throw err;
    }
    return this.#result;
  }

  #append(chunk: Uint8Array): void {
    const need = this.#len + chunk.length;
    if (need > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(chunk, this.#len);
    this.#len = need;
  }

  #advance(): ParseResult {
    const limits = this.#limits;
    const buf = this.#buf;
    // Only the first maxHeaderBytes bytes can hold a valid head; looking no further makes the
    // result the same however the input was chunked.
    const viewEnd = Math.min(this.#len, limits.maxHeaderBytes);
    for (;;) {
      const from = Math.max(this.#checked, this.#pos);
      const lf = indexOfLf(buf, from, viewEnd);
      this.scanned += (lf < 0 ? viewEnd : lf + 1) - from;
      if (lf < 0) break;
      const pos = this.#pos;
      if (lf === pos || buf[lf - 1] !== CR) throw badRequest("bare LF line ending (CRLF required)");
      const lineEnd = lf - 1;
      this.scanned += lineEnd - pos; // the line parsers read the completed line once
      if (this.#target === null) {
        const line = lineEnd > pos ? parseRequestLine(buf, pos, lineEnd) : null;
        if (line === FORWARD)
          return { kind: "forward", start: { method: "forward", bytes: buf.slice(0, this.#len) } };
        this.#target = line;
      } else if (lineEnd === pos) {
        return finish(this.#target, this.#headers, buf.subarray(0, this.#len), lf + 1);
      } else {
        this.#headers.push(parseHeaderLine(buf, pos, lineEnd));
        if (this.#headers.length > limits.maxHeaders) {
          throw new ProxyError("HEADERS_TOO_LARGE", `more than ${limits.maxHeaders} header fields`);
        }
      }
      this.#pos = lf + 1;
      this.#checked = lf + 1;
    }
    // The partial line [#pos, viewEnd) holds no LF. Check only what is new; a CR that is the last
    // byte so far is checked again once the next byte shows whether an LF follows it.
    const start = Math.max(this.#checked, this.#pos);
    checkPartialLine(buf, start, viewEnd);
    this.scanned += Math.max(0, viewEnd - start);
    this.#checked = viewEnd > start && buf[viewEnd - 1] === CR ? viewEnd - 1 : viewEnd;
    if (this.#len > limits.maxHeaderBytes) {
      throw new ProxyError("HEADERS_TOO_LARGE", `request head exceeds ${limits.maxHeaderBytes} bytes`);
    }
    return INCOMPLETE;
  }
}

function indexOfLf(buf: Uint8Array, from: number, end: number): number {
  if (from >= end) return -1;
  const i = buf.subarray(from, end).indexOf(LF);
  return i < 0 ? -1 : from + i;
}

/** Parses a whole buffer at once (the same outcome as pushing it in any number of pieces). */
export function parseConnect(buf: Uint8Array, limits: ConnectLimits = DEFAULT_CONNECT_LIMITS): ParseResult {
  return new ConnectParser(limits).push(buf);
}

function finish(
  target: Authority,
  headers: [string, string][],
  buf: Uint8Array,
  consumed: number,
): ParseResult {
  const profile = singleValue(headers, PROFILE_HEADER);
  const proxyAuthorization = singleValue(headers, "proxy-authorization");
  const nextHop = singleValue(headers, NEXT_HOP_HEADER);
  let hosts = 0;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    // RFC 9112 §3.2: more than one Host line is answered 400, whatever the values.
    if (lower === "host") {
      if (++hosts > 1) throw badRequest("more than one Host header");
      // One host[:port], never a list (RFC 9112 §3.2: an invalid Host value is answered 400 too).
      if (value.includes(",")) throw badRequest("a Host header holding a list");
    }
    if (lower === "transfer-encoding") throw badRequest("CONNECT must not carry Transfer-Encoding");
    if (lower === "content-length" && value !== "0") throw badRequest("CONNECT must not carry content");
  }
  return {
    kind: "done",
    consumed,
    request: {
      method: "CONNECT",
      target,
      headers: nextHop === null ? headers : headers.filter(([n]) => n.toLowerCase() !== NEXT_HOP_HEADER),
      profile: profile === null || profile.length === 0 ? null : profile,
      proxyAuthorization,
      nextHop: nextHop === null || nextHop.length === 0 ? null : nextHop,
      leftover: buf.slice(consumed),
    },
  };
}

/** The value of a header that may appear once; repeats must agree, else BAD_REQUEST. */
function singleValue(headers: [string, string][], lowerName: string): string | null {
  let found: string | null = null;
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== lowerName) continue;
    if (found !== null && found !== value) throw badRequest(`conflicting ${name} headers`);
    found = value;
  }
  return found;
}
