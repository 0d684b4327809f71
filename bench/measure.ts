/**
 * The four measurements, each run the same way against a direct Endpoint and the proxy Endpoint.
 * Every operation has a timeout, every loop a bound, and every failure is counted in an ErrorTally.
 */
import type * as net from "node:net";
import type * as tls from "node:tls";
import { closeSoon, type Endpoint, getBulk, getSmall, withTimeout } from "./client.ts";
import { rssKiB } from "./procs.ts";

const OP_TIMEOUT_MS = 10_000; // ms; one handshake + small GET, far above the worst loaded case seen
const CLOSE_GRACE_MS = 2000; // ms a closed client socket may wait for the peer's FIN before being destroyed
const MAX_SAMPLES_PER_KIND = 3; // distinct error messages remembered per side

export class ErrorTally {
  readonly #count = new Map<string, number>();
  readonly #samples = new Map<string, number>();

  add(side: Endpoint["side"], err: unknown): void {
    this.#count.set(side, this.count(side) + 1);
    const key = `${side}: ${err instanceof Error ? err.message : String(err)}`;
    const sameSide = [...this.#samples.keys()].filter((k) => k.startsWith(`${side}: `)).length;
    if (this.#samples.has(key) || sameSide < MAX_SAMPLES_PER_KIND) {
      this.#samples.set(key, (this.#samples.get(key) ?? 0) + 1);
    }
  }

  count(side: Endpoint["side"]): number {
    return this.#count.get(side) ?? 0;
  }

  samples(): string[] {
    return [...this.#samples].map(([k, n]) => `${k} (×${n})`);
  }
}

/** Opens a connection and runs `work` on it, all within OP_TIMEOUT_MS; destroys everything on failure. */
async function withConnection<T>(
  ep: Endpoint,
  what: string,
  work: (t: tls.TLSSocket) => Promise<T>,
): Promise<T> {
  const sockets: net.Socket[] = [];
  const destroyAll = () => {
    for (const s of sockets) s.destroy();
  };
  try {
    return await withTimeout(
      ep.open((s) => sockets.push(s)).then(work),
      OP_TIMEOUT_MS,
      `${ep.side} ${what}`,
      destroyAll,
    );
  } catch (err) {
    destroyAll();
    throw err;
  }
}

/** One unit of work: (CONNECT +) TLS handshake + GET /small + close. Resolves with its duration in ms. */
export async function oneUnit(ep: Endpoint): Promise<number> {
  const start = performance.now();
  await withConnection(ep, "handshake+GET", async (t) => {
    await getSmall(t);
    closeSoon(t, CLOSE_GRACE_MS);
  });
  return performance.now() - start;
}

export interface Rate {
  ok: number;
  elapsedMs: number;
  perSecond: number;
}

/** Runs `concurrency` loops of oneUnit for `durationMs`; units started before the end all finish. */
export async function unitsPerSecond(
  ep: Endpoint,
  concurrency: number,
  durationMs: number,
  errors: ErrorTally,
): Promise<Rate> {
  const start = performance.now();
  const end = start + durationMs;
  let ok = 0;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        await oneUnit(ep);
        ok++;
      } catch (err) {
        errors.add(ep.side, err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - start;
  return { ok, elapsedMs, perSecond: (ok * 1000) / elapsedMs };
}

/** Runs `count` units, `concurrency` at a time (warm-up); failures are counted. */
export async function runUnits(
  ep: Endpoint,
  count: number,
  concurrency: number,
  errors: ErrorTally,
): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      try {
        await oneUnit(ep);
      } catch (err) {
        errors.add(ep.side, err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Sequential units alternating between the endpoints (so drift hits both alike); durations in ms. */
export async function latencies(
  eps: Endpoint[],
  iterations: number,
  errors: ErrorTally,
): Promise<Map<Endpoint["side"], number[]>> {
  const out = new Map<Endpoint["side"], number[]>(eps.map((e) => [e.side, []]));
  for (let i = 0; i < iterations; i++) {
    for (const ep of eps) {
      try {
        out.get(ep.side)!.push(await oneUnit(ep));
      } catch (err) {
        errors.add(ep.side, err);
      }
    }
  }
  return out;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Downloads `bytes` over one connection (after a `warmBytes` download on it); MB/s (10^6 bytes/s). */
export async function bulkMBps(
  ep: Endpoint,
  bytes: number,
  warmBytes: number,
  timeoutMs: number,
  errors: ErrorTally,
): Promise<number> {
  const sockets: net.Socket[] = [];
  const destroyAll = () => {
    for (const s of sockets) s.destroy();
  };
  try {
    const t = await withTimeout(
      ep.open((s) => sockets.push(s)),
      OP_TIMEOUT_MS,
      `${ep.side} open`,
      destroyAll,
    );
    await withTimeout(getBulk(t, warmBytes), timeoutMs, `${ep.side} bulk warm-up`, destroyAll);
    const start = performance.now();
    await withTimeout(getBulk(t, bytes), timeoutMs, `${ep.side} bulk`, destroyAll);
    const seconds = (performance.now() - start) / 1000;
    closeSoon(t, CLOSE_GRACE_MS);
    return bytes / 1e6 / seconds;
  } catch (err) {
    destroyAll();
    errors.add(ep.side, err);
    return Number.NaN;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface IdleCost {
  opened: number;
  beforeKiB: number;
  afterKiB: number;
  perConnKiB: number;
}

/**
 * Opens `count` connections (each after one request, then left idle, `concurrency` opening at a time),
 * and reports how much the RSS of process `pid` grew per open connection. All are closed before
 * returning. `use` makes the one request (default: HTTP/1.1 GET /small); what it resolves with is kept
 * referenced while the connection idles.
 */
export async function idleRssPerConn(
  ep: Endpoint,
  pid: number,
  count: number,
  concurrency: number,
  settleMs: number,
  errors: ErrorTally,
  use: (t: tls.TLSSocket) => Promise<unknown> = getSmall,
): Promise<IdleCost> {
  await sleep(settleMs);
  const beforeKiB = rssKiB(pid);
  const open: tls.TLSSocket[] = [];
  const kept: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        open.push(
          await withConnection(ep, "idle open", async (t) => {
            kept.push(await use(t));
            return t;
          }),
        );
      } catch (err) {
        errors.add(ep.side, err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await sleep(settleMs);
  const afterKiB = rssKiB(pid);
  const alive = open.filter((t) => !t.destroyed).length;
  for (const t of open) closeSoon(t, CLOSE_GRACE_MS);
  kept.length = 0;
  await sleep(settleMs);
  return { opened: alive, beforeKiB, afterKiB, perConnKiB: (afterKiB - beforeKiB) / Math.max(1, alive) };
}
