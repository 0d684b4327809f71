/**
 * What a MITM tunnel's client that did not start TLS sends (the client-facing TLS channel tells
 * that from the first octet: SecureChannel.detectPlaintext): an HTTP/1.x request line
 * (`ws://` and `http://` clients that tunnel through CONNECT, any plain-HTTP SOCKS5 client), or
 * something else (a plaintext protocol of its own, HTTP/2 with prior knowledge). Pure: fed the
 * bytes read so far, it answers or asks for more.
 *
 * HTTP/1 only from a whole request line, `method SP target SP
 * HTTP/1.x` then LF (the HTTP/1.1 codec judges the rest, bare LF included): many text protocols
 * also start with a token and a space (`EHLO host`, `NICK name`, `get key`) and are relayed. Empty
 * lines before it (RFC 9112 §2.2) are looked past, whatever their number or form (bare LF, lone
 * CR): the codec accepts one CRLF and refuses the rest, so none of them can take a request into
 * the byte relay, past the CONNECT-host check and the header filter.
 */
import { afterLeadingEols, LF, SP, TCHAR } from "../http/h1/syntax.ts";

export type TunnelStart = "http1" | "other";
/**
 * Longest method token taken as an HTTP/1 request line (RFC 9110 §9 and the IANA method registry:
 * the longest registered method, `BASELINE-CONTROL` / `VERSION-CONTROL`, has 16).
 */
export const MAX_METHOD_OCTETS = 20;
/**
 * Longest request line waited for: the HTTP/1.1 codec's target limit (DEFAULT_REQUEST_LIMITS,
 * 16 KiB) plus the method and version. A longer line with no end yet is left to the codec (it
 * answers 414), so the wait is bounded in bytes as in time.
 */
export const MAX_REQUEST_LINE_OCTETS = 16 * 1024 + 64;
/** RFC 9112 §2.3 HTTP-version, the part this proxy serves: `HTTP/1.0` and `HTTP/1.1`. */
const HTTP1_VERSION = /^HTTP\/1\.[01]\r?$/;
/** `HTTP/1.1` and a CR, plus the SP before them. */
const VERSION_OCTETS_MAX = 10;

/** `http1` or `other` once `bytes` (everything read so far) tells; else `incomplete`. */
export function classifyTunnelStart(bytes: Uint8Array): TunnelStart | "incomplete" {
  if (bytes.length === 0) return "incomplete";
  const start = lineStart(bytes);
  if (start === "incomplete" || start === "http1") return start;
  const method = methodEnd(bytes, start);
  if (method === "incomplete" || method === "other") return method;
  const lf = bytes.indexOf(LF, method + 1);
  if (lf < 0) return bytes.length >= MAX_REQUEST_LINE_OCTETS ? "http1" : "incomplete";
  const lastSp = bytes.lastIndexOf(SP, lf);
  if (lastSp <= method + 1) return "other"; // no target, or no version (HTTP/0.9)
  if (lf - lastSp > VERSION_OCTETS_MAX) return "other";
  return HTTP1_VERSION.test(String.fromCharCode(...bytes.subarray(lastSp + 1, lf))) ? "http1" : "other";
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

/** Where the method token from `start` ends (its SP), or what the bytes so far say instead. */
function methodEnd(bytes: Uint8Array, start: number): number | "incomplete" | "other" {
  const n = Math.min(bytes.length, start + MAX_METHOD_OCTETS + 1);
  for (let i = start; i < n; i++) {
    const c = bytes[i] as number;
    if (c === SP) return i === start ? "other" : i;
    if (TCHAR[c] !== 1) return "other";
  }
  return bytes.length - start > MAX_METHOD_OCTETS ? "other" : "incomplete";
}
