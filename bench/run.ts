/**
 * `make bench`: measures the proxy against a direct connection to the same origin, in one run, and
 * prints one table. Origin and proxy are child processes on 127.0.0.1 (port 0); the clients run here.
 * Exit 0 when every metric was measured (targets missed or not), 1 when the bench itself failed.
 *
 *   bun bench/run.ts [--quick] [--proxy-cmd "<command>"]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { directEndpoint, type Endpoint, proxyEndpoint } from "./client.ts";
import {
  bulkMBps,
  ErrorTally,
  type IdleCost,
  idleRssPerConn,
  latencies,
  percentile,
  runUnits,
  unitsPerSecond,
} from "./measure.ts";
import { killAllChildren, type MitmHttpMode, openFilesLimit, startModeProxy, startOrigin } from "./procs.ts";
import { HttpBench } from "./run-http.ts";
import { machineInfo, makeOriginPki, resolveProxyCommand } from "./setup.ts";
import { formatTable, met, num, type Row, signed, times } from "./table.ts";

const { values: flags } = parseArgs({
  options: { quick: { type: "boolean", default: false }, "proxy-cmd": { type: "string" } },
});
const QUICK = flags.quick === true; // a short smoke run of every phase; its numbers are noisy

const WATCHDOG_MS = 270_000; // ms; the whole run must end well under 5 minutes (it takes ~100 s)
const START_TIMEOUT_MS = 30_000; // ms for origin / proxy to print their port (bun may transpile first)
const RATE_CONCURRENCY = 50; // connections in flight while measuring tunnels/s (the load)
const RATE_WARMUP_MS = QUICK ? 500 : 2000; // ms; JIT, leaf minting and session caches warm up
const RATE_DURATION_MS = QUICK ? 2000 : 8000; // ms measured per side
const RATE_ROUNDS = 4; // the duration is split into this many windows, alternating direct / proxy
const LATENCY_WARMUP = 20; // sequential units per side, not recorded
const LATENCY_ITERATIONS = QUICK ? 60 : 300; // sequential units per side, recorded
const BULK_BYTES = (QUICK ? 32 : 256) * 1024 * 1024; // bytes in the timed download
const BULK_WARM_BYTES = 16 * 1024 * 1024; // bytes downloaded on the same connection first
const BULK_ROUNDS = 2; // alternating direct / proxy rounds; the best of each side is reported
const BULK_TIMEOUT_MS = 60_000; // ms per download
const IDLE_TARGET = QUICK ? 200 : 1000; // idle connections held open for the RSS measurement
const IDLE_WARMUP = 100; // units run (and closed) before the RSS baseline
const IDLE_WARMUP_CONCURRENCY = 10; // units in flight during that warm-up
const IDLE_CONCURRENCY = 50; // connections being opened at once while filling up
const IDLE_SETTLE_MS = 1500; // ms to let the process settle before each RSS reading
const FD_RESERVE = 200; // fds kept free per process for listeners, pipes, libraries
const FDS_PER_TUNNEL = 2; // the proxy holds a client socket and an upstream socket per tunnel
const RELAY = "tls-relay"; // proxy.mitm.http of the proxy the first table measures (the seed's relay)

const TARGET_RATE_RATIO = 0.45; // tunnels/s and bulk MB/s, proxy ÷ direct (issue)
const TARGET_ADDED_P50_MS = 1.5; // ms (issue)
const TARGET_IDLE_KIB = 30; // KiB per idle tunnel (issue)

const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

const work = mkdtempSync(join(tmpdir(), "polytls-bench-"));
let exiting = false;
process.on("exit", () => {
  killAllChildren();
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    progress(`${sig}: stopping`);
    process.exit(sig === "SIGINT" ? 130 : 143);
  });
}
setTimeout(() => {
  progress(`watchdog: the run exceeded ${WATCHDOG_MS / 1000} s; giving up`);
  process.exit(1);
}, WATCHDOG_MS).unref();

function idleCount(fdLimit: number): number {
  const fit = Math.floor((fdLimit - FD_RESERVE) / FDS_PER_TUNNEL);
  if (fit < IDLE_TARGET) {
    console.log(
      `note    : ulimit -n is ${fdLimit}; ${IDLE_TARGET} idle tunnels need ~${IDLE_TARGET * 3} fds across the ` +
        `three processes, so ${Math.max(fit, 0)} are used (raise it with \`ulimit -n 4096\`)`,
    );
  }
  return Math.max(0, Math.min(IDLE_TARGET, fit));
}

const startTheProxy = (cmd: string[], originCaPath: string, mode: MitmHttpMode, name: string = mode) =>
  startModeProxy({ work, cmd, originCaPath, mode, name, timeoutMs: START_TIMEOUT_MS });

function rateRow(metric: string, d: number, p: number, digits: number): Row {
  const ratio = p / d;
  return {
    metric,
    direct: num(d, digits),
    proxy: num(p, digits),
    delta: times(ratio),
    target: `≥ ${TARGET_RATE_RATIO}×`,
    met: met(ratio >= TARGET_RATE_RATIO, ratio),
  };
}

async function main(): Promise<number> {
  const root = join(import.meta.dir, "..");
  const command = resolveProxyCommand(root, flags["proxy-cmd"]);
  if (command === null) {
    progress("no proxy to measure: neither dist/polytls nor src/cli/main.ts exists (run `make build`)");
    return 1;
  }
  const fdLimit = openFilesLimit("self");
  for (const line of machineInfo(command, fdLimit)) console.log(line);
  if (command.note) console.log(`note    : ${command.note}`);
  const idleN = idleCount(fdLimit);

  const pki = await makeOriginPki(work);
  const origin = await startOrigin(pki.leafKeyPath, pki.leafChainPath, START_TIMEOUT_MS);
  const originHttp = await startOrigin(
    pki.leafKeyPath,
    pki.leafChainPath,
    START_TIMEOUT_MS,
    "origin-http.ts",
  );
  const { proxy, caPem: proxyCaPem } = await startTheProxy(command.cmd, pki.caCertPath, RELAY);
  const { proxy: full, caPem: fullCaPem } = await startTheProxy(command.cmd, pki.caCertPath, "full");
  progress(
    `origin pid ${origin.pid} on :${origin.port}, HTTP origin pid ${originHttp.pid} on :${originHttp.port}, ` +
      `proxy (${RELAY}) pid ${proxy.pid} on :${proxy.port}, proxy (full) pid ${full.pid} on :${full.port}`,
  );
  const direct = directEndpoint(origin.port, pki.caPem);
  const viaProxy = proxyEndpoint(proxy.port, origin.port, proxyCaPem, undefined, RELAY);
  const errors = new ErrorTally();
  const http = new HttpBench({
    quick: QUICK,
    progress,
    origin: { port: originHttp.port, caPem: pki.caPem },
    full: { port: full.port, pid: full.pid, caPem: fullCaPem },
    relay: { port: proxy.port, caPem: proxyCaPem },
    startFull: async () => {
      const { proxy: p, caPem } = await startTheProxy(command.cmd, pki.caCertPath, "full", "full-idle-h2");
      return { port: p.port, pid: p.pid, caPem, stop: p.stop };
    },
    idleCount: idleN,
  });

  // 1. RSS per idle connection, first, while both servers are fresh.
  const idle = new Map<Endpoint["side"], IdleCost>();
  for (const [ep, pid] of [
    [direct, origin.pid],
    [viaProxy, proxy.pid],
  ] as const) {
    progress(`idle RSS (${ep.side}): warm-up, then ${idleN} idle connections`);
    await runUnits(ep, IDLE_WARMUP, IDLE_WARMUP_CONCURRENCY, errors);
    idle.set(ep.side, await idleRssPerConn(ep, pid, idleN, IDLE_CONCURRENCY, IDLE_SETTLE_MS, errors));
  }
  const httpIdle = await http.idle();

  // 2. Latency at concurrency 1.
  progress(`latency: ${LATENCY_ITERATIONS} sequential units per side, alternating`);
  await latencies([direct, viaProxy], LATENCY_WARMUP, errors);
  const lat = await latencies([direct, viaProxy], LATENCY_ITERATIONS, errors);

  // 3. New tunnels per second at concurrency 50, in alternating windows so background load hits both.
  const rate = new Map<Endpoint["side"], { ok: number; ms: number }>();
  for (const ep of [direct, viaProxy]) {
    progress(`tunnels/s (${ep.side}): ${RATE_WARMUP_MS} ms warm-up`);
    await unitsPerSecond(ep, RATE_CONCURRENCY, RATE_WARMUP_MS, errors);
    rate.set(ep.side, { ok: 0, ms: 0 });
  }
  for (let round = 1; round <= RATE_ROUNDS; round++) {
    for (const ep of [direct, viaProxy]) {
      progress(`tunnels/s (${ep.side}) window ${round}/${RATE_ROUNDS}: ${RATE_DURATION_MS / RATE_ROUNDS} ms`);
      const r = await unitsPerSecond(ep, RATE_CONCURRENCY, RATE_DURATION_MS / RATE_ROUNDS, errors);
      const sum = rate.get(ep.side)!;
      sum.ok += r.ok;
      sum.ms += r.elapsedMs;
    }
  }
  const perSecond = (side: Endpoint["side"]) => {
    const { ok, ms } = rate.get(side)!;
    return ok > 0 ? (ok * 1000) / ms : Number.NaN;
  };

  // 4. Bulk download over one connection.
  const bulk = new Map<Endpoint["side"], number>([
    ["direct", Number.NaN],
    [RELAY, Number.NaN],
  ]);
  for (let round = 1; round <= BULK_ROUNDS; round++) {
    for (const ep of [direct, viaProxy]) {
      progress(`bulk (${ep.side}) round ${round}/${BULK_ROUNDS}: ${BULK_BYTES / 2 ** 20} MiB`);
      const mbps = await bulkMBps(ep, BULK_BYTES, BULK_WARM_BYTES, BULK_TIMEOUT_MS, errors);
      const best = bulk.get(ep.side)!;
      if (Number.isFinite(mbps) && !(mbps <= best)) bulk.set(ep.side, mbps);
    }
  }

  // 5. The HTTP mode (second table).
  const httpRows = await http.load();

  const dLat = lat.get("direct")!;
  const pLat = lat.get(RELAY)!;
  const p50 = [percentile(dLat, 50), percentile(pLat, 50)] as const;
  const p99 = [percentile(dLat, 99), percentile(pLat, 99)] as const;
  const dIdle = idle.get("direct")!;
  const pIdle = idle.get(RELAY)!;
  const idleOk = pIdle.opened > 0 && dIdle.opened > 0;
  const rows: Row[] = [
    rateRow(
      `new tunnels/s (c=${RATE_CONCURRENCY}, ${RATE_DURATION_MS / 1000} s)`,
      perSecond("direct"),
      perSecond(RELAY),
      0,
    ),
    {
      metric: "latency p50, ms (c=1)",
      direct: num(p50[0], 2),
      proxy: num(p50[1], 2),
      delta: signed(p50[1] - p50[0], 2, "ms"),
      target: `≤ +${TARGET_ADDED_P50_MS} ms`,
      met: met(p50[1] - p50[0] <= TARGET_ADDED_P50_MS, p50[1] - p50[0]),
    },
    {
      metric: "latency p99, ms (c=1)",
      direct: num(p99[0], 2),
      proxy: num(p99[1], 2),
      delta: signed(p99[1] - p99[0], 2, "ms"),
      target: "-",
      met: "-",
    },
    rateRow(`bulk MB/s (${BULK_BYTES / 2 ** 20} MiB, 1 conn)`, bulk.get("direct")!, bulk.get(RELAY)!, 0),
    {
      metric: `RSS KiB per idle conn (${pIdle.opened})`,
      direct: idleOk ? num(dIdle.perConnKiB, 1) : "n/a",
      proxy: idleOk ? num(pIdle.perConnKiB, 1) : "n/a",
      delta: idleOk ? signed(pIdle.perConnKiB - dIdle.perConnKiB, 1, "KiB") : "n/a",
      target: `≤ ${TARGET_IDLE_KIB} KiB`,
      met: idleOk ? met(pIdle.perConnKiB <= TARGET_IDLE_KIB, pIdle.perConnKiB) : "no",
    },
    {
      metric: "errors (TLS-relay phases)",
      direct: String(errors.count("direct")),
      proxy: String(errors.count(RELAY)),
      delta: "-",
      target: "0",
      met: errors.count("direct") + errors.count(RELAY) === 0 ? "yes" : "no",
    },
  ];

  const rows2 = [...httpRows, ...http.idleRows(httpIdle, pIdle), http.errorRow()];

  await Promise.all([proxy.stop(), full.stop(), origin.stop(), originHttp.stop()]);
  console.log("");
  console.log(`TLS relay: proxy.mitm.http = "${RELAY}", origin bench/origin.ts (HTTP/1.1 only)`);
  console.log(formatTable(rows, { direct: "direct", proxy: RELAY }));
  console.log("");
  console.log(
    `direct = TLS straight to the origin; RSS direct column = origin process per idle TLS connection. ` +
      `Idle RSS: origin ${dIdle.beforeKiB}→${dIdle.afterKiB} KiB, proxy ${pIdle.beforeKiB}→${pIdle.afterKiB} KiB.`,
  );
  console.log("");
  console.log('HTTP mode: proxy.mitm.http = "full", origin bench/origin-http.ts (ALPN h2, http/1.1)');
  console.log(formatTable(rows2, { direct: "baseline", proxy: "full" }));
  console.log("");
  console.log(
    "baseline = direct to the HTTP origin (keep-alive, bulk vs direct), the tls-relay proxy to the same " +
      "origin (bulk vs tls-relay), or the tls-relay idle tunnel of the first table (idle RSS).",
  );
  console.log("");
  console.log(
    "For scale, no target: the same keep-alive loads through the tls-relay proxy, in the same alternating windows; " +
      "then all three sides again with the browser's header fields in every request (bench/browser-fields.ts), " +
      "so that the origin gets the same header fields direct and through the proxy",
  );
  console.log(formatTable(http.relayKeepAlive, { direct: "direct", proxy: "proxy" }));
  console.log("");
  for (const [name, p] of [
    [RELAY, proxy],
    ["full", full],
  ] as const) {
    const levels = [...p.levels].map(([l, n]) => `${n} ${l}`).join(", ");
    console.log(`proxy (${name}) log lines after start: ${levels || "none"}`);
    for (const line of p.problems) console.log(`  ${line}`);
  }
  for (const s of [...errors.samples(), ...http.errors.samples()]) console.log(`error   : ${s}`);

  const measured = [perSecond("direct"), perSecond(RELAY), ...p50, ...bulk.values()].every(Number.isFinite);
  const httpIdleOk = httpIdle.h1.opened > 0 && httpIdle.h2.opened > 0;
  if (!measured || !idleOk || !http.measured || !httpIdleOk) {
    progress("some metrics could not be measured (n/a above); see the errors");
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    progress(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
