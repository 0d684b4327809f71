/** Tunnel timers: a race against a deadline, an abort signal as a rejection, an idle watch. */
import { ProxyError } from "../errors/proxy-error.ts";

/** A request head inside a tunnel not whole within `ms` of its first byte (its deadline's error). */
export function headTimeout(ms: number): ProxyError {
  return new ProxyError(
    "HEADER_TIMEOUT",
    `request head not complete within ${ms} ms (proxy.limits.header_timeout_ms)`,
  );
}

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
  if (signal.aborted) {
    // Nobody else waits on `p` now: its own failure (the caller tearing it down) is not unhandled.
    p.catch(() => {});
    return Promise.reject(onAbort());
  }
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

/** What a group ticks while it is added: idle watches, and connections with a deadline (head-deadline.ts). */
export interface Ticked {
  onTick(group: WatchGroup): void;
}

/**
 * The watches of one timeout value, ticked by one shared interval every `ms / 2` (one timer for
 * all tunnels instead of one per tunnel: an idle tunnel holds a small object, no timer).
 */
export class WatchGroup {
  readonly ms: number;
  readonly tick: number;
  readonly watches = new Set<Ticked>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(ms: number) {
    this.ms = ms;
    this.tick = Math.max(1, Math.floor(ms / 2));
  }

  add(w: Ticked): void {
    this.watches.add(w);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#onTick(), this.tick);
      this.#timer.unref?.();
    }
  }

  remove(w: Ticked): void {
    this.watches.delete(w);
    if (this.watches.size > 0 || this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    // A group kept by its user (head-deadline.ts) may be empty while a newer one serves `ms`.
    if (groups.get(this.ms) === this) groups.delete(this.ms);
  }

  #onTick(): void {
    // A watch added or stopped during the loop is safe: Set iteration tolerates both.
    for (const w of this.watches) w.onTick(this);
  }
}

const groups = new Map<number, WatchGroup>();

/** What a watch made by `watchIdle` tells when its tunnel went quiet (a method, not a callback). */
export interface IdleOwner {
  /** `ms`: the watch's timeout. */
  onIdle(ms: number): void;
}

/** One watch's state, ticked by its group; what it calls once quiet is up to the subclass. */
abstract class Watch implements Ticked {
  #group: WatchGroup | null;
  /** Starts active: the first tick only resets it, so a new watch gets its full `ms` too. */
  protected active = true;
  #quietTicks = 0;

  constructor(group: WatchGroup) {
    this.#group = group;
    group.add(this);
  }

  protected abstract idle(ms: number): void;

  onTick(group: WatchGroup): void {
    if (this.active) {
      this.active = false;
      this.#quietTicks = 0;
      return;
    }
    this.#quietTicks += 1;
    if (this.#quietTicks * group.tick >= group.ms) {
      this.stop();
      this.idle(group.ms);
    }
  }

  stop(): void {
    const g = this.#group;
    if (g === null) return;
    this.#group = null;
    g.remove(this);
  }
}

/** A watch calling a callback; `touch` is an own property so it can be passed around unbound
 * (`touching(ep, idle.touch)`). */
class CallbackWatch extends Watch implements IdleWatch {
  readonly #onIdle: () => void;
  readonly touch = (): void => {
    this.active = true;
  };

  constructor(group: WatchGroup, onIdle: () => void) {
    super(group);
    this.#onIdle = onIdle;
  }

  protected idle(): void {
    this.#onIdle();
  }
}

/** A watch calling its owner's `onIdle`, `touch` on the prototype: no closure per watch (call
 * `touch` as a method). What an HTTP-mode tunnel, which lives long and idle, uses. */
class OwnedWatch extends Watch implements IdleWatch {
  readonly #owner: IdleOwner;

  constructor(group: WatchGroup, owner: IdleOwner) {
    super(group);
    this.#owner = owner;
  }

  touch(): void {
    this.active = true;
  }

  protected idle(ms: number): void {
    this.#owner.onIdle(ms);
  }
}

/** The shared group of `ms` (made on first use; gone once empty, a later add makes it anew). */
export function groupOf(ms: number): WatchGroup {
  let group = groups.get(ms);
  if (group === undefined) {
    group = new WatchGroup(ms);
    groups.set(ms, group);
  }
  return group;
}

/**
 * Calls `onIdle` once no touch() happened for at least `ms` (and at most 1.5 × `ms`). Watches of
 * the same `ms` share one coarse interval ticking every `ms / 2`; nothing is re-armed per chunk.
 */
export function idleWatch(ms: number, onIdle: () => void): IdleWatch {
  return new CallbackWatch(groupOf(ms), onIdle);
}

/** As idleWatch, calling `owner.onIdle()`; the watch's `touch` must be called as a method. */
export function watchIdle(ms: number, owner: IdleOwner): IdleWatch {
  return new OwnedWatch(groupOf(ms), owner);
}
