/**
 * `make soak`: a bounded endurance run of the proxy (not a test, not part of `make test`). On
 * 127.0.0.1 only: an origin and the proxy as child processes, clients here. Phases:
 *   1. mix    — MIX_TOTAL tunnels, MIX_CONCURRENCY in flight, six kinds in turn: two good MITM
 *               tunnels (GET /small), a refused upstream port (502), an unknown profile (400), a bad
 *               CONNECT (405 / 400), a client leaving mid-handshake (200, half a ClientHello, gone);
 *   2. cap    — MAX_TUNNELS idle MITM tunnels (max_tunnels lowered for the run), then OVER_CAP more
 *               attempts, which must get 503; then the idle ones close and GOOD_AFTER tunnels work.
 * Prints a table with the proxy's open fds (/proc/<pid>/fd) and RSS after each phase; exits 0 when
 * every operation got the expected answer, 1 otherwise. Stops by itself (watchdog).
 *
 *   bun bench/soak.ts [--proxy-cmd "<command>"]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as tls from "node:tls";
import { parseArgs } from "node:util";
import { closeSoon, getSmall, proxyEndpoint, withTimeout } from "./client.ts";
import { killAllChildren, rssKiB, startOrigin, startProxy } from "./procs.ts";
import { makeOriginPki, resolveProxyCommand } from "./setup.ts";

const { values: flags } = parseArgs({ options: { "proxy-cmd": { type: "string" } } });

const WATCHDOG_MS = 300_000; // ms; the whole run gives up after 5 minutes
const START_TIMEOUT_MS = 30_000; // ms for origin / proxy to print their port
const MIX_TOTAL = 12_000; // tunnels in the mixed phase (issue: at least 10,000)
const MIX_CONCURRENCY = 50; // in flight during the mix
const MAX_TUNNELS = 2_000; // proxy.limits.max_tunnels for this run (issue: at least 2,000 idle)
const OVER_CAP = 500; // attempts while the proxy is full; each must get 503
const GOOD_AFTER = 200; // good tunnels once the idle ones closed
const OP_TIMEOUT_MS = 15_000; // ms per operation
const SETTLE_MS = 1_500; // ms before reading fds / RSS
const RELEASE_WAIT_MS = 15_000; // ms for the proxy's fds to come back down after the idle tunnels close
const HOST = "127.0.0.1";

const work = mkdtempSync(join(tmpdir(), "polytls-soak-"));
process.on("exit", () => {
  killAllChildren();
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));
setTimeout(() => {
  process.stderr.write("soak: watchdog expired; giving up\n");
  process.exit(1);
}, WATCHDOG_MS).unref();
const progress = (msg: string) => process.stderr.write(`soak: ${msg}\n`);

/** Sends `request` on a new connection; resolves with the status and the socket (paused). */
async function ask(port: number, request: string): Promise<{ status: number; socket: net.Socket }> {
  const s = net.connect({ host: HOST, port });
  s.on("error", () => {});
  const status = await new Promise<number>((resolve, reject) => {
    let buf = "";
    s.once("connect", () => s.write(request));
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      if (!buf.includes("\r\n\r\n")) return;
      s.pause();
      s.removeAllListeners("data");
      resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf)?.[1] ?? 0));
    });
    s.once("close", () => reject(new Error(`closed before an answer (${JSON.stringify(buf.slice(0, 40))})`)));
  });
  return { status, socket: s };
}

const connect = (authority: string, extra = "") =>
  `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${extra}\r\n`;

interface Tally {
  ok: number;
  bad: number;
  statuses: Map<number | string, number>;
  errors: Map<string, number>;
}
const tally = (): Tally => ({ ok: 0, bad: 0, statuses: new Map(), errors: new Map() });
const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);

/** Runs `op(i)` for i in [0, total) with `concurrency` in flight; each returns its status. */
async function runAll(
  total: number,
  concurrency: number,
  t: Tally,
  op: (i: number) => Promise<[number | string, boolean]>,
) {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      try {
        const [status, ok] = await withTimeout(op(i), OP_TIMEOUT_MS, "operation", () => {});
        bump(t.statuses, status);
        if (ok) t.ok++;
        else t.bad++;
      } catch (err) {
        t.bad++;
        bump(t.errors, err instanceof Error ? err.message.slice(0, 80) : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

async function main(): Promise<number> {
  const root = join(import.meta.dir, "..");
  const command = resolveProxyCommand(root, flags["proxy-cmd"]);
  if (command === null) throw new Error("no proxy to run: neither dist/polytls nor src/cli/main.ts exists");
  progress(`proxy: ${command.label}${command.note ? ` (${command.note})` : ""}`);
  const pki = await makeOriginPki(work);
  const origin = await startOrigin(pki.leafKeyPath, pki.leafChainPath, START_TIMEOUT_MS);
  const caDir = join(work, "proxy-ca");
  mkdirSync(caDir, { mode: 0o700 });
  const config = join(work, "soak.toml");
  writeFileSync(
    config,
    `[proxy.limits]\nmax_tunnels = ${MAX_TUNNELS}\nmax_tunnels_per_client = ${MAX_TUNNELS + OVER_CAP}\n`,
  );
  const proxy = await startProxy(
    command.cmd,
    [
      "run",
      "--config",
      config,
      "--listen",
      `${HOST}:0`,
      "--ca-dir",
      caDir,
      "--upstream-ca-file",
      pki.caCertPath,
      "--log-format",
      "json",
      "--log-level",
      "info",
    ],
    START_TIMEOUT_MS,
  );
  const caPem = readFileSync(join(caDir, "certificate.pem"), "utf8");
  const good = proxyEndpoint(proxy.port, origin.port, caPem);
  const refusedPort = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, HOST, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const goodTunnel = async (): Promise<[number, boolean]> => {
    const t = await good.open(() => {});
    await getSmall(t);
    closeSoon(t, 1000);
    return [200, true];
  };
  const rows: { phase: string; t: Tally | null; fds: number; rss: number }[] = [];
  const snapshot = async (phase: string, t: Tally | null) => {
    await Bun.sleep(SETTLE_MS);
    rows.push({ phase, t, fds: fdCount(proxy.pid), rss: rssKiB(proxy.pid) });
  };

  const warm = tally();
  await runAll(50, 10, warm, goodTunnel);
  await snapshot("start (after 50 warm-up tunnels)", warm);

  progress(`mix: ${MIX_TOTAL} tunnels, ${MIX_CONCURRENCY} in flight`);
  const mix = tally();
  const hello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
  await runAll(MIX_TOTAL, MIX_CONCURRENCY, mix, async (i) => {
    const kind = i % 6;
    if (kind <= 1) return goodTunnel();
    const req =
      kind === 2
        ? connect(`${HOST}:${refusedPort}`)
        : kind === 3
          ? connect(`localhost:${origin.port}`, "X-PolyTLS-Upstream-Profile: no-such-profile\r\n")
          : kind === 4
            ? i % 12 === 4
              ? "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
              : "CONNECT no-port-here HTTP/1.1\r\n\r\n"
            : connect(`localhost:${origin.port}`);
    const { status, socket } = await ask(proxy.port, req);
    if (kind === 5 && status === 200) socket.write(hello); // leaves in the middle of its handshake
    socket.destroy();
    const want = kind === 2 ? [502] : kind === 3 ? [400] : kind === 4 ? [400, 405] : [200];
    return [status, want.includes(status)];
  });
  await snapshot(`mix (${MIX_TOTAL} tunnels)`, mix);

  progress(`cap: ${MAX_TUNNELS} idle tunnels, then ${OVER_CAP} more`);
  const idle: tls.TLSSocket[] = [];
  const fill = tally();
  await runAll(MAX_TUNNELS, MIX_CONCURRENCY, fill, async () => {
    const t = await good.open(() => {});
    t.on("error", () => {});
    idle.push(t);
    return [200, true];
  });
  const over = tally();
  await runAll(OVER_CAP, MIX_CONCURRENCY, over, async () => {
    const { status, socket } = await ask(proxy.port, connect(`localhost:${origin.port}`));
    socket.destroy();
    return [status, status === 503];
  });
  await snapshot(`cap: ${MAX_TUNNELS} idle open`, fill);
  rows.push({
    phase: `cap: ${OVER_CAP} over the cap`,
    t: over,
    fds: fdCount(proxy.pid),
    rss: rssKiB(proxy.pid),
  });
  for (const t of idle) t.destroy();
  const base = rows[0]?.fds ?? 0;
  for (let waited = 0; fdCount(proxy.pid) > base + 20 && waited < RELEASE_WAIT_MS; waited += 100)
    await Bun.sleep(100);
  const after = tally();
  await runAll(GOOD_AFTER, 10, after, goodTunnel);
  await snapshot(`after: idle closed, ${GOOD_AFTER} good`, after);

  await proxy.stop();
  await origin.stop();
  const cols = ["phase", "ok", "unexpected", "answers", "proxy fds", "proxy RSS MiB"];
  const table = rows.map((r) => [
    r.phase,
    r.t ? String(r.t.ok) : "-",
    r.t ? String(r.t.bad) : "-",
    r.t ? [...r.t.statuses].map(([s, n]) => `${s}×${n}`).join(" ") : "-",
    String(r.fds),
    (r.rss / 1024).toFixed(1),
  ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...table.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(
    [line(cols), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...table.map(line)].join("\n"),
  );
  const levels = [...proxy.levels].map(([l, n]) => `${n} ${l}`).join(", ");
  console.log(`proxy log lines after start: ${levels}`);
  const stopped = proxy.tail().find((l) => l.includes('"msg":"stopped"'));
  if (stopped) console.log(`proxy stop: ${stopped}`);
  const all = [warm, mix, fill, over, after];
  for (const t of all) for (const [e, n] of t.errors) console.log(`error ×${n}: ${e}`);
  return all.every((t) => t.bad === 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    progress(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
