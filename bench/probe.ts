/**
 * A focused probe for one keep-alive load (not part of `make bench`): starts the HTTP origin and
 * proxies, runs one load against direct and each proxy mode in alternating windows, and prints
 * requests/s, the ratio to direct and each proxy's CPU time per request (utime + stime from
 * /proc/<pid>/stat over the measured windows). For profiling, `--hold` keeps the load running on the
 * full proxy until interrupted and prints its pid first.
 *
 *   bun bench/probe.ts [--proto h1|h2] [--conns N] [--streams N] [--windows N] [--ms N]
 *                      [--modes full,tls-relay] [--proxy-cmd "<command>"] [--hold]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { directEndpoint, type Endpoint, H1_ALPN, H2_ALPN, proxyEndpoint } from "./client.ts";
import { KeepAliveLoad, type Protocol } from "./keepalive.ts";
import { ErrorTally } from "./measure.ts";
import { cpuMs, killAllChildren, type MitmHttpMode, startModeProxy, startOrigin } from "./procs.ts";
import { makeOriginPki, resolveProxyCommand } from "./setup.ts";

const { values: f } = parseArgs({
  options: {
    proto: { type: "string", default: "h1" },
    conns: { type: "string", default: "1" },
    streams: { type: "string" },
    windows: { type: "string", default: "4" },
    ms: { type: "string", default: "1000" },
    modes: { type: "string", default: "full" },
    "proxy-cmd": { type: "string" },
    hold: { type: "boolean", default: false },
  },
});
const protocol = f.proto as Protocol;
const conns = Number(f.conns);
const streams = Number(f.streams ?? (protocol === "h2" ? 32 : 1));
const windows = Number(f.windows);
const windowMs = Number(f.ms);
const modes = String(f.modes).split(",") as MitmHttpMode[];
const work = mkdtempSync(join(tmpdir(), "polytls-probe-"));
process.on("exit", () => {
  killAllChildren();
  rmSync(work, { recursive: true, force: true });
});
process.on("SIGINT", () => process.exit(130));

const root = join(import.meta.dir, "..");
const command = resolveProxyCommand(root, f["proxy-cmd"]);
if (command === null) throw new Error("no proxy command (run `make build`)");
const pki = await makeOriginPki(work);
const origin = await startOrigin(pki.leafKeyPath, pki.leafChainPath, 30_000, "origin-http.ts");
const alpn = protocol === "h2" ? H2_ALPN : H1_ALPN;
const sides: { ep: Endpoint; pid: number | null; load?: KeepAliveLoad; cpu: number; originCpu: number }[] = [
  { ep: directEndpoint(origin.port, pki.caPem, alpn), pid: null, cpu: 0, originCpu: 0 },
];
const stops: (() => Promise<void>)[] = [origin.stop];
for (const mode of modes) {
  const { proxy, caPem } = await startModeProxy({
    work,
    cmd: command.cmd,
    originCaPath: pki.caCertPath,
    mode,
    name: mode,
    timeoutMs: 30_000,
  });
  stops.push(proxy.stop);
  sides.push({
    ep: proxyEndpoint(proxy.port, origin.port, caPem, alpn, mode),
    pid: proxy.pid,
    cpu: 0,
    originCpu: 0,
  });
}
const errors = new ErrorTally();
const spec = { protocol, conns, streams };
for (const s of sides) s.load = new KeepAliveLoad(s.ep, spec, errors);

if (f.hold) {
  const s = sides[1]!;
  console.log(`holding load on ${s.ep.side}, proxy pid ${s.pid}, origin pid ${origin.pid}`);
  for (;;) await s.load!.window(1000);
}
for (const s of sides) await s.load!.window(500, true);
for (let w = 0; w < windows; w++) {
  for (const s of sides) {
    const before = s.pid === null ? 0 : cpuMs(s.pid);
    const originBefore = cpuMs(origin.pid);
    await s.load!.window(windowMs);
    if (s.pid !== null) s.cpu += cpuMs(s.pid) - before;
    s.originCpu += cpuMs(origin.pid) - originBefore;
  }
}
const direct = sides[0]!.load!.perSecond;
for (const s of sides) {
  const l = s.load!;
  const originPerReq = `  origin CPU ${((s.originCpu * 1000) / l.ok).toFixed(1)} µs/request`;
  const perReq = `${originPerReq}${s.pid === null ? "" : `  proxy CPU ${((s.cpu * 1000) / l.ok).toFixed(1)} µs/request`}`;
  console.log(
    `${s.ep.side.padEnd(10)} ${l.perSecond.toFixed(0).padStart(7)} req/s  ${(l.perSecond / direct).toFixed(2)}×${perReq}`,
  );
  l.close();
}
if (errors.count("direct") + modes.reduce((n, m) => n + errors.count(m), 0) > 0) {
  console.log(`errors: ${JSON.stringify(modes.map((m) => [m, errors.count(m)]))}`);
}
await Promise.all(stops.map((stop) => stop())); // a graceful stop lets a profiler write its output
process.exit(0);
