import { RecvWindow } from "./flow-window.ts";

/** Where a response is: no final headers yet, in the body, or done (trailers or end seen). */
export type ResponsePhase = "awaiting" | "body";

/** How a stream stopped being live, kept for a while to judge late frames (RFC 9113 §5.1 "closed"). */
export type CloseReason = "ended" | "reset-local" | "reset-remote" | "refused";

/**
 * One client-initiated stream (RFC 9113 §5.1). open = neither side closed; half-closed (local) =
 * `localClosed` (we sent END_STREAM); half-closed (remote) = `remoteClosed`; closed = `closed`
 * (both ended, or reset). The object outlives closure while the caller still owes `consumed()`
 * for bytes it was given (`outstanding`).
 */
export class ClientStream {
  localClosed = false;
  remoteClosed = false;
  closed = false;
  phase: ResponsePhase = "awaiting";
  /** Bytes we may still send (may go negative after a SETTINGS decrease). */
  sendWindow: number;
  readonly recv: RecvWindow;
  /** DATA bytes handed to the caller and not yet `consumed()`. */
  outstanding = 0;
  /** The response's content-length, when it has one and it binds the body. */
  contentLength: number | null = null;
  /** DATA bytes received (padding excluded), checked against `contentLength`. */
  bodyBytes = 0;
  /** The request was HEAD: a response content-length describes no body (RFC 9110 §9.3.2). */
  readonly headRequest: boolean;
  /** `writeData` stopped short for lack of window: report `writable` when window returns. */
  blocked = false;

  constructor(
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
    headRequest: boolean,
  ) {
    this.sendWindow = sendWindow;
    this.recv = new RecvWindow(recvWindow);
    this.headRequest = headRequest;
  }
}
