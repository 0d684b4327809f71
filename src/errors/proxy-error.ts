/**
 * One error base for the whole proxy. Every error carries a stable `code`; callers branch on the
 * code, never on the message. Foreign errors are wrapped with `{ cause }`.
 */
export type ErrorCode =
  // CONNECT request (client → proxy), all answered before `200`.
  | "BAD_METHOD" // not CONNECT → 405
  | "BAD_REQUEST" // malformed request line / headers → 400
  | "BAD_AUTHORITY" // CONNECT target is not host:port → 400
  | "HEADERS_TOO_LARGE" // over the byte or header-count limit → 431
  | "HEADER_TIMEOUT" // client stalled while sending headers → 408 then close
  | "UNKNOWN_PROFILE" // X-PolyTLS-Upstream-Profile names no profile → 400
  | "FORBIDDEN" // target refused by policy → 403
  | "PROXY_AUTH_REQUIRED" // credentials missing or wrong → 407
  // Upstream TCP.
  | "UPSTREAM_UNREACHABLE" // refused / unresolvable → 502
  | "UPSTREAM_TIMEOUT" // connect timeout → 504
  // TLS, both sides (after `200`: the tunnel is reset).
  | "TLS_CONFIG" // a profile spec BoringSSL refuses
  | "TLS_HANDSHAKE" // handshake failure (alert, protocol error)
  | "TLS_VERIFY" // upstream certificate verification failed
  | "TLS_PROTOCOL" // garbage / record-layer error after the handshake
  | "SNI_MISMATCH" // client SNI differs from the CONNECT host
  | "ALPN_MISMATCH" // client and upstream ALPN are not compatible
  | "NATIVE_UNAVAILABLE" // libpolyboring could not be loaded
  // Configuration and files.
  | "CONFIG_INVALID" // a config / profile key is wrong (message names the key path)
  | "CA_INVALID" // CA files unreadable, corrupt or mismatched (message names the file)
  | "CA_EXISTS" // refusing to overwrite an existing CA
  | "IO" // local file or socket error
  | "INTERNAL";

export class ProxyError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProxyError";
    this.code = code;
  }

  /** Wraps anything thrown into a ProxyError, keeping an existing ProxyError as it is. */
  static wrap(err: unknown, code: ErrorCode, message?: string): ProxyError {
    if (err instanceof ProxyError) return err;
    const text = message ?? (err instanceof Error ? err.message : String(err));
    return new ProxyError(code, text, { cause: err });
  }
}

export function isProxyError(err: unknown, code?: ErrorCode): err is ProxyError {
  return err instanceof ProxyError && (code === undefined || err.code === code);
}
