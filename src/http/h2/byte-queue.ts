/**
 * A FIFO of byte chunks: append whole chunks, read from the front without copying when the bytes
 * lie in one chunk. Pushed chunks are kept by reference (callers hand over ownership).
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

  /** The byte at `index` from the front (the caller checks `index < length`). */
  peek(index: number): number {
    let i = index + this.head;
    for (const c of this.chunks) {
      if (i < c.length) return c[i] ?? 0;
      i -= c.length;
    }
    return 0;
  }

  /** Removes and returns the first `n` bytes (`n <= length`). */
  take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (n === 0 || !first) return new Uint8Array(0);
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.skipInFirst(n, first.length);
      return out;
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0];
      if (!c) break;
      const piece = Math.min(c.length - this.head, n - at);
      out.set(c.subarray(this.head, this.head + piece), at);
      at += piece;
      this.skipInFirst(piece, c.length);
    }
    return out;
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
