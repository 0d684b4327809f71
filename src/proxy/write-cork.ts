/**
 * What SecureChannel needs to cork its writes for the rest of a turn of the event loop: pooled
 * buffers to gather small plaintext writes in until they are sealed (an idle channel holds none,
 * a busy one allocates none), and one microtask that sends what every channel wrote in the turn.
 */

/** One full TLS record of plaintext (RFC 8446 §5.1), bytes. */
export const WRITE_GATHER_BYTES = 16 * 1024;
/** Free buffers kept: a few channels gather in the same turn; the rest are left to the collector. */
const POOL_MAX = 16;

const pool: Uint8Array[] = [];

/** A gather buffer of WRITE_GATHER_BYTES, its contents undefined. */
export function takeGather(): Uint8Array {
  return pool.pop() ?? new Uint8Array(WRITE_GATHER_BYTES);
}

/** Gives a buffer from `takeGather` back; the caller holds no reference to it afterwards. */
export function releaseGather(buf: Uint8Array): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

/** A writer with corked bytes to send once the current turn's callbacks are done. */
export interface Corked {
  sendCorked(): void;
}

const corked: Corked[] = [];
let flushQueued = false;

/** Calls `c.sendCorked()` from a microtask (once per call: callers queue themselves once per turn). */
export function sendAtEndOfTurn(c: Corked): void {
  corked.push(c);
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(sendAll);
}

function sendAll(): void {
  flushQueued = false;
  // Writers written to while this runs queue themselves again (and another microtask).
  for (const c of corked.splice(0)) c.sendCorked();
}
