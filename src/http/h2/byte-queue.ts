const EMPTY = new Uint8Array(0);
/**
 * Up to this many bytes, `take` copies instead of making a view, bytes. The first view of a plain
 * typed array makes JSC give it a separate ArrayBuffer object (~150 ns, measured on Bun 1.4), more
 * than copying a small frame payload; and a copy pins no large read buffer.
 */
const COPY_AT_MOST = 1024;

/**
 * Up to this many bytes, `copyOf` copies byte by byte: `slice` on a Buffer (what TLS reads hand
 * over) builds its result through Buffer's species constructor, ~60-80 ns more than a loop over a
 * small frame payload (measured on Bun 1.4).
 */
const LOOP_COPY_AT_MOST = 128;

/** A copy of `b[start..end)` (`Uint8Array`'s slice: on a Buffer, `slice` would be a view). */
function copyOf(b: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > LOOP_COPY_AT_MOST) return Uint8Array.prototype.slice.call(b, start, end);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = b[start + i] as number;
  return out;
}

/**
 * A FIFO of byte chunks: append whole chunks, read from the front without copying when the bytes
 * lie in one chunk. Pushed chunks are kept by reference (callers hand over ownership).
 *
 * Hot path of every received HTTP/2 frame: no iterators, and no view made when a whole chunk is
 * taken, bytes are only skipped, or a small piece is cheaper to copy.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // offset into chunks[0]
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.total += bytes.length;
  }

  /** The first chunk when it holds at least `n` unread bytes from `headOffset`, else null. */
  frontChunk(n: number): Uint8Array | null {
    const first = this.chunks[0];
    return first !== undefined && first.length - this.head >= n ? first : null;
  }

  /** Where the unread bytes start in the chunk `frontChunk` returned. */
  get headOffset(): number {
    return this.head;
  }

  /** The byte at `index` from the front (the caller checks `index < length`). */
  peek(index: number): number {
    let i = index + this.head;
    const chunks = this.chunks;
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k] as Uint8Array;
      if (i < c.length) return c[i] as number;
      i -= c.length;
    }
    return 0;
  }

  /** Drops the first `n` bytes (`n <= length`). */
  skip(n: number): void {
    while (n > 0) {
      const c = this.chunks[0];
      if (!c) break;
      const piece = Math.min(c.length - this.head, n);
      n -= piece;
      this.skipInFirst(piece, c.length);
    }
  }

  /** Removes and returns the first `n` bytes (`n <= length`). */
  take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (n === 0 || !first) return EMPTY;
    const head = this.head;
    if (first.length - head >= n) {
      const out =
        head === 0 && n === first.length
          ? first
          : n <= COPY_AT_MOST
            ? copyOf(first, head, head + n)
            : first.subarray(head, head + n);
      this.skipInFirst(n, first.length);
      return out;
    }
    if (n > COPY_AT_MOST) {
      const view = this.adjacentView(n);
      if (view !== null) {
        this.skip(n);
        return view;
      }
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0];
      if (!c) break;
      const piece = Math.min(c.length - this.head, n - at);
      out.set(this.head === 0 && piece === c.length ? c : c.subarray(this.head, this.head + piece), at);
      at += piece;
      this.skipInFirst(piece, c.length);
    }
    return out;
  }

  /**
   * The first `n` bytes (more than the first chunk holds) as one view, when the chunks holding
   * them lie back to back in one buffer, else null. Large TLS reads are cut one after the other
   * from a shared slab (native-engine.ts), so a 16 KiB DATA frame that straddles two reads needs
   * no copy. The bytes are the pushed chunks' own, which the queue owns already.
   */
  private adjacentView(n: number): Uint8Array | null {
    const chunks = this.chunks;
    const first = chunks[0] as Uint8Array;
    const buffer = first.buffer;
    let end = first.byteOffset + first.length;
    let have = first.length - this.head;
    for (let k = 1; have < n; k++) {
      const c = chunks[k];
      if (c === undefined || c.buffer !== buffer || c.byteOffset !== end) return null;
      end += c.length;
      have += c.length;
    }
    return new Uint8Array(buffer, first.byteOffset + this.head, n);
  }

  private skipInFirst(n: number, firstLength: number): void {
    this.head += n;
    this.total -= n;
    if (this.head === firstLength) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}
