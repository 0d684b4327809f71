/**
 * Appending to a FIFO of byte chunks that its owner drains from the front (`q[0]`, then
 * `q[0] = q[0].subarray(n)` or `q.shift()`), without one object per tiny chunk. Pure.
 *
 * A peer may send a body, a response or a field block as frames of one byte. Kept one view each,
 * every byte costs ~80 bytes of objects: a tester held 0.5 GB per connection with 1-byte request
 * DATA frames toward an origin that took nothing, 1.2 GB per tunnel with 1-byte response frames to
 * a client that read nothing, and 1.2 GB with 110 connections of 1-byte CONTINUATION frames, all
 * within the byte limits. Small chunks are copied into the last entry's buffer instead: what waits
 * then costs about its bytes.
 */

/** Chunks shorter than this are copied together, bytes. */
const SMALL_CHUNK_BYTES = 1024;
/** A buffer small chunks are copied into, bytes. */
const TAIL_BYTES = 16 * 1024;
/** The buffers made here: only the end of the last entry's may be written on (see appendChunk). */
const tails = new WeakSet<ArrayBufferLike>();

/**
 * Appends `chunk` (an empty one adds nothing). A small one goes into the unused end of the last
 * entry's buffer when that buffer is one of these and has room; the entry then grows over it.
 * Owners only ever take suffixes of an entry, so the bytes past its end are nobody's.
 */
export function appendChunk(q: Uint8Array[], chunk: Uint8Array): void {
  const n = chunk.length;
  if (n === 0) return;
  if (n >= SMALL_CHUNK_BYTES) {
    q.push(chunk);
    return;
  }
  const last = q[q.length - 1];
  if (
    last !== undefined &&
    tails.has(last.buffer) &&
    last.byteOffset + last.length + n <= last.buffer.byteLength
  ) {
    const grown = new Uint8Array(last.buffer, last.byteOffset, last.length + n);
    grown.set(chunk, last.length);
    q[q.length - 1] = grown;
    return;
  }
  const buffer = new ArrayBuffer(TAIL_BYTES);
  tails.add(buffer);
  const first = new Uint8Array(buffer, 0, n);
  first.set(chunk);
  q.push(first);
}
