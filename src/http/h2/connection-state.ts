import { ClosedStreams } from "./closed-streams.ts";
import { connectionError, type H2Error, H2ErrorCode } from "./errors.ts";
import { idleFrame } from "./flood.ts";
import { RecvWindow } from "./flow-window.ts";
import { type Frame, MAX_STREAM_ID } from "./frame-types.ts";
import { concatBytes, encodeFrame } from "./frame-writer.ts";
import type { H2Event } from "./session-types.ts";
import { DEFAULT_INITIAL_WINDOW_SIZE, PeerSettings } from "./settings.ts";
import type { ClientStream, CloseReason } from "./stream-state.ts";
import { StreamTable } from "./stream-table.ts";

/** Closed stream ids remembered to judge late frames (RFC 9113 §5.1); older ones are ignored. */
const REMEMBERED_CLOSED_STREAMS = 1024;
/** Close reasons, in the code order `ClosedStreams` keeps. */
const REASONS: readonly CloseReason[] = ["ended", "reset-local", "reset-remote", "refused"];
/** What `takeOutput` returns when nothing is queued (empty: nothing can be written into it). */
const NO_OUTPUT = new Uint8Array(0);
/** Factor over `maxQueuedOutput` up to which self-generated control frames may queue. */
const CONTROL_OUTPUT_FACTOR = 4;

/**
 * The shared state of one client connection: streams, windows, peer settings, the output queue
 * and the pending events. `H2ClientSession` (the API) and `FrameHandler` (receive side) both
 * work on it.
 */
export class ConnectionState {
  readonly peer = new PeerSettings();
  /** Streams kept: live, or closed with bytes the caller still owes. */
  readonly streams = new StreamTable<ClientStream>();
  /** Why the last REMEMBERED_CLOSED_STREAMS streams closed. */
  readonly #closed = new ClosedStreams(REASONS, REMEMBERED_CLOSED_STREAMS);
  readonly connRecv: RecvWindow;
  /** Pending events; `H2ClientSession.takeEvents` takes the list and puts a new one here. */
  events: H2Event[] = [];
  connSend = DEFAULT_INITIAL_WINDOW_SIZE;
  nextStreamId: number;
  liveCount = 0;
  /** MAX_CONCURRENT_STREAMS in force: assumed until the peer's first SETTINGS. */
  maxConcurrent: number;
  peerSettingsSeen = false;
  prefaceSent = false;
  goawayReceived = false;
  goawaySent = false;
  closed = false;
  /** `openStream` refused for concurrency; report `open-capacity` when a slot frees. */
  waitingForCapacity = false;
  /** Frames in a row from the peer that made no progress (flood.ts). */
  idleFrames = 0;
  private out: Uint8Array[] = [];
  private outBytes = 0;

  constructor(
    firstStreamId: number,
    connectionRecvWindow: number,
    readonly localInitialWindow: number,
    readonly localMaxHeaderList: number,
    readonly maxQueuedOutput: number,
    initialMaxConcurrent: number,
  ) {
    this.nextStreamId = firstStreamId;
    this.connRecv = new RecvWindow(connectionRecvWindow);
    this.maxConcurrent = initialMaxConcurrent;
  }

  get queuedOutput(): number {
    return this.outBytes;
  }

  queue(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.out.push(bytes);
    this.outBytes += bytes.length;
  }

  /** Queues a frame the session sends on its own in answer to the peer; bounded against floods. */
  queueControl(frame: Frame): void {
    if (this.outBytes > this.maxQueuedOutput * CONTROL_OUTPUT_FACTOR) {
      throw connectionError(
        H2ErrorCode.ENHANCE_YOUR_CALM,
        `${this.outBytes} bytes of output queued: peer is flooding`,
      );
    }
    this.queue(encodeFrame(frame));
  }

  /** A frame that made no progress; too many in a row is a flood (an origin's PING or CONTINUATION flood). */
  idle(): void {
    this.idleFrames = idleFrame(this.idleFrames);
  }

  takeOutput(): Uint8Array {
    if (this.out.length === 0) return NO_OUTPUT; // the usual answer after a received frame: no allocation
    const bytes = concatBytes(this.out);
    this.out = [];
    this.outBytes = 0;
    return bytes;
  }

  /** The stream when it is live (not closed). */
  live(id: number): ClientStream | undefined {
    const s = this.streams.get(id);
    return s && !s.closed ? s : undefined;
  }

  /** Why a client stream id we used is closed, or undefined when it was never opened (idle). */
  closedReason(id: number): CloseReason | undefined {
    if (id % 2 === 0 || id >= this.nextStreamId) return undefined;
    // Never remembered, or forgotten: REMEMBERED_CLOSED_STREAMS or more streams closed after it.
    return this.#closed.reason(id) ?? "reset-local";
  }

  canOpen(): boolean {
    return this.liveCount < this.maxConcurrent;
  }

  idsLeft(): boolean {
    return this.nextStreamId <= MAX_STREAM_ID;
  }

  /** Marks a live stream closed; resets give the caller's unconsumed bytes back at once. */
  finish(stream: ClientStream, reason: CloseReason): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.localClosed = true;
    stream.remoteClosed = true;
    stream.blocked = false;
    this.liveCount--;
    this.#closed.remember(stream.id, reason);
    if (reason !== "ended" && stream.outstanding > 0) {
      this.releaseConnection(stream.outstanding);
      stream.outstanding = 0;
    }
    if (stream.outstanding === 0) this.streams.remove(stream.id);
    if (this.waitingForCapacity && this.canOpen() && !this.goawayReceived && !this.goawaySent) {
      this.waitingForCapacity = false;
      this.events.push({ type: "open-capacity" });
    }
  }

  /** Closes the stream if both sides have now ended. */
  finishIfDone(stream: ClientStream): void {
    if (stream.localClosed && stream.remoteClosed) this.finish(stream, "ended");
  }

  /** Stream error of the peer's: RST_STREAM with `code` and a `reset` event saying why. */
  resetLocal(stream: ClientStream, code: number, reason: string): void {
    this.queueControl({ type: "RST_STREAM", streamId: stream.id, code });
    this.finish(stream, "reset-local");
    this.events.push({ type: "reset", streamId: stream.id, code, remote: false, retryable: false, reason });
  }

  /** Returns connection credit; queues a connection WINDOW_UPDATE when due. */
  releaseConnection(n: number): void {
    if (n <= 0 || this.closed) return;
    const increment = this.connRecv.release(n);
    if (increment > 0) this.queueControl({ type: "WINDOW_UPDATE", streamId: 0, increment });
  }

  /** Returns stream credit (and the same connection credit); WINDOW_UPDATEs when due. */
  releaseStream(stream: ClientStream, n: number): void {
    if (n <= 0) return;
    if (!stream.closed && !stream.remoteClosed) {
      const increment = stream.recv.release(n);
      if (increment > 0) this.queueControl({ type: "WINDOW_UPDATE", streamId: stream.id, increment });
    }
    this.releaseConnection(n);
  }

  /** Connection error: GOAWAY with the code, every stream gone, the session closed. */
  fail(error: H2Error): void {
    if (this.closed) return;
    // No debug data: our own messages would set us apart from a browser.
    const debug = new Uint8Array(0);
    this.queue(encodeFrame({ type: "GOAWAY", lastStreamId: 0, code: error.h2Code, debug }));
    this.goawaySent = true;
    this.closed = true;
    for (const s of this.streams.values()) {
      s.closed = true;
      s.outstanding = 0;
    }
    this.streams.clear();
    this.liveCount = 0;
    this.events.push({ type: "connection-error", error });
  }
}
