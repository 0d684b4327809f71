/**
 * Brute-force brake on proxy authentication: failed logins are counted per client IP in a fixed
 * window that starts at the first failure. Once an IP has `maxFailures` failures in its window, its
 * requests are refused (AUTH_RATE_LIMITED, 429) before credentials are even checked, until the
 * window has passed. Pure: no I/O, and `now` (milliseconds) is always passed in.
 *
 * Reporting is once per burst: `engaged` when an IP reaches the limit, then silence (refusals are
 * only counted), then `released` with the totals when its window has passed (seen by `sweep`, or by
 * the IP's next attempt) or when it is evicted.
 *
 * Memory: at most `maxEntries` IPs are tracked (only IPs with a failure in their window); a new IP
 * beyond that evicts the least recently failed one. Each entry is a few small numbers plus the key,
 * so the default 10,000 entries stay around 1-2 MB.
 */

export const DEFAULT_BRAKE_ENTRIES = 10_000; // IPs tracked at once; see the memory note above

export type BrakeEvent =
  | { kind: "engaged"; client: string; failures: number; windowMs: number }
  | { kind: "released"; client: string; failures: number; refused: number; evicted: boolean };

interface Entry {
  start: number;
  failures: number;
  refused: number;
}

export class AuthBrake {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #report: (e: BrakeEvent) => void;
  /** Insertion order = least recently failed first. */
  readonly #entries = new Map<string, Entry>();

  constructor(opts: {
    maxFailures: number;
    windowMs: number;
    maxEntries?: number;
    report: (e: BrakeEvent) => void;
  }) {
    this.#max = opts.maxFailures;
    this.#windowMs = opts.windowMs;
    this.#maxEntries = opts.maxEntries ?? DEFAULT_BRAKE_ENTRIES;
    this.#report = opts.report;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Milliseconds until `client` may try again, or 0 when it is not braked. A positive answer counts
   * as one refused attempt (reported in the `released` summary).
   */
  retryAfterMs(client: string, now: number): number {
    const e = this.#live(client, now);
    if (e === undefined || e.failures < this.#max) return 0;
    e.refused++;
    return Math.max(1, e.start + this.#windowMs - now);
  }

  /** Records one failed login for `client`. */
  fail(client: string, now: number): void {
    let e = this.#live(client, now);
    if (e === undefined) {
      e = { start: now, failures: 0, refused: 0 };
      this.#entries.set(client, e);
      this.#evictOverflow();
    } else {
      // Move to the end: least recently failed entries are evicted first.
      this.#entries.delete(client);
      this.#entries.set(client, e);
    }
    e.failures++;
    if (e.failures === this.#max) {
      this.#report({ kind: "engaged", client, failures: e.failures, windowMs: this.#windowMs });
    }
  }

  /** Drops every entry whose window has passed, reporting the bursts that ended. */
  sweep(now: number): void {
    for (const [client, e] of this.#entries) {
      if (now - e.start >= this.#windowMs) this.#drop(client, e, false);
    }
  }

  /** The entry for `client` if its window is still open; an expired one is dropped (and reported). */
  #live(client: string, now: number): Entry | undefined {
    const e = this.#entries.get(client);
    if (e !== undefined && now - e.start >= this.#windowMs) {
      this.#drop(client, e, false);
      return undefined;
    }
    return e;
  }

  #evictOverflow(): void {
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.entries().next().value;
      if (oldest === undefined) return;
      this.#drop(oldest[0], oldest[1], true);
    }
  }

  #drop(client: string, e: Entry, evicted: boolean): void {
    this.#entries.delete(client);
    if (e.failures >= this.#max) {
      this.#report({ kind: "released", client, failures: e.failures, refused: e.refused, evicted });
    }
  }
}
