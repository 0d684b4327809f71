/**
 * What a MITM tunnel's client that did not start TLS sends (the client-facing TLS channel tells
 * that from the first octet: SecureChannel.detectPlaintext): an HTTP/1.x request line
 * (`ws://` and `http://` clients that tunnel through CONNECT, any plain-HTTP SOCKS5 client), or
 * something else (a plaintext protocol of its own, HTTP/2 with prior knowledge). Pure: fed the
 * bytes read so far, it answers or asks for more.
 *
 * HTTP/1 from a whole first line that reads as a request line, however malformed: text ending in
 * an HTTP version (request-line-like.ts; the HTTP/1.1 codec judges the rest, and refuses what it
 * does not serve: a lenient origin would serve ` GET /x HTTP/1.1 ` relayed as bytes, past the
 * CONNECT-host check and the header filter). Many text protocols also start with a token and a
 * space (`EHLO host`, `NICK name`, `get key`) and are relayed, as are binary bytes (decided at the
 * first one), HTTP/0.9 (`GET /`, no version, no headers) and HTTP/2 with prior knowledge. Empty
 * lines before it (RFC 9112 §2.2) are looked past, whatever their number or form (bare LF, lone
 * CR): the codec accepts one CRLF and refuses the rest.
 */
import { requestLineLike, startsAsText } from "../http/h1/request-line-like.ts";
import { afterLeadingEols, LF } from "../http/h1/syntax.ts";

export type TunnelStart = "http1" | "other";
/**
 * Longest request line waited for: the HTTP/1.1 codec's target limit (DEFAULT_REQUEST_LIMITS,
 * 16 KiB) plus the method and version. A longer line with no end yet is left to the codec (it
 * answers 414), so the wait is bounded in bytes as in time.
 */
export const MAX_REQUEST_LINE_OCTETS = 16 * 1024 + 64;

/** `http1` or `other` once `bytes` (everything read so far) tells; else `incomplete`. */
export function classifyTunnelStart(bytes: Uint8Array): TunnelStart | "incomplete" {
  if (bytes.length === 0) return "incomplete";
  const start = lineStart(bytes);
  if (start === "incomplete" || start === "http1") return start;
  const lf = bytes.indexOf(LF, start);
  if (!startsAsText(bytes, start, lf < 0 ? bytes.length : lf)) return "other";
  if (lf < 0) return bytes.length - start >= MAX_REQUEST_LINE_OCTETS ? "http1" : "incomplete";
  return requestLineLike(bytes.subarray(start, lf)) ? "http1" : "other";
}

/**
 * Where the request line starts: after the leading CR / LF bytes, however many (the codec accepts
 * one empty line and refuses more); past MAX_LEADING_EOLS of them, the codec's to refuse.
 */
function lineStart(bytes: Uint8Array): number | "incomplete" | "http1" {
  const start = afterLeadingEols(bytes);
  if (start < 0) return "http1";
  return start === bytes.length ? "incomplete" : start;
}
