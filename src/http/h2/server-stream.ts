import type { RecvWindow } from "./flow-window.ts";

/**
 * One client-initiated stream on the server side (RFC 9113 §5.1). `remoteClosed` = the client
 * sent END_STREAM (half-closed remote); `localClosed` = we sent END_STREAM; `closed` = both, or
 * reset. Response bytes the windows could not take wait in `queue` (bounded by the producer,
 * which stops after `writeData` returned false).
 */
export class ServerStream {
  remoteClosed = false;
  localClosed = false;
  closed = false;
  /** A `request` event was emitted: the caller tracks it (and gets `reset` / `drained`). */
  reported = false;
  /** The final (non-1xx) response head went out. */
  headSent = false;
  /** Bytes we may still send (negative after a SETTINGS decrease, §6.9.2). */
  sendWindow: number;
  /** The request body's window, made at the first DATA frame (most requests have no body). */
  recv: RecvWindow | null = null;
  /** DATA bytes handed to the caller and not yet `consumed()`. */
  outstanding = 0;
  /** Declared request content-length, checked against the DATA sum (§8.1.1). */
  contentLength: number | null = null;
  received = 0;
  /** Response bytes waiting for window, oldest first; null when none. */
  queue: Uint8Array[] | null = null;
  queued = 0;
  /** END_STREAM owed once `queue` is sent: the trailers, or an empty list for none. */
  pendingEnd: readonly (readonly [string, string])[] | null = null;
  /**
   * The final response head's frames while they are still in the output queue with nothing
   * after them on this stream: an end without trailers then sets END_STREAM on its HEADERS frame
   * instead of sending an empty DATA frame, so a response that is only a head (a gRPC
   * Trailers-Only status) stays one HEADERS frame, as the origin sent it.
   */
  headFrame: Uint8Array | null = null;
  /** `writeData` returned false: report `drained` when the queue is empty. */
  wantDrain = false;
  /**
   * Ending normally earns one reset of the rapid-reset budget back; a stream answered locally
   * does not (it cost the origin nothing: alternating local answers and resets would otherwise
   * refill the budget for free).
   */
  earnsReset = true;

  constructor(
    readonly id: number,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }
}
