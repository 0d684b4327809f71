import { connectionError, type H2Error, H2ErrorCode } from "./errors.ts";
import { idleFrame } from "./flood.ts";
import { growSendWindow, RecvWindow } from "./flow-window.ts";
import { type Frame, FrameFlag, type Setting } from "./frame-types.ts";
import { encodeFrame, encodeHeaderBlock } from "./frame-writer.ts";
import type { ServerStream } from "./server-stream.ts";
import type { H2ServerEvent } from "./server-types.ts";
import type { H2HeaderEncoder, HeaderField } from "./session-types.ts";
import { DEFAULT_INITIAL_WINDOW_SIZE, PeerSettings, SettingId, validateSetting } from "./settings.ts";
import { StreamTable } from "./stream-table.ts";

/**
 * Resets (by the client, or ours for its stream errors) and refusals a connection may cost before
 * it is ended with ENHANCE_YOUR_CALM; each normally finished exchange earns one back, up to this
 * (rapid reset, CVE-2023-44487; the burst of nghttp2's stream reset limiter).
 */
const RESET_BUDGET = 1000;

/** Largest HPACK table size our encoder uses, whatever the client allows (bytes). */
const MAX_ENCODER_TABLE = 4096;
/** Reset stream ids remembered, so that the client's late frames on them are ignored (§5.1). */
const REMEMBERED_RESETS = 128;

const EMPTY = new Uint8Array(0);

/**
 * The shared state of one server connection: streams, windows, the client's settings, the output
 * queue and the pending events. `H2ServerSession` (the API) and `ServerFrameHandler` (receive
 * side) both work on it.
 */
export class ServerState {
  readonly peer = new PeerSettings();
  /** Streams kept: live, or closed with bytes the caller still owes. */
  readonly streams = new StreamTable<ServerStream>();
  readonly connRecv: RecvWindow;
  events: H2ServerEvent[] = [];
  connSend = DEFAULT_INITIAL_WINDOW_SIZE;
  /** Highest client stream id seen (opened, refused or ignored). */
  lastStreamId = 0;
  /** Highest stream id handed to the caller (GOAWAY's last stream id). */
  lastReported = 0;
  liveCount = 0;
  goawaySent = false;
  goawayReceived = false;
  closed = false;
  resetBudget = RESET_BUDGET;
  idleFrames = 0;
  /** Streams with response bytes waiting for window. */
  waiting = 0;
  out: Uint8Array[] = [];
  outBytes = 0;
  /** Streams whose `headFrame` is in `out` (cleared when the output is taken). */
  readonly queuedHeads: ServerStream[] = [];
  /** Recently reset stream ids, oldest first (made on first use). */
  resets: Set<number> | null = null;

  constructor(
    readonly encoder: H2HeaderEncoder,
    readonly maxConcurrent: number,
    readonly localInitialWindow: number,
    connectionWindow: number,
  ) {
    this.connRecv = new RecvWindow(connectionWindow);
  }

  queue(bytes: Uint8Array): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
  }

  queueFrame(frame: Frame): void {
    this.queue(encodeFrame(frame));
  }

  live(id: number): ServerStream | undefined {
    const s = this.streams.get(id);
    return s !== undefined && !s.closed ? s : undefined;
  }

  /** A frame that made no progress; too many in a row is a flood. */
  idle(): void {
    this.idleFrames = idleFrame(this.idleFrames);
  }

  /** A reset or refusal the client caused; too many is a flood (rapid reset). */
  spendReset(): void {
    if (--this.resetBudget < 0) {
      throw connectionError(H2ErrorCode.ENHANCE_YOUR_CALM, "too many streams reset or refused");
    }
  }

  /** Marks a live stream closed; `reason` "ended" when both sides finished. */
  /**
   * `ended`: both sides ended it; else it was reset, and `remember` (a reset of ours) keeps its id
   * so that frames the client sent before it knew are ignored (after the client's own reset, a
   * frame on it is a stream error, STREAM_CLOSED: RFC 9113 §5.1).
   */
  finish(stream: ServerStream, ended: boolean, remember = true): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.localClosed = true;
    stream.remoteClosed = true;
    if (stream.queue !== null) {
      this.waiting--;
      stream.queue = null;
      stream.queued = 0;
    }
    stream.pendingEnd = null;
    stream.wantDrain = false;
    this.liveCount--;
    if (!ended && remember) this.rememberReset(stream.id);
    if (ended) {
      if (stream.earnsReset && this.resetBudget < RESET_BUDGET) this.resetBudget++;
    } else if (stream.outstanding > 0) {
      this.releaseConnection(stream.outstanding);
      stream.outstanding = 0;
    }
    if (stream.outstanding === 0) this.streams.remove(stream.id);
  }

  /** A stream that was reset (or refused): frames the client sent before it knew are ignored. */
  rememberReset(id: number): void {
    this.resets ??= new Set();
    this.resets.add(id);
    if (this.resets.size > REMEMBERED_RESETS) {
      const oldest = this.resets.values().next();
      if (!oldest.done) this.resets.delete(oldest.value);
    }
  }

  wasReset(id: number): boolean {
    return this.resets?.has(id) === true;
  }

  finishIfDone(stream: ServerStream): void {
    if (stream.localClosed && stream.remoteClosed) this.finish(stream, true);
  }

  /** Stream error of the client's: RST_STREAM with `code`, and `reset` when the caller knows it. */
  resetLocal(stream: ServerStream, code: number): void {
    this.queueFrame({ type: "RST_STREAM", streamId: stream.id, code });
    this.finish(stream, false);
    if (stream.reported) this.events.push({ type: "reset", streamId: stream.id, code, remote: false });
    this.spendReset();
  }

  releaseConnection(n: number): void {
    if (n <= 0 || this.closed) return;
    const increment = this.connRecv.release(n);
    if (increment > 0) this.queueFrame({ type: "WINDOW_UPDATE", streamId: 0, increment });
  }

  releaseStream(stream: ServerStream, n: number): void {
    if (n <= 0) return;
    const recv = stream.recv; // made by the DATA whose bytes these are
    if (recv !== null && !stream.closed && !stream.remoteClosed) {
      const increment = recv.release(n);
      if (increment > 0) this.queueFrame({ type: "WINDOW_UPDATE", streamId: stream.id, increment });
    }
    this.releaseConnection(n);
  }

  /** A field block (HEADERS + CONTINUATION) split to the client's max frame size; its frames. */
  sendBlock(stream: ServerStream, fields: readonly HeaderField[], endStream: boolean): Uint8Array {
    const block = this.encoder.encode(fields);
    const frames = encodeHeaderBlock(stream.id, block, { endStream }, this.peer.maxFrameSize);
    this.queue(frames);
    return frames;
  }

  /** The output was taken: queued heads can no longer be given END_STREAM. */
  outputTaken(): void {
    const heads = this.queuedHeads;
    if (heads.length === 0) return;
    for (let i = 0; i < heads.length; i++) (heads[i] as ServerStream).headFrame = null;
    heads.length = 0;
  }

  /** Frames as much of `bytes` as both windows allow; returns the count taken. */
  frameData(stream: ServerStream, bytes: Uint8Array): number {
    const window = Math.min(stream.sendWindow, this.connSend);
    if (window <= 0) return 0;
    const n = Math.min(bytes.length, window);
    const max = this.peer.maxFrameSize;
    for (let at = 0; at < n; ) {
      const end = Math.min(n, at + max);
      // The whole chunk as is when it fits one frame (the usual small body): a view costs more
      // than the frame's copy of it (JSC gives a typed array's first view its own ArrayBuffer).
      const data = at === 0 && end === bytes.length ? bytes : bytes.subarray(at, end);
      this.queueFrame({ type: "DATA", streamId: stream.id, endStream: false, data });
      at = end;
    }
    stream.sendWindow -= n;
    this.connSend -= n;
    if (n > 0) stream.headFrame = null;
    return n;
  }

  /**
   * END_STREAM: trailers as HEADERS; else on the response head's HEADERS frame when nothing
   * followed it and it is still queued; else an empty DATA frame (never RST_STREAM(NO_ERROR)).
   */
  endLocal(stream: ServerStream, trailers: readonly HeaderField[]): void {
    const head = stream.headFrame;
    stream.headFrame = null;
    if (trailers.length > 0) this.sendBlock(stream, trailers, true);
    else if (head !== null)
      head[4] = (head[4] as number) | FrameFlag.END_STREAM; // still queued
    else this.queueFrame({ type: "DATA", streamId: stream.id, endStream: true, data: EMPTY });
    stream.localClosed = true;
    this.finishIfDone(stream);
  }

  /** Sends what waits for window on every stream, in stream order, now that window grew. */
  pump(): void {
    if (this.waiting === 0 || this.connSend <= 0) return;
    for (const stream of this.streams.values()) {
      const q = stream.queue;
      if (q === null || stream.closed) continue;
      while (q.length > 0) {
        const chunk = q[0] as Uint8Array;
        const n = this.frameData(stream, chunk);
        stream.queued -= n;
        if (n < chunk.length) {
          q[0] = chunk.subarray(n);
          break;
        }
        q.shift();
      }
      if (q.length > 0) {
        if (this.connSend <= 0) return;
        continue;
      }
      stream.queue = null;
      this.waiting--;
      const end = stream.pendingEnd;
      stream.pendingEnd = null;
      if (end !== null) {
        this.endLocal(stream, end);
        this.events.push({ type: "ended", streamId: stream.id });
      } else if (stream.wantDrain) {
        stream.wantDrain = false;
        this.events.push({ type: "drained", streamId: stream.id });
      }
    }
  }

  /**
   * The client's SETTINGS (RFC 9113 §6.5): each checked and applied (INITIAL_WINDOW_SIZE moves
   * every open stream's send window, §6.9.2; HEADER_TABLE_SIZE bounds our encoder's table), then
   * ACKed; window that grew is used at once.
   */
  applySettings(settings: readonly Setting[]): void {
    for (const setting of settings) {
      validateSetting(setting);
      const [id, value] = setting;
      if (id === SettingId.INITIAL_WINDOW_SIZE) {
        const delta = value - this.peer.initialWindowSize;
        for (const stream of this.streams.values()) {
          if (!stream.closed) stream.sendWindow = growSendWindow(stream.sendWindow, delta, stream.id, true);
        }
      } else if (id === SettingId.HEADER_TABLE_SIZE) {
        this.encoder.setMaxTableSize(Math.min(value, MAX_ENCODER_TABLE));
      }
      this.peer.apply(setting);
    }
    this.queueFrame({ type: "SETTINGS", ack: true, settings: [] });
    this.pump();
  }

  /**
   * Graceful GOAWAY (NO_ERROR, RFC 9113 §6.8): the streams handed to the caller go on; no later
   * stream is opened (the client may send those again elsewhere).
   */
  goaway(): void {
    if (this.closed || this.goawaySent) return;
    this.queueFrame({
      type: "GOAWAY",
      lastStreamId: this.lastReported,
      code: H2ErrorCode.NO_ERROR,
      debug: EMPTY,
    });
    this.goawaySent = true;
  }

  /** Connection error: GOAWAY with the code, every stream gone, the session closed. */
  fail(error: H2Error): void {
    if (this.closed) return;
    const debug = EMPTY;
    this.queueFrame({ type: "GOAWAY", lastStreamId: this.lastReported, code: error.h2Code, debug });
    this.goawaySent = true;
    this.closed = true;
    this.streams.clear();
    this.liveCount = 0;
    this.waiting = 0;
    this.events.push({ type: "connection-error", error });
  }
}
