/**
 * A focused probe for one keep-alive load (not part of `make bench`): starts the HTTP origin and
 * proxies, runs one load against direct and each proxy mode in alternating windows (after `--warm`
 * ms of unmeasured load per side, 3000 by default, as `make bench`), and prints
 * requests/s, the ratio to direct and, per request, the CPU time of this process (the clients), of
 * the origin and of each proxy (utime + stime from /proc/<pid>/stat over the measured windows),
 * and the idle time of all cores (/proc/stat): where a ratio is lost to scheduling rather than to
 * work shows as idle. `--syscalls` also counts the system calls of each proxy and of the origin
 * per request (`perf stat`). `--browser-headers` sends every request, direct and through the
 * proxy, with the header fields the proxy sends the origin (bench/browser-fields.ts): the origin
 * then gets the same header fields on both paths (over HTTP/1.1 direct and HTTP/2 from the proxy
 * on the HTTP/1.1 loads). `--syscalls` runs `perf stat` on the proxy and the origin during every
 * window, direct ones included: read its rates as perturbed. For profiling, `--hold` keeps the load running on
 * the full proxy until interrupted and prints its pid first.
 *
 *   bun bench/probe.ts [--proto h1|h2] [--conns N] [--streams N] [--windows N] [--ms N] [--warm MS]
 *                      [--modes full,tls-relay] [--proxy-cmd "<command>"] [--hold] [--syscalls]
 *                      [--browser-headers]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { browserFields } from "./browser-fields.ts";
import { directEndpoint, type Endpoint, H1_ALPN, H2_ALPN, proxyEndpoint } from "./client.ts";
import { KeepAliveLoad, type Protocol } from "./keepalive.ts";
import { ErrorTally } from "./measure.ts";
import {
  CLOCK_TICKS_PER_S,
  cpuMs,
  killAllChildren,
  type MitmHttpMode,
  startModeProxy,
  startOrigin,
} from "./procs.ts";
import { makeOriginPki, resolveProxyCommand } from "./setup.ts";

const { values: f } = parseArgs({
  options: {
    proto: { type: "string", default: "h1" },
    conns: { type: "string", default: "1" },
    streams: { type: "string" },
    windows: { type: "string", default: "4" },
    ms: { type: "string", default: "1000" },
    warm: { type: "string", default: "3000" },
    modes: { type: "string", default: "full" },
    "proxy-cmd": { type: "string" },
    hold: { type: "boolean", default: false },
    syscalls: { type: "boolean", default: false },
    "browser-headers": { type: "boolean", default: false },
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
interface Side {
  ep: Endpoint;
  pid: number | null;
  load?: KeepAliveLoad;
  cpu: number;
  originCpu: number;
  clientCpu: number;
  idleMs: number;
  syscalls: number;
  originSyscalls: number;
}
/** A side with every counter at zero. */
function newSide(ep: Endpoint, pid: number | null): Side {
  return { ep, pid, cpu: 0, originCpu: 0, clientCpu: 0, idleMs: 0, syscalls: 0, originSyscalls: 0 };
}
const sides: Side[] = [newSide(directEndpoint(origin.port, pki.caPem, alpn), null)];
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
  sides.push(newSide(proxyEndpoint(proxy.port, origin.port, caPem, alpn, mode), proxy.pid));
}
const errors = new ErrorTally();
const extraFields = f["browser-headers"] ? browserFields(`localhost:${origin.port}`) : [];
const spec = { protocol, conns, streams, extraFields };
for (const s of sides) s.load = new KeepAliveLoad(s.ep, spec, errors);

if (f.hold) {
  const s = sides[1]!;
  console.log(`holding load on ${s.ep.side}, proxy pid ${s.pid}, origin pid ${origin.pid}`);
  for (;;) await s.load!.window(1000);
}
for (const s of sides) await s.load!.window(Number(f.warm), true);
for (let w = 0; w < windows; w++) {
  for (const s of sides) {
    const before = s.pid === null ? 0 : cpuMs(s.pid);
    const calls = s.pid === null || !f.syscalls ? null : countSyscalls(s.pid, windowMs);
    const originCalls = f.syscalls ? countSyscalls(origin.pid, windowMs) : null;
    const originBefore = cpuMs(origin.pid);
    const clientBefore = cpuMs(process.pid);
    const idleBefore = idleCpuMs();
    await s.load!.window(windowMs);
    if (s.pid !== null) s.cpu += cpuMs(s.pid) - before;
    if (calls !== null) s.syscalls += await calls;
    if (originCalls !== null) s.originSyscalls += await originCalls;
    s.originCpu += cpuMs(origin.pid) - originBefore;
    s.clientCpu += cpuMs(process.pid) - clientBefore;
    s.idleMs += idleCpuMs() - idleBefore;
  }
}
const direct = sides[0]!.load!.perSecond;
console.log("CPU µs per request: client (this process), idle (all cores), origin, proxy");
for (const s of sides) {
  const l = s.load!;
  const clientPerReq = `  client ${((s.clientCpu * 1000) / l.ok).toFixed(1)}  idle ${((s.idleMs * 1000) / l.ok).toFixed(1)}`;
  const originCalls = f.syscalls ? `, ${(s.originSyscalls / l.ok).toFixed(2)} syscalls/request` : "";
  const originPerReq = `${clientPerReq}  origin CPU ${((s.originCpu * 1000) / l.ok).toFixed(1)} µs/request${originCalls}`;
  const perReq = `${originPerReq}${s.pid === null ? "" : `  proxy CPU ${((s.cpu * 1000) / l.ok).toFixed(1)} µs/request${f.syscalls ? `, ${(s.syscalls / l.ok).toFixed(2)} syscalls/request` : ""}`}`;
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

/** Idle time of all cores in ms (the `cpu` line of /proc/stat: idle + iowait). */
function idleCpuMs(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  return ((Number(cpu[4]) + Number(cpu[5])) * 1000) / CLOCK_TICKS_PER_S;
}

/** System calls `pid` makes in the next `ms` (`perf stat` on raw_syscalls:sys_enter; needs perf). */
async function countSyscalls(pid: number, ms: number): Promise<number> {
  const p = Bun.spawn(
    [
      "perf",
      "stat",
      "-x,",
      "-e",
      "raw_syscalls:sys_enter",
      "-p",
      String(pid),
      "--",
      "sleep",
      String(ms / 1000),
    ],
    {
      stdout: "ignore",
      stderr: "pipe",
    },
  );
  const text = await new Response(p.stderr).text();
  await p.exited;
  const n = Number(text.trim().split("\n").at(-1)?.split(",")[0]);
  if (!Number.isFinite(n)) throw new Error(`perf stat gave no syscall count: ${text.trim()}`);
  return n;
}
