/**
 * The upstream response-head deadline (`proxy.upstream.response_timeout_ms`): a request fully sent
 * upstream must get its final response head within `ms`, checked every `ms / 2` (so it fires
 * between `ms` and 1.5 × `ms`); the connection then fails that exchange (UPSTREAM_TIMEOUT, 504).
 * A connection is ticked only while it has a request waiting for a head, and the requests carry
 * the time they finished sending: no timer per request. Connections of one `ms` share one coarse
 * interval, as the idle watches of timeout.ts do.
 */

/** A connection with requests waiting for their response head. */
export interface HeadWaiter {
  /** `now`: performance.now() at this tick; fail every exchange waiting since `now - ms` or longer. */
  onHeadTick(now: number, ms: number): void;
}

class TickGroup {
  readonly #ms: number;
  readonly #waiters = new Set<HeadWaiter>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(ms: number) {
    this.#ms = ms;
  }

  add(w: HeadWaiter): void {
    this.#waiters.add(w);
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.#tick(), Math.max(1, Math.floor(this.#ms / 2)));
    this.#timer.unref?.();
  }

  remove(w: HeadWaiter): void {
    if (!this.#waiters.delete(w) || this.#waiters.size > 0 || this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const now = performance.now();
    // Set iteration tolerates removals (a waiter failing its exchanges) during the loop.
    for (const w of this.#waiters) w.onHeadTick(now, this.#ms);
  }
}

const groups = new Map<number, TickGroup>();

/** The shared ticker for `ms`; null when there is no deadline (`ms` absent or 0). */
export function headTicker(ms: number | undefined): TickGroup | null {
  if (ms === undefined || ms <= 0) return null;
  let g = groups.get(ms);
  if (g === undefined) {
    g = new TickGroup(ms);
    groups.set(ms, g);
  }
  return g;
}

export type HeadTicker = TickGroup;

/** The error of an exchange whose response head did not come in time. */
export function headTimeoutMessage(ms: number): string {
  return `upstream sent no response head within ${ms} ms of the request`;
}
