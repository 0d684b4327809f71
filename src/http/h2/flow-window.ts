import { connectionError, H2ErrorCode, streamError } from "./errors.ts";
import { MAX_WINDOW } from "./frame-types.ts";

/**
 * Receive-side flow control for one window (a stream or the connection), RFC 9113 §6.9. The peer
 * may send `window` more bytes. Bytes come back through `release()` once the reader took them;
 * the credit is announced with WINDOW_UPDATE only when at least half of `target` has been
 * released (browser-like batching), so unreleased bytes stay bounded by `target`.
 */
export class RecvWindow {
  /** Bytes the peer may still send. */
  window: number;
  /** Released bytes not yet announced. */
  private unannounced = 0;

  constructor(public target: number) {
    this.window = target;
  }

  /** We announced `n` more bytes unasked (a WINDOW_UPDATE right after HEADERS, Firefox): the
   * window and the size we keep it at both grow. */
  grow(n: number): void {
    this.window += n;
    this.target += n;
  }

  /** Counts `n` received bytes; false when they exceed the window (a FLOW_CONTROL_ERROR). */
  receive(n: number): boolean {
    if (n > this.window) return false;
    this.window -= n;
    return true;
  }

  /** Returns `n` bytes of credit; gives the WINDOW_UPDATE increment to send now, or 0. */
  release(n: number): number {
    this.unannounced += n;
    if (this.unannounced * 2 < this.target) return 0;
    const increment = Math.min(this.unannounced, MAX_WINDOW - this.window);
    this.unannounced = 0;
    this.window += increment;
    return increment;
  }
}

/**
 * Adds a WINDOW_UPDATE increment or a SETTINGS_INITIAL_WINDOW_SIZE delta to a send window
 * (which may be negative after a SETTINGS decrease, §6.9.2). Throws FLOW_CONTROL_ERROR past 2^31-1:
 * a stream error for a stream's WINDOW_UPDATE, a connection error otherwise.
 */
export function growSendWindow(
  window: number,
  delta: number,
  streamId: number,
  fromSettings: boolean,
): number {
  const next = window + delta;
  if (next > MAX_WINDOW) {
    const message = `flow-control window ${next} exceeds 2^31-1`;
    throw streamId === 0 || fromSettings
      ? connectionError(H2ErrorCode.FLOW_CONTROL_ERROR, message)
      : streamError(H2ErrorCode.FLOW_CONTROL_ERROR, streamId, message);
  }
  return next;
}
