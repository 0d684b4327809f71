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
  mode: "mitm" | "passthrough";
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
  /** HTTP mode: what the client spoke (`h2`, `h1`, or `relay` when it was not HTTP). */
  http?: "h2" | "h1" | "relay";
  /** HTTP mode: upstream protocols used, e.g. `h2` or `http/1.1`. */
  upstreamHttp?: string[];
  /** HTTP mode: requests served, and their final statuses by code ("0" = reset after the head). */
  requests?: number;
  statuses?: Record<string, number>;
  /** Why the tunnel failed, null when it closed normally (however the client closed). */
  errorCode: ErrorCode | null;
  /** The failure in words, one prefix naming the side ("upstream TLS handshake: …"); absent on success. */
  reason?: string;
}

/** `200:3,404:1`: status counts, in code order. */
export function formatStatuses(statuses: Record<string, number>): string {
  return Object.keys(statuses)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => `${k}:${statuses[k]}`)
    .join(",");
}

/** Logs `tunnel closed` at info, or at warn when the tunnel ended with an error. */
export function logTunnel(logger: Logger, rec: TunnelRecord): void {
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
    http: rec.http,
    upstreamHttp: rec.upstreamHttp?.join(","),
    requests: rec.requests,
    statuses: rec.statuses === undefined ? undefined : formatStatuses(rec.statuses),
    bytesUp: rec.bytesUp,
    bytesDown: rec.bytesDown,
    durationMs: Math.round(rec.durationMs),
    errorCode: rec.errorCode,
    reason: rec.errorCode === null ? undefined : rec.reason,
  });
}
