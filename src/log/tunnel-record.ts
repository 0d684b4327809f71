import type { ErrorCode } from "../errors/proxy-error.ts";
import type { Logger } from "./logger.ts";

/**
 * The one log line written when a tunnel ends (successfully or not). Metadata only: who, where,
 * which TLS parameters were negotiated, how many bytes and how long — never the bytes themselves.
 * Fields not known for a tunnel (e.g. TLS details in passthrough mode, or after an early failure)
 * are null and print as `-` in text format.
 */
export interface TunnelRecord {
  /** Client address, `ip:port`. */
  client: string;
  /** CONNECT target as formatAuthority gives it, e.g. `example.com:443` or `[::1]:443`. */
  host: string;
  /** `forward`: a plain-HTTP proxy connection (absolute-form requests, src/proxy/forward-http.ts). */
  mode: "mitm" | "passthrough" | "forward";
  profile: string | null;
  /** ALPN the client negotiated with the proxy (e.g. `h2`), null if none. */
  clientAlpn: string | null;
  /** ALPN negotiated with the upstream server. */
  upstreamAlpn: string | null;
  /** e.g. `TLSv1.3`. */
  upstreamVersion: string | null;
  /** e.g. `TLS_AES_128_GCM_SHA256`. */
  upstreamCipher: string | null;
  /** Upstream session resumed (PSK / ticket); null when no upstream TLS happened. */
  resumed: boolean | null;
  /** Application bytes relayed client → upstream. */
  bytesUp: number;
  /** Application bytes relayed upstream → client. */
  bytesDown: number;
  durationMs: number;
  /** Upstream TCP connect (resolve and dial), ms; absent when no connect succeeded. */
  connectMs?: number;
  /** Client-facing TLS handshake (MITM), ms; absent when it did not complete. */
  clientHandshakeMs?: number;
  /** Upstream TLS handshake (MITM; the tunnel's first upstream connection), ms. */
  upstreamHandshakeMs?: number;
  /** MITM: false when the client did not start TLS after `200` (plaintext HTTP/1 or another
   * protocol: src/proxy/tunnel-plaintext.ts); absent otherwise. */
  clientTls?: false;
  /** HTTP mode: what the client spoke (`h2`, `h1`, or `relay` when it was not HTTP). */
  http?: "h2" | "h1" | "relay";
  /** HTTP mode: upstream protocols used, e.g. `h2` or `http/1.1`. */
  upstreamHttp?: string[];
  /** HTTP mode: the profiles requests named besides `profile` (X-PolyTLS-Upstream-Profile). */
  otherProfiles?: string[];
  /** HTTP mode: requests served, and their final statuses by code ("0" = reset after the head). */
  requests?: number;
  statuses?: Record<string, number>;
  /**
   * HTTP mode: exchanges the proxy reset while the tunnel went on (HTTP/2 streams: an upstream
   * that failed after the head, a decoded body over its cap), by error code, and the last one's
   * reason. The tunnel itself may still end normally; an HTTP/2 stream the client reset is not
   * counted here (only in `statuses` "0").
   */
  exchangeErrors?: Record<string, number>;
  exchangeReason?: string;
  /** Why the tunnel failed, null when it closed normally (however the client closed). */
  errorCode: ErrorCode | null;
  /** The failure in words, one prefix naming the side ("upstream TLS handshake: …"); absent on success. */
  reason?: string;
}

/**
 * The record of a connection from `peer` as it opens: nothing relayed, nothing learnt yet, no
 * error. The tunnel fills it in and logs it (`logTunnel`) when it closes.
 */
export function openTunnelRecord(
  peer: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined },
  host: string,
  mode: TunnelRecord["mode"],
): TunnelRecord {
  return {
    client: `${peer.remoteAddress ?? "?"}:${peer.remotePort ?? 0}`,
    host,
    mode,
    profile: null,
    clientAlpn: null,
    upstreamAlpn: null,
    upstreamVersion: null,
    upstreamCipher: null,
    resumed: null,
    bytesUp: 0,
    bytesDown: 0,
    durationMs: 0,
    errorCode: null,
  };
}

/**
 * Watches what the proxy does, for metrics: every tunnel's record when it closes, and the events
 * that happen before a tunnel exists. Implementations must be quick and must not throw.
 */
export interface TunnelObserver {
  /** Once per tunnel, when its `tunnel closed` line is written. */
  tunnelClosed(rec: Readonly<TunnelRecord>): void;
  /** A connection answered with an error status before any tunnel (bad head, 407, 429, capacity…). */
  rejected(code: ErrorCode): void;
  /** The proxy-auth brake engaged for one client IP. */
  authBrakeEngaged(): void;
}

/** `DECODE_LIMIT:1,UPSTREAM_RESET:2`: counts by key, in key order (`order`: default string order). */
function formatCounts(counts: Record<string, number>, order?: (a: string, b: string) => number): string {
  return Object.keys(counts)
    .sort(order)
    .map((k) => `${k}:${counts[k]}`)
    .join(",");
}

/** `200:3,404:1`: status counts, in code order. */
export function formatStatuses(statuses: Record<string, number>): string {
  return formatCounts(statuses, (a, b) => Number(a) - Number(b));
}

const roundMs = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms));

/**
 * Logs `tunnel closed` at info, or at warn when the tunnel ended with an error, and hands the
 * record to the observer (metrics), if any.
 */
export function logTunnel(logger: Logger, rec: TunnelRecord, observer?: TunnelObserver): void {
  logger.log(rec.errorCode === null ? "info" : "warn", "tunnel closed", {
    host: rec.host,
    client: rec.client,
    mode: rec.mode,
    profile: rec.profile,
    clientAlpn: rec.clientAlpn,
    upstreamAlpn: rec.upstreamAlpn,
    upstreamVersion: rec.upstreamVersion,
    upstreamCipher: rec.upstreamCipher,
    resumed: rec.resumed,
    clientTls: rec.clientTls,
    http: rec.http,
    upstreamHttp: rec.upstreamHttp?.length ? rec.upstreamHttp.join(",") : undefined,
    otherProfiles: rec.otherProfiles?.length ? rec.otherProfiles.join(",") : undefined,
    requests: rec.requests,
    statuses: rec.statuses === undefined ? undefined : formatStatuses(rec.statuses),
    exchangeErrors: rec.exchangeErrors === undefined ? undefined : formatCounts(rec.exchangeErrors),
    exchangeReason: rec.exchangeReason,
    bytesUp: rec.bytesUp,
    bytesDown: rec.bytesDown,
    durationMs: Math.round(rec.durationMs),
    connectMs: roundMs(rec.connectMs),
    clientHandshakeMs: roundMs(rec.clientHandshakeMs),
    upstreamHandshakeMs: roundMs(rec.upstreamHandshakeMs),
    errorCode: rec.errorCode,
    reason: rec.errorCode === null ? undefined : rec.reason,
  });
  observer?.tunnelClosed(rec);
}
