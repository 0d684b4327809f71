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
 * Calls `onIdle` once no touch() happened for at least `ms` (and at most 1.5 × `ms`). One coarse
 * interval per watch, ticking every `ms / 2`, instead of re-arming a timer for every chunk.
 */
export function idleWatch(ms: number, onIdle: () => void): IdleWatch {
  const tick = Math.max(1, Math.floor(ms / 2));
  let active = false;
  let quietTicks = 0;
  const timer = setInterval(() => {
    if (active) {
      active = false;
      quietTicks = 0;
      return;
    }
    quietTicks += 1;
    if (quietTicks * tick >= ms) {
      clearInterval(timer);
      onIdle();
    }
  }, tick);
  timer.unref?.();
  return {
    touch: () => {
      active = true;
    },
    stop: () => clearInterval(timer),
  };
}
