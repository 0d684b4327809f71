/** Tunnel timers: a race against a deadline, an abort signal as a rejection, an idle watch. */

/** Races a promise against a timer; the timer never outlives the race. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Rejects with `onAbort()` as soon as `signal` aborts (at once if it already has). */
export function withAbort<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => Error,
): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(onAbort());
  let listener: (() => void) | undefined;
  const a = new Promise<never>((_, reject) => {
    listener = () => reject(onAbort());
    signal.addEventListener("abort", listener, { once: true });
  });
  return Promise.race([p, a]).finally(() => {
    if (listener) signal.removeEventListener("abort", listener);
  });
}

export interface IdleWatch {
  /** Records activity; cheap enough to call for every chunk (sets a flag, no timer work). */
  touch(): void;
  stop(): void;
}

/**
 * The watches of one timeout value, ticked by one shared interval every `ms / 2` (one timer for
 * all tunnels instead of one per tunnel: an idle tunnel holds a small object, no timer).
 */
class WatchGroup {
  readonly ms: number;
  readonly tick: number;
  readonly watches = new Set<Watch>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(ms: number) {
    this.ms = ms;
    this.tick = Math.max(1, Math.floor(ms / 2));
  }

  add(w: Watch): void {
    this.watches.add(w);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#onTick(), this.tick);
      this.#timer.unref?.();
    }
  }

  remove(w: Watch): void {
    this.watches.delete(w);
    if (this.watches.size > 0 || this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    groups.delete(this.ms);
  }

  #onTick(): void {
    // A watch added or stopped during the loop is safe: Set iteration tolerates both.
    for (const w of this.watches) w.onTick(this);
  }
}

const groups = new Map<number, WatchGroup>();

class Watch implements IdleWatch {
  #group: WatchGroup | null;
  #onIdle: () => void;
  /** Starts active: the first tick only resets it, so a new watch gets its full `ms` too. */
  #active = true;
  #quietTicks = 0;
  /** An own property so it can be passed around unbound (`touching(ep, idle.touch)`). */
  readonly touch = (): void => {
    this.#active = true;
  };

  constructor(group: WatchGroup, onIdle: () => void) {
    this.#group = group;
    this.#onIdle = onIdle;
    group.add(this);
  }

  onTick(group: WatchGroup): void {
    if (this.#active) {
      this.#active = false;
      this.#quietTicks = 0;
      return;
    }
    this.#quietTicks += 1;
    if (this.#quietTicks * group.tick >= group.ms) {
      this.stop();
      this.#onIdle();
    }
  }

  stop(): void {
    const g = this.#group;
    if (g === null) return;
    this.#group = null;
    g.remove(this);
  }
}

/**
 * Calls `onIdle` once no touch() happened for at least `ms` (and at most 1.5 × `ms`). Watches of
 * the same `ms` share one coarse interval ticking every `ms / 2`; nothing is re-armed per chunk.
 */
export function idleWatch(ms: number, onIdle: () => void): IdleWatch {
  let group = groups.get(ms);
  if (group === undefined) {
    group = new WatchGroup(ms);
    groups.set(ms, group);
  }
  return new Watch(group, onIdle);
}
