/**
 * Keeps rejected-request logging cheap: the first rejection of a kind (key, e.g. `CAPACITY` or
 * `1.2.3.4 BAD_REQUEST`) in a period is worth an info/warn line; repeats in the same period go to
 * debug, and the next loud line carries how many were quietened. Pure: `now` is passed in. At most
 * `maxKeys` keys are remembered (oldest forgotten first), so memory is bounded.
 */

export const REJECT_LOG_PERIOD_MS = 60_000; // ms; one loud line per kind per minute
export const REJECT_LOG_MAX_KEYS = 1024; // kinds remembered at once (~100 B each)

interface Seen {
  since: number;
  quiet: number;
}

export class RejectLog {
  readonly #periodMs: number;
  readonly #maxKeys: number;
  readonly #seen = new Map<string, Seen>();

  constructor(periodMs = REJECT_LOG_PERIOD_MS, maxKeys = REJECT_LOG_MAX_KEYS) {
    this.#periodMs = periodMs;
    this.#maxKeys = maxKeys;
  }

  /**
   * Whether this rejection should be logged loudly; when it is, `quietened` is how many of the same
   * key went to debug since the previous loud line.
   */
  note(key: string, now: number): { loud: boolean; quietened: number } {
    const s = this.#seen.get(key);
    if (s !== undefined && now - s.since < this.#periodMs) {
      s.quiet++;
      return { loud: false, quietened: 0 };
    }
    const quietened = s?.quiet ?? 0;
    this.#seen.delete(key);
    this.#seen.set(key, { since: now, quiet: 0 });
    if (this.#seen.size > this.#maxKeys) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return { loud: true, quietened };
  }
}
