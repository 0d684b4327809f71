import { STATUS_CODES } from "node:http";
import { type ErrorCode, ProxyError } from "./proxy-error.ts";

/**
 * The single table from error code to what the client sees. Before `200 Connection Established`
 * the client gets an HTTP status with a short plain-text body and `Connection: close`; after it
 * the tunnel is reset (the TCP connection is destroyed) — there is no HTTP left to speak.
 */
const STATUS: Record<ErrorCode, number> = {
  BAD_METHOD: 405,
  BAD_REQUEST: 400,
  BAD_AUTHORITY: 400,
  HEADERS_TOO_LARGE: 431,
  HEADER_TIMEOUT: 408,
  UNKNOWN_PROFILE: 400,
  FORBIDDEN: 403,
  PROXY_AUTH_REQUIRED: 407,
  AUTH_RATE_LIMITED: 429,
  CAPACITY: 503,
  CLIENT_LIMIT: 429,
  LOOP_DETECTED: 508,
  TARGET_DENIED: 403,
  UPSTREAM_UNREACHABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  BAD_NEXT_HOP: 400,
  NEXT_HOP_UNREACHABLE: 502,
  NEXT_HOP_TIMEOUT: 504,
  NEXT_HOP_AUTH: 502,
  NEXT_HOP_REFUSED: 502,
  // Never sent as HTTP (a SOCKS client gets src/errors/socks-wire.ts); 400 for completeness.
  SOCKS_BAD_REQUEST: 400,
  SOCKS_COMMAND_UNSUPPORTED: 400,
  SOCKS_ADDRESS_UNSUPPORTED: 400,
  TLS_CONFIG: 502,
  TLS_HANDSHAKE: 502,
  TLS_VERIFY: 502,
  TLS_PROTOCOL: 502,
  SNI_MISMATCH: 502,
  ALPN_MISMATCH: 502,
  NATIVE_UNAVAILABLE: 502,
  IDLE_TIMEOUT: 504,
  UPSTREAM_TRUNCATED: 502,
  SHUTDOWN: 503,
  HTTP_BAD_REQUEST: 400,
  HTTP_PROTOCOL: 502,
  CONFIG_INVALID: 502,
  CA_INVALID: 502,
  CA_EXISTS: 502,
  IO: 502,
  INTERNAL: 502,
};

export function statusFor(err: unknown): number {
  return err instanceof ProxyError ? STATUS[err.code] : 502;
}

/** Whole seconds, at least 1 (RFC 9110 §10.2.3: a non-negative integer; 0 would invite a retry loop). */
function retryAfter(err: unknown): number {
  const s = err instanceof ProxyError ? (err.retryAfterS ?? 1) : 1;
  return Number.isFinite(s) ? Math.max(1, Math.ceil(s)) : 1;
}

/** The error answer in parts: status, reason phrase, the fields it needs beyond the framing, text body. */
export function errorParts(err: unknown): {
  status: number;
  reason: string;
  fields: [string, string][];
  body: string;
} {
  const status = statusFor(err);
  const reason = STATUS_CODES[status] ?? "Error"; // the same phrases as the HTTP layer's answers
  const detail = err instanceof ProxyError ? err.message : "internal proxy error";
  const fields: [string, string][] =
    status === 405
      ? [["Allow", "CONNECT"]]
      : status === 407
        ? [["Proxy-Authenticate", 'Basic realm="polytls", charset="UTF-8"']]
        : status === 429 || status === 503
          ? [["Retry-After", String(retryAfter(err))]]
          : [];
  return { status, reason, fields, body: `${status} ${reason}: ${detail.replace(/[\r\n]+/g, " ")}\n` };
}

/** The full HTTP/1.1 response sent before `200` for this error. */
export function errorResponse(err: unknown): string {
  const { status, reason, fields, body } = errorParts(err);
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    fields.map(([n, v]) => `${n}: ${v}\r\n`).join("") +
    "Connection: close\r\n\r\n" +
    body
  );
}
