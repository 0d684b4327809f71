/**
 * VmRSS per idle tunnel of a proxy run as its own process, measured as `make bench` does
 * (bench/run-http.ts idle(): warm-up, then N tunnels each with one GET /small, left idle), for
 * one source tree: compare a change against another checkout with `--root`.
 *
 *   bun bench/micro/idle-rss.ts [--root DIR|EXECUTABLE[,...]] [--runs 1] [--n 1000] [--proto h1|h2] [--mode full|tls-relay]
 *
 * With several roots and runs, the roots alternate (a fresh proxy each run) and the median per
 * root is printed last: single readings move by several KiB with the collector's timing.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as tls from "node:tls";
import { getSmall, H1_ALPN, H2_ALPN, proxyEndpoint } from "../client.ts";
import { h2FirstRequest } from "../h2-client.ts";
import { ErrorTally, idleRssPerConn, runUnits } from "../measure.ts";
import { killAllChildren, type MitmHttpMode, startModeProxy, startOrigin } from "../procs.ts";
import { makeOriginPki } from "../setup.ts";

const START_TIMEOUT_MS = 15_000; // ms for the origin and the proxy to start
const WARMUP = 100; // tunnels run and closed before the baseline (as bench/run-http.ts)
const CONCURRENCY = 50; // tunnels being opened at once (as bench/run-http.ts)
const SETTLE_MS = 1500; // ms before each reading (as bench/run-http.ts)

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const roots = flag("root", new URL("../..", import.meta.url).pathname).split(",");
const runs = Number(flag("runs", "1"));
const n = Number(flag("n", "1000"));
const proto = flag("proto", "h1");
const mode = flag("mode", "full") as MitmHttpMode;

async function once(root: string, work: string, name: string): Promise<number> {
  const pki = await makeOriginPki(join(work, name));
  const origin = await startOrigin(pki.leafKeyPath, pki.leafChainPath, START_TIMEOUT_MS, "origin-http.ts");
  const { proxy, caPem } = await startModeProxy({
    work: join(work, name),
    // A root that is a file is a built executable (dist/polytls), as `make bench` runs it.
    cmd: statSync(root).isFile() ? [root] : [process.execPath, join(root, "src/cli/main.ts")],
    originCaPath: pki.caCertPath,
    mode,
    name: mode,
    timeoutMs: START_TIMEOUT_MS,
  });
  try {
    const h2 = proto === "h2";
    const ep = proxyEndpoint(proxy.port, origin.port, caPem, h2 ? H2_ALPN : H1_ALPN, mode);
    const errors = new ErrorTally();
    const use = h2 ? (t: tls.TLSSocket) => h2FirstRequest(t, ep.authority) : getSmall;
    if (h2) {
      for (let i = 0; i < WARMUP; i++) {
        const t = await ep.open(() => {});
        (await h2FirstRequest(t, ep.authority)).close();
        t.destroy();
      }
    } else {
      await runUnits(ep, WARMUP, 10, errors);
    }
    const cost = await idleRssPerConn(ep, proxy.pid, n, CONCURRENCY, SETTLE_MS, errors, use);
    console.log(
      `${root} ${mode} ${proto}: ${cost.opened} tunnels, RSS ${cost.beforeKiB} -> ${cost.afterKiB} KiB, ` +
        `${cost.perConnKiB.toFixed(1)} KiB per tunnel, errors ${errors.count(mode)}`,
    );
    return cost.perConnKiB;
  } finally {
    await proxy.stop();
    await origin.stop();
  }
}

const work = mkdtempSync(join(tmpdir(), "polytls-idle-rss-"));
try {
  const results = new Map<string, number[]>(roots.map((r) => [r, []]));
  for (let i = 0; i < runs; i++) {
    for (const [j, root] of roots.entries()) {
      const dir = `run-${i}-${j}`;
      mkdirSync(join(work, dir));
      results.get(root)!.push(await once(root, work, dir));
    }
  }
  for (const [root, xs] of results) {
    const sorted = [...xs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `median ${root}: ${median.toFixed(1)} KiB per tunnel (${xs.map((x) => x.toFixed(1)).join(", ")})`,
    );
  }
} finally {
  killAllChildren();
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
