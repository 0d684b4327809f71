/**
 * The HTTP-mode half of `make bench` (proxy.mitm.http = "full"): idle tunnel memory after one
 * request, keep-alive requests/s against a direct connection (HTTP/1.1 on 1 and on c connections,
 * HTTP/2 with many streams on one connection; the same loads through the TLS relay for scale),
 * and bulk MB/s against the TLS relay, all to bench/origin-http.ts (ALPN h2 + http/1.1, so the
 * proxy re-originates over HTTP/2).
 *
 * The keep-alive rows use the bench client's minimal request (`GET /small`, `Host` only), which the
 * proxy re-originates with the browser's header fields: the origin then gets a larger request
 * through the proxy than direct. For scale, the same loads are measured again with the browser's
 * fields on every path (browser-fields.ts), so that the origin gets the same header fields both
 * ways (over HTTP/1.1 direct and HTTP/2 from the proxy on the HTTP/1.1 loads).
 */
import type * as http2 from "node:http2";
import type * as net from "node:net";
import type * as tls from "node:tls";
import { browserFields } from "./browser-fields.ts";
import { closeSoon, directEndpoint, type Endpoint, H2_ALPN, proxyEndpoint } from "./client.ts";
import { h2FirstRequest } from "./h2-client.ts";
import { type KeepAliveSpec, keepAliveRates } from "./keepalive.ts";
import { bulkMBps, ErrorTally, type IdleCost, idleRssPerConn, runUnits } from "./measure.ts";
import { met, num, type Row, signed, times } from "./table.ts";

export interface HttpBenchContext {
  quick: boolean;
  progress(msg: string): void;
  origin: { port: number; caPem: string };
  /** The proxy in full HTTP mode (measured) and the one in tls-relay mode (the bulk baseline). */
  full: { port: number; pid: number; caPem: string };
  relay: { port: number; caPem: string };
  /** Starts another full-mode proxy, so each idle measurement starts from a fresh process. */
  startFull(): Promise<{ port: number; pid: number; caPem: string; stop(): Promise<void> }>;
  idleCount: number;
}

const IDLE_WARMUP = 100; // tunnels run (and closed) on the full proxy before its RSS baseline
const IDLE_WARMUP_CONCURRENCY = 10; // in flight during that warm-up
const IDLE_CONCURRENCY = 50; // tunnels being opened at once while filling up
const IDLE_SETTLE_MS = 1500; // ms to let the process settle before each RSS reading
const H1_PARALLEL = 8; // HTTP/1.1 keep-alive connections in the parallel row (a browser opens up to 6)
const H2_STREAMS = 32; // concurrent streams on the one HTTP/2 connection
const KEEPALIVE_WARMUP_MS = 3000; // unmeasured load per side before each keep-alive load's windows
const BULK_ROUNDS = 2; // alternating direct / tls-relay / full rounds; best per side

const TARGET_KEEPALIVE_RATIO = 0.5; // keep-alive requests/s, full mode ÷ direct (issue 9)
const TARGET_BULK_RATIO = 0.8; // bulk MB/s, full mode ÷ tls-relay (issue 9)
const TARGET_IDLE_KIB = 30; // KiB per idle tunnel (issue 8, still required in the HTTP mode)

export interface HttpIdle {
  h1: IdleCost;
  h2: IdleCost;
}

export class HttpBench {
  readonly errors = new ErrorTally();
  readonly #c: HttpBenchContext;
  readonly #direct: Endpoint;
  readonly #directH2: Endpoint;
  readonly #full: Endpoint;
  readonly #fullH2: Endpoint;
  readonly #relay: Endpoint;
  readonly #relayH2: Endpoint;
  /**
   * For scale, no target: the keep-alive loads through the TLS relay, measured in the same
   * alternating windows as direct and full (what any proxy in the path costs on this machine),
   * and all three sides again with the browser's header fields on every path.
   */
  readonly relayKeepAlive: Row[] = [];

  constructor(ctx: HttpBenchContext) {
    this.#c = ctx;
    const { origin, full, relay } = ctx;
    this.#direct = directEndpoint(origin.port, origin.caPem);
    this.#directH2 = directEndpoint(origin.port, origin.caPem, H2_ALPN);
    this.#full = proxyEndpoint(full.port, origin.port, full.caPem, undefined, "full");
    this.#fullH2 = proxyEndpoint(full.port, origin.port, full.caPem, H2_ALPN, "full");
    this.#relay = proxyEndpoint(relay.port, origin.port, relay.caPem, undefined, "tls-relay");
    this.#relayH2 = proxyEndpoint(relay.port, origin.port, relay.caPem, H2_ALPN, "tls-relay");
  }

  /**
   * Proxy RSS per idle full-mode tunnel, after one request: HTTP/1.1 client on the (fresh) full
   * proxy, then HTTP/2 client on a second fresh full proxy, stopped afterwards (memory freed by the
   * first set would otherwise flatter the second).
   */
  async idle(): Promise<HttpIdle> {
    const { progress, full, idleCount, origin } = this.#c;
    const n = idleCount;
    progress(`idle RSS (full): warm-up, then ${n} idle tunnels, HTTP/1.1 client`);
    await runUnits(this.#full, IDLE_WARMUP, IDLE_WARMUP_CONCURRENCY, this.errors);
    const h1 = await idleRssPerConn(this.#full, full.pid, n, IDLE_CONCURRENCY, IDLE_SETTLE_MS, this.errors);
    progress(`idle RSS (full, second proxy): warm-up, then ${n} idle tunnels, HTTP/2 client`);
    const other = await this.#c.startFull();
    try {
      const ep = proxyEndpoint(other.port, origin.port, other.caPem, H2_ALPN, "full");
      const use = (t: tls.TLSSocket) => h2FirstRequest(t, ep.authority);
      await idleWarmUp(ep, use, this.errors);
      const h2 = await idleRssPerConn(ep, other.pid, n, IDLE_CONCURRENCY, IDLE_SETTLE_MS, this.errors, use);
      return { h1, h2 };
    } finally {
      await other.stop();
    }
  }

  /** Keep-alive rows (against direct) and bulk rows (against the TLS relay). */
  async load(): Promise<Row[]> {
    const { quick, progress } = this.#c;
    // Per side and load, unmeasured. The proxy's HTTP/1.1 path, and the origin's HTTP/2 path (which
    // only the proxy's side uses on the HTTP/1.1 loads), reach their steady rate only after 2-3 s
    // of load (bench/HISTORY.md, "Warm-up").
    const warmMs = quick ? 250 : KEEPALIVE_WARMUP_MS;
    const windowMs = quick ? 250 : 1000;
    const rounds = quick ? 2 : 4;
    const rows: Row[] = [];
    const specs: [string, KeepAliveSpec, Endpoint, Endpoint, Endpoint][] = [
      ["HTTP/1.1, 1 conn", { protocol: "h1", conns: 1, streams: 1 }, this.#direct, this.#full, this.#relay],
      [
        `HTTP/1.1, ${H1_PARALLEL} conns`,
        { protocol: "h1", conns: H1_PARALLEL, streams: 1 },
        this.#direct,
        this.#full,
        this.#relay,
      ],
      [
        `HTTP/2, 1 conn × ${H2_STREAMS} streams`,
        { protocol: "h2", conns: 1, streams: H2_STREAMS },
        this.#directH2,
        this.#fullH2,
        this.#relayH2,
      ],
    ];
    const browser = browserFields(this.#direct.authority);
    const same: Row[] = [];
    for (const [label, spec, d, p, r] of specs) {
      progress(`keep-alive req/s, ${label}: ${rounds} × ${windowMs} ms per side, alternating`);
      const loads = await keepAliveRates([d, p, r], spec, warmMs, windowMs, rounds, this.errors, progress);
      const [ld, lp, lr] = loads.map((l) => l.perSecond);
      rows.push(ratioRow(`keep-alive req/s, ${label} vs direct`, ld!, lp!, TARGET_KEEPALIVE_RATIO));
      this.relayKeepAlive.push(scaleRow(`keep-alive req/s, ${label}: tls-relay`, ld!, lr!));
      progress(
        `keep-alive req/s, ${label}, browser's fields on every path: ${rounds} × ${windowMs} ms per side`,
      );
      const withFields = { ...spec, extraFields: browser };
      const b = await keepAliveRates([d, p, r], withFields, warmMs, windowMs, rounds, this.errors, progress);
      const [bd, bp, br] = b.map((l) => l.perSecond);
      same.push(scaleRow(`keep-alive req/s, ${label}, browser's fields: full`, bd!, bp!));
      same.push(scaleRow(`keep-alive req/s, ${label}, browser's fields: tls-relay`, bd!, br!));
    }
    this.relayKeepAlive.push(...same);

    const bytes = (quick ? 32 : 256) * 2 ** 20;
    const warm = 16 * 2 ** 20;
    const best = new Map<string, number>();
    for (let round = 1; round <= BULK_ROUNDS; round++) {
      for (const ep of [this.#direct, this.#relay, this.#full]) {
        progress(`bulk (${ep.side}) round ${round}/${BULK_ROUNDS}: ${bytes / 2 ** 20} MiB, HTTP/1.1 client`);
        const mbps = await bulkMBps(ep, bytes, warm, 60_000, this.errors);
        if (Number.isFinite(mbps) && !(mbps <= (best.get(ep.side) ?? Number.NaN))) best.set(ep.side, mbps);
      }
    }
    const [direct, relay, full] = ["direct", "tls-relay", "full"].map((s) => best.get(s) ?? Number.NaN);
    const mib = bytes / 2 ** 20;
    rows.push(ratioRow(`bulk MB/s (${mib} MiB, 1 conn) vs tls-relay`, relay!, full!, TARGET_BULK_RATIO));
    rows.push({
      metric: `bulk MB/s (${mib} MiB, 1 conn) vs direct`,
      direct: num(direct!, 0),
      proxy: num(full!, 0),
      delta: times(full! / direct!),
      target: "-",
      met: "-",
    });
    this.measured = [direct, relay, full].every(Number.isFinite) && rows.every((r) => r.proxy !== "n/a");
    return rows;
  }

  measured = false;

  /** The idle rows: baseline column = the tls-relay tunnel measured in the first table. */
  idleRows(idle: HttpIdle, relayIdle: IdleCost): Row[] {
    const row = (label: string, c: IdleCost): Row => {
      const ok = c.opened > 0 && relayIdle.opened > 0;
      return {
        metric: `RSS KiB per idle tunnel, ${label} (${c.opened})`,
        direct: ok ? num(relayIdle.perConnKiB, 1) : "n/a",
        proxy: ok ? num(c.perConnKiB, 1) : "n/a",
        delta: ok ? signed(c.perConnKiB - relayIdle.perConnKiB, 1, "KiB") : "n/a",
        target: `≤ ${TARGET_IDLE_KIB} KiB`,
        met: ok ? met(c.perConnKiB <= TARGET_IDLE_KIB, c.perConnKiB) : "no",
      };
    };
    return [row("HTTP/1.1 client, 1 request", idle.h1), row("HTTP/2 client, 1 request", idle.h2)];
  }

  errorRow(): Row {
    const base = this.errors.count("direct") + this.errors.count("tls-relay");
    const full = this.errors.count("full");
    return {
      metric: "errors (HTTP-mode phases)",
      direct: String(base),
      proxy: String(full),
      delta: "-",
      target: "0",
      met: base + full === 0 ? "yes" : "no",
    };
  }
}

/** A for-scale ratio row: no target. */
function scaleRow(metric: string, direct: number, proxy: number): Row {
  return {
    metric,
    direct: num(direct, 0),
    proxy: num(proxy, 0),
    delta: times(proxy / direct),
    target: "-",
    met: "-",
  };
}

/** IDLE_WARMUP tunnels (one request each, then closed), IDLE_WARMUP_CONCURRENCY at a time. */
async function idleWarmUp(
  ep: Endpoint,
  use: (t: tls.TLSSocket) => Promise<http2.ClientHttp2Session>,
  errors: ErrorTally,
): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started < IDLE_WARMUP) {
      started++;
      const sockets: net.Socket[] = [];
      try {
        const t = await ep.open((s) => sockets.push(s));
        (await use(t)).close();
        closeSoon(t, 2000);
      } catch (err) {
        for (const s of sockets) s.destroy();
        errors.add(ep.side, err);
      }
    }
  };
  await Promise.all(Array.from({ length: IDLE_WARMUP_CONCURRENCY }, worker));
}

function ratioRow(metric: string, base: number, full: number, target: number): Row {
  const ratio = full / base;
  return {
    metric,
    direct: num(base, 0),
    proxy: num(full, 0),
    delta: times(ratio),
    target: `≥ ${target}×`,
    met: met(ratio >= target, ratio),
  };
}
