/**
 * Keep-alive requests per second: connections opened once, then GET /small in a loop on each of them
 * (HTTP/1.1: one request at a time per connection; HTTP/2: `streams` requests in flight per
 * connection). Connection set-up is not timed. Direct and proxy run in alternating windows so
 * background load hits both alike. Every window is bounded: a lane stuck past its end is cut off.
 */
import type * as net from "node:net";
import type * as tls from "node:tls";
import { closeSoon, type Endpoint, getSmall, withTimeout } from "./client.ts";
import { h2GetSmall, h2Session } from "./h2-client.ts";
import type { ErrorTally } from "./measure.ts";

const OPEN_TIMEOUT_MS = 10_000; // ms to open one connection (CONNECT + TLS, or TLS)
const STUCK_MS = 10_000; // ms past a window's end after which its unfinished lanes are cut off
const CLOSE_GRACE_MS = 2000; // ms a closed client socket may wait for the peer's FIN

export type Protocol = "h1" | "h2";

/** One open connection: `request` sends one checked GET /small on it. */
interface Conn {
  request(): Promise<void>;
  close(): void;
  destroy(): void;
  broken: boolean;
}

async function openConn(ep: Endpoint, spec: KeepAliveSpec): Promise<Conn> {
  const protocol = spec.protocol;
  const extra = spec.extraFields ?? [];
  const sockets: net.Socket[] = [];
  const destroy = () => {
    for (const s of sockets) s.destroy();
  };
  let t: tls.TLSSocket;
  try {
    t = await withTimeout(
      ep.open((s) => sockets.push(s)),
      OPEN_TIMEOUT_MS,
      `${ep.side} open`,
      destroy,
    );
  } catch (err) {
    destroy();
    throw err;
  }
  if (protocol === "h1") {
    const head = extra.map(([n, v]) => `${n}: ${v}\r\n`).join("");
    return {
      request: () => getSmall(t, head),
      close: () => closeSoon(t, CLOSE_GRACE_MS),
      destroy,
      broken: false,
    };
  }
  try {
    const session = h2Session(t, ep.authority);
    const fields = Object.fromEntries(extra);
    return {
      request: () => h2GetSmall(session, fields),
      close: () => {
        session.close();
        closeSoon(t, CLOSE_GRACE_MS);
      },
      destroy,
      broken: false,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}

export interface KeepAliveSpec {
  protocol: Protocol;
  /** Connections per side. */
  conns: number;
  /** Requests in flight per connection (1 for HTTP/1.1). */
  streams: number;
  /** Header fields every request also carries (lowercase names; none by default). */
  extraFields?: readonly (readonly [string, string])[];
}

/** A side's connections, kept open across windows; broken ones are replaced before the next window. */
export class KeepAliveLoad {
  readonly #ep: Endpoint;
  readonly #spec: KeepAliveSpec;
  readonly #errors: ErrorTally;
  #conns: Conn[] = [];
  ok = 0;
  elapsedMs = 0;

  constructor(ep: Endpoint, spec: KeepAliveSpec, errors: ErrorTally) {
    this.#ep = ep;
    this.#spec = spec;
    this.#errors = errors;
  }

  get side(): string {
    return this.#ep.side;
  }

  async #refill(): Promise<void> {
    for (const c of this.#conns) if (c.broken) c.destroy();
    this.#conns = this.#conns.filter((c) => !c.broken);
    const missing = this.#spec.conns - this.#conns.length;
    const opened = await Promise.allSettled(
      Array.from({ length: missing }, () => openConn(this.#ep, this.#spec)),
    );
    for (const r of opened) {
      if (r.status === "fulfilled") this.#conns.push(r.value);
      else this.#errors.add(this.#ep.side, r.reason);
    }
  }

  /** Runs every lane for `ms`; requests started before the end finish. Counted unless `warmUp`. */
  async window(ms: number, warmUp = false): Promise<void> {
    await this.#refill();
    const start = performance.now();
    const end = start + ms;
    let ok = 0;
    const lane = async (c: Conn) => {
      while (!c.broken && performance.now() < end) {
        try {
          await c.request();
          ok++;
        } catch (err) {
          if (!c.broken) this.#errors.add(this.#ep.side, err);
          c.broken = true;
        }
      }
    };
    const lanes = this.#conns.flatMap((c) => Array.from({ length: this.#spec.streams }, () => lane(c)));
    const cutOff = () => {
      for (const c of this.#conns) {
        c.broken = true;
        c.destroy();
      }
    };
    try {
      await withTimeout(Promise.all(lanes), ms + STUCK_MS, `${this.#ep.side} keep-alive window`, cutOff);
    } catch (err) {
      this.#errors.add(this.#ep.side, err);
    }
    if (warmUp) return;
    this.ok += ok;
    this.elapsedMs += performance.now() - start;
  }

  get perSecond(): number {
    return this.ok > 0 ? (this.ok * 1000) / this.elapsedMs : Number.NaN;
  }

  close(): void {
    for (const c of this.#conns) c.close();
    this.#conns = [];
  }
}

/**
 * Requests/s per side for `spec`: a warm-up window per side, then `rounds` windows of `windowMs`
 * per side, alternating. Returns the loads (ok, elapsed, perSecond), closed.
 */
export async function keepAliveRates(
  eps: Endpoint[],
  spec: KeepAliveSpec,
  warmMs: number,
  windowMs: number,
  rounds: number,
  errors: ErrorTally,
  progress: (msg: string) => void,
): Promise<KeepAliveLoad[]> {
  const loads = eps.map((ep) => new KeepAliveLoad(ep, spec, errors));
  for (const l of loads) await l.window(warmMs, true);
  for (let round = 1; round <= rounds; round++) {
    for (const l of loads) {
      progress(`  ${l.side} window ${round}/${rounds}: ${windowMs} ms`);
      await l.window(windowMs);
    }
  }
  for (const l of loads) l.close();
  return loads;
}
