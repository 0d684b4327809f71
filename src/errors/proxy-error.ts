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
  | "AUTH_RATE_LIMITED" // too many failed proxy logins from this client IP → 429
  | "CAPACITY" // proxy.limits.max_tunnels open tunnels already → 503
  | "CLIENT_LIMIT" // proxy.limits.max_tunnels_per_client from this client IP already → 429
  | "LOOP_DETECTED" // the target is the proxy's own listen address → 508
  | "TARGET_DENIED" // target address refused by proxy.access.deny_private / deny_cidrs → 403
  // Upstream TCP.
  | "UPSTREAM_UNREACHABLE" // refused / unresolvable → 502
  | "UPSTREAM_TIMEOUT" // connect timeout → 504
  // Next hop (an upstream proxy the tunnel goes through; messages name it, never its password).
  | "BAD_NEXT_HOP" // X-PolyTLS-Next-Hop malformed, or per-request next hops are off → 400
  | "NEXT_HOP_UNREACHABLE" // the next hop refused the TCP connection / does not resolve → 502
  | "NEXT_HOP_TIMEOUT" // the next hop did not connect or answer within connect_timeout_ms → 504
  | "NEXT_HOP_AUTH" // the next hop wants credentials or refused ours → 502
  | "NEXT_HOP_REFUSED" // the next hop refused the target, or did not speak its protocol → 502
  // SOCKS5 inbound (answered with a SOCKS reply code, src/errors/socks-wire.ts, then closed).
  | "SOCKS_BAD_REQUEST" // malformed greeting / request, or no acceptable method
  | "SOCKS_COMMAND_UNSUPPORTED" // BIND, UDP ASSOCIATE or an unknown command → reply 0x07
  | "SOCKS_ADDRESS_UNSUPPORTED" // unknown address type → reply 0x08
  // TLS, both sides (after `200`: the tunnel is reset).
  | "TLS_CONFIG" // a profile spec BoringSSL refuses
  | "TLS_HANDSHAKE" // handshake failure (alert, protocol error)
  | "TLS_VERIFY" // upstream certificate verification failed
  | "TLS_PROTOCOL" // garbage / record-layer error after the handshake
  | "SNI_MISMATCH" // client SNI differs from the CONNECT host
  | "ALPN_MISMATCH" // client and upstream ALPN are not compatible
  | "NATIVE_UNAVAILABLE" // libpolyboring could not be loaded
  // After `200` (the tunnel is reset / truncated, never closed cleanly).
  | "IDLE_TIMEOUT" // no byte either way for proxy.limits.idle_timeout_ms
  | "UPSTREAM_TRUNCATED" // the upstream closed TCP without TLS close_notify
  | "SHUTDOWN" // the proxy is stopping and the drain time ran out
  // HTTP layer (MITM HTTP mode).
  | "HTTP_BAD_REQUEST" // malformed or unsafe client request (smuggling forms…) → 400
  | "HTTP_PROTOCOL" // HTTP/1.1 or HTTP/2 protocol error (either side)
  // Configuration and files.
  | "CONFIG_INVALID" // a config / profile key is wrong (message names the key path)
  | "CA_INVALID" // CA files unreadable, corrupt or mismatched (message names the file)
  | "CA_EXISTS" // refusing to overwrite an existing CA
  | "IO" // local file or socket error
  | "INTERNAL";

export class ProxyError extends Error {
  readonly code: ErrorCode;
  /** For a 429 / 503: seconds after which a retry can succeed (`Retry-After`); 1 when unset. */
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterS?: number }) {
    super(message, options);
    this.name = "ProxyError";
    this.code = code;
    this.retryAfterS = options?.retryAfterS;
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
