/**
 * The proxy's metrics: fed by the tunnel record when each tunnel closes (one place for counts,
 * bytes, protocols, resumptions and the latencies the tunnel measured), by the listener's
 * rejections and auth brake, by the leaf cache lookups, and read at scrape time for what is open
 * now. Label values come from fixed sets only (modes, profile names, error codes, ALPN values the
 * proxy itself offered, status classes), never hosts or clients.
 */
import type { ErrorCode } from "../errors/proxy-error.ts";
import type { TunnelObserver, TunnelRecord } from "../log/tunnel-record.ts";
import { formatExposition } from "./exposition.ts";
import { CallbackGauge, Counter, Histogram, type Instrument } from "./instruments.ts";

/** Latency buckets, seconds: 1 ms (loopback) to 30 s (the default connect / handshake timeouts). */
export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What is read from the running proxy at scrape time. */
export interface LiveState {
  activeTunnels(): number;
  openConnections(): number;
  draining(): boolean;
}

/** `200` → `2xx`; `0` (no complete response: reset or cut, before or after the head) → `reset`. */
export function statusClass(code: string): string {
  if (code === "0") return "reset";
  return /^[1-5]\d\d$/.test(code) ? `${code[0]}xx` : "other";
}

const seconds = (ms: number) => ms / 1000;

export class ProxyMetrics implements TunnelObserver {
  readonly #tunnels = new Counter(
    "polytls_tunnels_total",
    "Tunnels closed, by mode, profile, outcome (ok or error) and error code (none when ok)",
    ["mode", "profile", "outcome", "code"],
  );
  readonly #bytes = new Counter(
    "polytls_tunnel_bytes_total",
    "Application bytes relayed by closed tunnels: up = client to upstream, down = upstream to client",
    ["direction"],
  );
  readonly #upstreamAlpn = new Counter(
    "polytls_upstream_alpn_total",
    "Upstream TLS connections (MITM) by the ALPN protocol the server chose (none when it chose none)",
    ["alpn"],
  );
  readonly #httpClient = new Counter(
    "polytls_http_tunnels_total",
    "MITM HTTP-mode tunnels by what the client spoke: h2, h1, or relay when it was not HTTP",
    ["protocol"],
  );
  readonly #httpUpstream = new Counter(
    "polytls_http_upstream_protocol_total",
    "MITM HTTP-mode tunnels by upstream HTTP protocol used (a tunnel may use several)",
    ["protocol"],
  );
  readonly #httpRequests = new Counter(
    "polytls_http_requests_total",
    "Requests served in the MITM HTTP mode by final status class (reset = no complete response: reset or cut by either side, before or after the head, or unanswered when the connection ended)",
    ["status_class"],
  );
  readonly #resumed = new Counter(
    "polytls_upstream_session_resumptions_total",
    "Upstream TLS handshakes that resumed a cached session",
  );
  readonly #leafLookups = new Counter(
    "polytls_leaf_cache_lookups_total",
    "Leaf certificate lookups by result: hit (cached or being minted) or miss (minted)",
    ["result"],
  );
  readonly #brake = new Counter(
    "polytls_auth_brake_engagements_total",
    "Times the proxy-auth brake engaged for a client IP (too many failed logins)",
  );
  readonly #rejected = new Counter(
    "polytls_rejected_total",
    "Connections answered with an error before any tunnel, by error code; CAPACITY and CLIENT_LIMIT are the capacity refusals",
    ["code"],
  );
  readonly #connect = new Histogram(
    "polytls_upstream_connect_duration_seconds",
    "Upstream TCP connect time (resolve and dial) of tunnels whose connect succeeded",
    LATENCY_BUCKETS_S,
  );
  readonly #clientHandshake = new Histogram(
    "polytls_client_handshake_duration_seconds",
    "Client-facing TLS handshake time (MITM) of tunnels whose handshake completed",
    LATENCY_BUCKETS_S,
  );
  readonly #upstreamHandshake = new Histogram(
    "polytls_upstream_handshake_duration_seconds",
    "Upstream TLS handshake time (MITM, first upstream connection) of tunnels whose handshake completed",
    LATENCY_BUCKETS_S,
  );
  readonly #instruments: Instrument[];

  constructor(live: LiveState) {
    this.#instruments = [
      this.#tunnels,
      new CallbackGauge("polytls_tunnels_active", "Tunnels open now", () => live.activeTunnels()),
      new CallbackGauge(
        "polytls_connections_open",
        "Client connections admitted and open now (CONNECT head phase and tunnels)",
        () => live.openConnections(),
      ),
      new CallbackGauge("polytls_draining", "1 while the proxy is stopping (SIGTERM / SIGINT), else 0", () =>
        live.draining() ? 1 : 0,
      ),
      this.#bytes,
      this.#connect,
      this.#clientHandshake,
      this.#upstreamHandshake,
      this.#upstreamAlpn,
      this.#resumed,
      this.#httpClient,
      this.#httpUpstream,
      this.#httpRequests,
      this.#leafLookups,
      this.#rejected,
      this.#brake,
    ];
  }

  tunnelClosed(rec: Readonly<TunnelRecord>): void {
    const code = rec.errorCode ?? "none";
    const outcome = rec.errorCode === null ? "ok" : "error";
    this.#tunnels.inc({ mode: rec.mode, profile: rec.profile ?? "none", outcome, code });
    this.#bytes.inc({ direction: "up" }, rec.bytesUp);
    this.#bytes.inc({ direction: "down" }, rec.bytesDown);
    if (rec.connectMs !== undefined) this.#connect.observe(seconds(rec.connectMs));
    if (rec.clientHandshakeMs !== undefined) this.#clientHandshake.observe(seconds(rec.clientHandshakeMs));
    if (rec.upstreamHandshakeMs !== undefined)
      this.#upstreamHandshake.observe(seconds(rec.upstreamHandshakeMs));
    if (rec.upstreamVersion !== null) this.#upstreamAlpn.inc({ alpn: rec.upstreamAlpn ?? "none" });
    if (rec.resumed === true) this.#resumed.inc();
    if (rec.http !== undefined) this.#httpClient.inc({ protocol: rec.http });
    for (const p of new Set(rec.upstreamHttp ?? [])) this.#httpUpstream.inc({ protocol: p });
    for (const [status, n] of Object.entries(rec.statuses ?? {})) {
      this.#httpRequests.inc({ status_class: statusClass(status) }, n);
    }
  }

  rejected(code: ErrorCode): void {
    this.#rejected.inc({ code });
  }

  authBrakeEngaged(): void {
    this.#brake.inc();
  }

  /** One leaf lookup: `hit` when the cache had it (or a mint for it was already running). */
  leafLookup(hit: boolean): void {
    this.#leafLookups.inc({ result: hit ? "hit" : "miss" });
  }

  /** The exposition text of every metric. */
  render(): string {
    return formatExposition(this.#instruments.map((i) => i.collect()));
  }
}
