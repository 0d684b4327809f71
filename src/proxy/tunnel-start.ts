/**
 * What a MITM tunnel's client sends first, after `200`: a TLS handshake (the usual case), an
 * HTTP/1.x request line in plaintext (`ws://` and `http://` clients that tunnel through CONNECT,
 * any plain-HTTP SOCKS5 client), or something else (a plaintext protocol that is not HTTP/1, or
 * HTTP/2 with prior knowledge). Pure: fed the bytes read so far, it answers or asks for more.
 */
import { TCHAR } from "../http/h1/syntax.ts";

export type TunnelStart = "tls" | "http1" | "other";

/** RFC 8446 §5.1 ContentType handshake: the first octet of every TLS ClientHello record. */
const TLS_HANDSHAKE_RECORD = 0x16;
/**
 * Longest method token taken as an HTTP/1 request line (RFC 9110 §9 and the IANA method registry:
 * the longest registered method, `BASELINE-CONTROL` / `VERSION-CONTROL`, has 16).
 */
export const MAX_METHOD_OCTETS = 20;
/** RFC 9113 §3.4: the HTTP/2 connection preface starts with a request line of method PRI. */
const H2_PREFACE_METHOD = "PRI";

/** `tls`, `http1` or `other` once `bytes` (everything read so far, non-empty) tells; else `incomplete`. */
export function classifyTunnelStart(bytes: Uint8Array): TunnelStart | "incomplete" {
  if (bytes.length === 0) return "incomplete";
  if (bytes[0] === TLS_HANDSHAKE_RECORD) return "tls";
  const n = Math.min(bytes.length, MAX_METHOD_OCTETS + 1);
  for (let i = 0; i < n; i++) {
    const c = bytes[i] as number;
    if (c === 0x20) {
      if (i === 0) return "other";
      const method = String.fromCharCode(...bytes.subarray(0, i));
      return method === H2_PREFACE_METHOD ? "other" : "http1";
    }
    if (TCHAR[c] !== 1) return "other";
  }
  return bytes.length > MAX_METHOD_OCTETS ? "other" : "incomplete";
}
