/**
 * Idle memory per tunnel, by object kind: runs the proxy in this process (src/cli/serve.ts, full
 * config as `polytls run` builds it), the HTTP origin and the clients in child processes, then
 * opens N tunnels (CONNECT + TLS to the minted leaf + one GET /small, HTTP/1.1 or HTTP/2 client)
 * and leaves them idle. Reports per tunnel: VmRSS growth, live JS heap growth after
 * `Bun.gc(true)`, JSC's extra (native-backed) memory, and the object types that grow
 * (`bun:jsc` heapStats objectTypeCounts before/after).
 *
 *   bun bench/micro/idle-heap.ts [--n 1000] [--proto h1|h2] [--mode full|tls-relay] [--top 40] [--snap] [--dump FILE]
 *                               [--root OTHER_CHECKOUT]
 *
 * --snap also diffs two heap snapshots by node type and name (closures by function name); the
 * snapshots themselves cost memory, so read VmRSS from a run without it. --dump writes the
 * snapshot taken with the tunnels open (V8 format) for a retainer analysis.
 *
 * Not part of `make test` or `make bench`.
 */

import { dlopen, FFIType, ptr } from "bun:ffi";
import { heapStats } from "bun:jsc";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type * as tls from "node:tls";
import type * as Options from "../../src/cli/options.ts";
import type * as Serve from "../../src/cli/serve.ts";
import type * as Log from "../../src/log/logger.ts";
import { getSmall, H1_ALPN, H2_ALPN, proxyEndpoint } from "../client.ts";
import { h2FirstRequest } from "../h2-client.ts";
import { ErrorTally, runUnits } from "../measure.ts";
import { killAllChildren, rssKiB, startOrigin } from "../procs.ts";
import { makeOriginPki } from "../setup.ts";

const START_TIMEOUT_MS = 15_000; // ms for the origin to print its port
const SETTLE_MS = 1500; // ms to let timers and the kernel settle before each reading
const WARMUP = 100; // tunnels run and closed before the baseline (JIT, pools, leaf cache)
const CONCURRENCY = 50; // tunnels being opened at once (as bench/run-http.ts)

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** The client child: warm-up, then opens `n` tunnels on "go" and keeps them until stdin closes. */
async function clientRole(): Promise<void> {
  const [, , , proxyPort, originPort, caPem64, proto, nText] = process.argv;
  const caPem = Buffer.from(caPem64!, "base64").toString("utf8");
  const h2 = proto === "h2";
  const ep = proxyEndpoint(Number(proxyPort), Number(originPort), caPem, h2 ? H2_ALPN : H1_ALPN, "full");
  const use = h2 ? (t: tls.TLSSocket) => h2FirstRequest(t, ep.authority) : getSmall;
  const errors = new ErrorTally();
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  if (h2) {
    for (let i = 0; i < WARMUP; i++) {
      const t = await ep.open(() => {});
      const s = await use(t);
      (s as { close?: () => void } | undefined)?.close?.();
      t.destroy();
    }
  } else {
    await runUnits(ep, WARMUP, 10, errors);
  }
  console.log("warm");
  await lines.next();
  const kept: unknown[] = [];
  let next = 0;
  const n = Number(nText);
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        const t = await ep.open(() => {});
        kept.push(t, await use(t));
      } catch (err) {
        errors.add("full", err);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  console.log(`open ${n - errors.count("full")} ${errors.samples().join("; ")}`);
  await lines.next();
  process.exit(0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Node count and self size per "type name" of a V8-format heap snapshot (names the closures). */
function namedNodes(): Map<string, { n: number; bytes: number }> {
  const snap = JSON.parse(Bun.generateHeapSnapshot("v8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const out = new Map<string, { n: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = snap.snapshot.meta.node_types[0][snap.nodes[i + typeAt!]!];
    const key = `${type} ${snap.strings[snap.nodes[i + nameAt!]!]?.slice(0, 60)}`;
    const e = out.get(key) ?? { n: 0, bytes: 0 };
    e.n += 1;
    e.bytes += snap.nodes[i + sizeAt!]!;
    out.set(key, e);
  }
  return out;
}

const libc = dlopen("libc.so.6", {
  fopen: { args: [FFIType.cstring, FFIType.cstring], returns: FFIType.ptr },
  fclose: { args: [FFIType.ptr], returns: FFIType.i32 },
  malloc_info: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
});

/**
 * Bytes in use in glibc's malloc (BoringSSL and the Rust side of libpolyboring allocate there;
 * Bun's own allocations go to mimalloc): the arenas' size less their free chunks, plus mmapped
 * chunks, from malloc_info(3) (a struct-free interface bun:ffi can call).
 */
function glibcInUse(file: string): number {
  const cstr = (s: string) => ptr(Buffer.from(`${s}\0`));
  const fp = libc.symbols.fopen(cstr(file), cstr("w"));
  if (fp === null) return Number.NaN;
  libc.symbols.malloc_info(0, fp);
  libc.symbols.fclose(fp);
  const xml = readFileSync(file, "utf8");
  const tail = xml.slice(xml.lastIndexOf("</heap>"));
  const total = (type: string) =>
    Number(new RegExp(`<total type="${type}" count="\\d+" size="(\\d+)"`).exec(tail)?.[1]);
  const current = Number(/<system type="current" size="(\d+)"/.exec(tail)?.[1]);
  return current - total("fast") - total("rest") + total("mmap");
}

function snapshot(named: boolean, work: string) {
  Bun.gc(true);
  Bun.gc(true);
  const s = heapStats();
  const rss = rssKiB(process.pid);
  return {
    rss,
    glibc: glibcInUse(join(work, "malloc-info.xml")),
    heap: s.heapSize,
    capacity: s.heapCapacity,
    extra: s.extraMemorySize,
    types: s.objectTypeCounts,
    named: named ? namedNodes() : null,
  };
}

function nextLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", (l) => {
      rl.close();
      resolve(l);
    });
    child.once("exit", (c) => reject(new Error(`client exited (${c})`)));
  });
}

async function main(): Promise<void> {
  const n = Number(flag("n", "1000"));
  const proto = flag("proto", "h1");
  const mode = flag("mode", "full");
  const top = Number(flag("top", "40"));
  const snap = process.argv.includes("--snap");
  const work = mkdtempSync(join(tmpdir(), "polytls-idle-"));
  try {
    const pki = await makeOriginPki(work);
    const origin = await startOrigin(pki.leafKeyPath, pki.leafChainPath, START_TIMEOUT_MS, "origin-http.ts");
    const config = join(work, "proxy.toml");
    writeFileSync(config, `[proxy.mitm]\nhttp = "${mode}"\n`);
    // The proxy's source tree: this one, or another checkout (--root) to compare against.
    const root = flag("root", new URL("../..", import.meta.url).pathname);
    const { configFromFlags } = (await import(join(root, "src/cli/options.ts"))) as typeof Options;
    const { startProxy } = (await import(join(root, "src/cli/serve.ts"))) as typeof Serve;
    const { createLogger } = (await import(join(root, "src/log/logger.ts"))) as typeof Log;
    const proxyConfig = configFromFlags({
      config,
      listen: "127.0.0.1:0",
      "ca-dir": join(work, "proxy-ca"),
      "upstream-ca-file": pki.caCertPath,
      "log-level": "warn",
    });
    const running = await startProxy(proxyConfig, createLogger({ level: "warn", format: "json" }));
    if (running.ca === null) throw new Error("the proxy under test is not in MITM mode");
    const caPem64 = Buffer.from(running.ca.certPem).toString("base64");
    const args = [import.meta.path, "client", String(running.address.port), String(origin.port), caPem64];
    const child = spawn(process.execPath, [...args, proto, String(n)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    await nextLine(child); // "warm"
    // The warm-up tunnels must be gone (clients close with a grace period) before the baseline.
    for (let i = 0; i < 100 && running.server.activeTunnels > 0; i++) await sleep(100);
    await sleep(SETTLE_MS);
    const before = snapshot(snap, work);
    child.stdin!.write("go\n");
    const opened = await nextLine(child);
    await sleep(SETTLE_MS);
    const after = snapshot(snap, work);
    const dump = flag("dump", "");
    if (dump !== "") writeFileSync(dump, Bun.generateHeapSnapshot("v8"));
    const open = Number(opened.split(" ")[1]);
    const per = (a: number, b: number) => ((b - a) / Math.max(1, open)).toFixed(2);
    console.log(`mode ${mode}, ${proto} client: ${opened}; active tunnels ${running.server.activeTunnels}`);
    console.log(`VmRSS    KiB/tunnel ${per(before.rss, after.rss)}`);
    console.log(`JS heap  KiB/tunnel ${per(before.heap / 1024, after.heap / 1024)}`);
    console.log(
      `capacity KiB/tunnel ${per(before.capacity / 1024, after.capacity / 1024)} (JSC heap capacity)`,
    );
    console.log(
      `glibc    KiB/tunnel ${per(before.glibc / 1024, after.glibc / 1024)} (malloc in use: BoringSSL, Rust)`,
    );
    console.log(`extra    KiB/tunnel ${per(before.extra / 1024, after.extra / 1024)} (JSC extraMemorySize)`);
    const grown: [string, number][] = [];
    let total = 0;
    for (const [type, count] of Object.entries(after.types)) {
      const d = count - (before.types[type] ?? 0);
      if (d !== 0) grown.push([type, d / Math.max(1, open)]);
      total += d;
    }
    grown.sort((a, b) => b[1] - a[1]);
    console.log(`objects  per tunnel ${(total / Math.max(1, open)).toFixed(1)}`);
    for (const [type, d] of grown.slice(0, top)) console.log(`  ${d.toFixed(2).padStart(8)}  ${type}`);
    if (before.named && after.named) {
      const rows: [string, number, number][] = [];
      for (const [k, a] of after.named) {
        const b = before.named.get(k) ?? { n: 0, bytes: 0 };
        if (a.n !== b.n)
          rows.push([k, (a.n - b.n) / Math.max(1, open), (a.bytes - b.bytes) / Math.max(1, open)]);
      }
      rows.sort((x, y) => y[2] - x[2]);
      console.log("snapshot nodes per tunnel (count, bytes), by type and name:");
      for (const [k, c, b] of rows.slice(0, top))
        console.log(`  ${c.toFixed(2).padStart(7)} ${b.toFixed(0).padStart(6)}  ${k}`);
    }
    child.stdin!.end();
    await running.stop();
    await origin.stop();
  } finally {
    killAllChildren();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "client") await clientRole();
else await main();
process.exit(0);
