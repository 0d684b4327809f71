/** Closes kept in a plain array, searched newest first, before the Maps are made. */
const FEW_CLOSES = 16;

/**
 * Why a connection's most recent streams closed, to judge frames that arrive on them late
 * (RFC 9113 §5.1): exactly a FIFO of the last `capacity` closes, oldest forgotten first.
 *
 * A connection's first FEW_CLOSES closes are kept in a plain number array (`id × 4 + code`): an
 * idle connection that closed one stream holds one number, not a hash table (a JSC Map costs about
 * 1 KiB even with one entry). Past that, two Map generations of at most `capacity` ids each
 * (`#now`, the newest, and `#before`): id → close sequence number × 4 + code. An id is remembered
 * while fewer than `capacity` streams closed after it, without deleting from a Map per close (slow
 * in JSC once it has seen many deletions) or walking it for its oldest key; a full generation is
 * dropped whole. Lookups stay O(1) however many streams closed: a peer sending frames on old
 * streams costs a Map lookup each, not a walk.
 */
export class ClosedStreams<Reason> {
  readonly #reasons: readonly Reason[];
  readonly #capacity: number;
  #few: number[] | null = null;
  #now: Map<number, number> | null = null;
  #before: Map<number, number> | null = null;
  /** Closes so far. */
  #seq = 0;

  /** `reasons` in code order (at most 4); the last `capacity` closes are remembered. */
  constructor(reasons: readonly Reason[], capacity: number) {
    this.#reasons = reasons;
    this.#capacity = capacity;
  }

  remember(id: number, reason: Reason): void {
    const code = this.#reasons.indexOf(reason);
    if (this.#now === null) {
      this.#few ??= [];
      if (this.#few.length < Math.min(FEW_CLOSES, this.#capacity)) {
        this.#few.push(id * 4 + code);
        this.#seq++;
        return;
      }
      this.#now = this.#mapFew(this.#few);
      this.#few = null;
    }
    if (this.#now.size >= this.#capacity) {
      this.#before = this.#now;
      this.#now = new Map();
    }
    this.#now.set(id, this.#seq * 4 + code);
    this.#seq++;
  }

  /** Why `id` closed, or undefined when it never closed or `capacity` streams closed since. */
  reason(id: number): Reason | undefined {
    const few = this.#few;
    if (few !== null) {
      const base = id * 4;
      for (let i = few.length - 1; i >= 0; i--) {
        const entry = few[i] as number;
        if (entry >= base && entry < base + 4) return this.#reasons[entry - base];
      }
      return undefined;
    }
    if (this.#now === null) return undefined;
    const entry = this.#now.get(id) ?? this.#before?.get(id);
    if (entry === undefined || this.#seq - Math.floor(entry / 4) > this.#capacity) return undefined;
    return this.#reasons[entry % 4];
  }

  /** The array's closes as a generation Map, with the sequence numbers they were given. */
  #mapFew(few: readonly number[]): Map<number, number> {
    const map = new Map<number, number>();
    const first = this.#seq - few.length;
    for (let i = 0; i < few.length; i++) {
      const entry = few[i] as number;
      map.set(Math.floor(entry / 4), (first + i) * 4 + (entry % 4));
    }
    return map;
  }
}
