/**
 * Bulk download through the proxy (not part of `make bench`): 256 MiB (default) fetched by an
 * HTTP/1.1 client from the HTTP/2 bench origin through full HTTP mode, against the TLS relay,
 * in alternating rounds; prints the best MB/s of each and the proxy's CPU ms per MiB (from /proc,
 * steadier than rates on a shared box). Several full-mode commands can be compared at once.
 *
 *   bun bench/micro/response-bulk.ts [--mib N] [--rounds N] [--proxy-cmd "<cmd>"]...
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { H1_ALPN, proxyEndpoint } from "../client.ts";
import { bulkMBps, ErrorTally } from "../measure.ts";
import { cpuMs, killAllChildren, startModeProxy, startOrigin } from "../procs.ts";
import { makeOriginPki, resolveProxyCommand } from "../setup.ts";

const { values: f } = parseArgs({
  options: {
    mib: { type: "string", default: "256" },
    rounds: { type: "string", default: "3" },
    "proxy-cmd": { type: "string", multiple: true },
  },
});
const work = mkdtempSync(join(tmpdir(), "polytls-bulk-"));
process.on("exit", () => {
  killAllChildren();
  rmSync(work, { recursive: true, force: true });
});
process.on("SIGINT", () => process.exit(130));

const root = join(import.meta.dir, "..", "..");
const cmds = f["proxy-cmd"] ?? [undefined];
const pki = await makeOriginPki(work);
const origin = await startOrigin(pki.leafKeyPath, pki.leafChainPath, 30_000, "origin-http.ts");
const stops: (() => Promise<void>)[] = [origin.stop];
const sides: {
  label: string;
  ep: ReturnType<typeof proxyEndpoint>;
  pid: number;
  best: number;
  cpu: number;
}[] = [];
for (const [i, c] of [[-1, cmds[0]] as const, ...cmds.map((c, i) => [i, c] as const)]) {
  const command = resolveProxyCommand(root, c);
  if (command === null) throw new Error("no proxy command (run `make build`)");
  const mode = i < 0 ? "tls-relay" : "full";
  const { proxy, caPem } = await startModeProxy({
    work,
    cmd: command.cmd,
    originCaPath: pki.caCertPath,
    mode,
    name: `${mode}${i}`,
    timeoutMs: 30_000,
  });
  stops.push(proxy.stop);
  const ep = proxyEndpoint(proxy.port, origin.port, caPem, H1_ALPN, mode);
  sides.push({ label: i < 0 ? "tls-relay" : `full #${i}`, ep, pid: proxy.pid, best: 0, cpu: 0 });
}
const errors = new ErrorTally();
const bytes = Number(f.mib) * 2 ** 20;
for (let round = 0; round < Number(f.rounds); round++) {
  for (const s of sides) {
    const before = cpuMs(s.pid);
    const mbps = await bulkMBps(s.ep, bytes, 16 * 2 ** 20, 60_000, errors);
    s.cpu += cpuMs(s.pid) - before;
    if (mbps > s.best) s.best = mbps;
  }
}
const relay = sides[0]?.best ?? Number.NaN;
for (const s of sides) {
  const perMiB = s.cpu / ((Number(f.rounds) * (bytes + 16 * 2 ** 20)) / 2 ** 20);
  console.log(
    `${s.label.padEnd(10)} ${s.best.toFixed(0).padStart(6)} MB/s  ${(s.best / relay).toFixed(2)}× relay  proxy CPU ${perMiB.toFixed(2)} ms/MiB`,
  );
}
await Promise.all(stops.map((stop) => stop()));
process.exit(0);
