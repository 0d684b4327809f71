import { ProxyError } from "../../errors/proxy-error.ts";
import { ConnectionState } from "./connection-state.ts";
import { H2ErrorCode } from "./errors.ts";
import { FrameHandler } from "./frame-handler.ts";
import { CLIENT_MAGIC, MAX_STREAM_ID, MAX_WINDOW, type PriorityFields } from "./frame-types.ts";
import { concatBytes, encodeFrame, encodeHeaderBlock } from "./frame-writer.ts";
import type {
  H2ClientOptions,
  H2ClientPlan,
  H2Event,
  H2HeaderEncoder,
  HeaderField,
  OpenResult,
  OpenStreamRequest,
} from "./session-types.ts";
import { DEFAULT_INITIAL_WINDOW_SIZE, DEFAULT_MAX_FRAME_SIZE, SettingId, settingValue } from "./settings.ts";
import { ClientStream } from "./stream-state.ts";

/** Default bound on queued output, 1 MiB. */
const DEFAULT_MAX_QUEUED_OUTPUT = 1 << 20;
/** Default MAX_CONCURRENT_STREAMS before the peer's SETTINGS: Chromium's kInitialMaxConcurrentStreams. */
const DEFAULT_INITIAL_MAX_CONCURRENT = 100;
/** Default cap on one compressed field block (HEADERS + CONTINUATION), 256 KiB. */
const DEFAULT_MAX_HEADER_BLOCK = 256 * 1024;

function misuse(message: string): ProxyError {
  return new ProxyError("INTERNAL", `h2 session: ${message}`);
}

function checkPlan(plan: H2ClientPlan): void {
  const id = plan.firstStreamId;
  if (!Number.isInteger(id) || id < 1 || id % 2 !== 1 || id > MAX_STREAM_ID) {
    throw misuse(`first stream id ${id} is not an odd stream id`);
  }
  const inc = plan.connectionWindowIncrement;
  if (!Number.isInteger(inc) || inc < 0 || inc > MAX_WINDOW - DEFAULT_INITIAL_WINDOW_SIZE) {
    throw misuse(`connection window increment ${inc} is out of range`);
  }
}

/**
 * The upstream HTTP/2 connection in the client role (RFC 9113), as a pure state machine: no I/O,
 * no timers. Write `preface()` first, then feed the peer's bytes to `receive()` and send whatever
 * `takeOutput()` returns after every call.
 *
 * Receive flow control is driven by the caller: each `data` event's bytes count against the
 * windows until `consumed()` gives them back, so memory per connection stays bounded by the
 * windows the plan advertises. Send flow control: `writeData()` takes what the peer's windows,
 * its max frame size and the output bound allow; a `writable` event says when to go on.
 */
export class H2ClientSession {
  private readonly s: ConnectionState;
  private readonly handler: FrameHandler;
  private readonly encoder: H2HeaderEncoder;
  private readonly plan: H2ClientPlan;

  constructor(options: H2ClientOptions) {
    const plan = options.plan;
    checkPlan(plan);
    this.plan = plan;
    this.encoder = options.encoder;
    const localWindow = settingValue(
      plan.settings,
      SettingId.INITIAL_WINDOW_SIZE,
      DEFAULT_INITIAL_WINDOW_SIZE,
    );
    const maxHeaderList = settingValue(
      plan.settings,
      SettingId.MAX_HEADER_LIST_SIZE,
      Number.POSITIVE_INFINITY,
    );
    this.s = new ConnectionState(
      plan.firstStreamId,
      DEFAULT_INITIAL_WINDOW_SIZE + plan.connectionWindowIncrement,
      localWindow,
      maxHeaderList,
      options.maxQueuedOutput ?? DEFAULT_MAX_QUEUED_OUTPUT,
      options.initialMaxConcurrentStreams ?? DEFAULT_INITIAL_MAX_CONCURRENT,
    );
    this.handler = new FrameHandler(
      this.s,
      this.encoder,
      options.decoder,
      options.maxHeaderBlockBytes ?? DEFAULT_MAX_HEADER_BLOCK,
    );
    const maxFrame = settingValue(plan.settings, SettingId.MAX_FRAME_SIZE, DEFAULT_MAX_FRAME_SIZE);
    this.handler.reader.setMaxFrameSize(Math.max(DEFAULT_MAX_FRAME_SIZE, maxFrame));
  }

  /**
   * The client connection preface, exactly as planned (RFC 9113 §3.4): magic, SETTINGS in the
   * given order, the connection WINDOW_UPDATE when the increment is not 0, the PRIORITY frames.
   * Call once, before anything else; the bytes are returned, not queued.
   */
  preface(): Uint8Array {
    if (this.s.prefaceSent) throw misuse("preface() called twice");
    const p = this.plan;
    const parts = [CLIENT_MAGIC, encodeFrame({ type: "SETTINGS", ack: false, settings: p.settings })];
    if (p.connectionWindowIncrement > 0) {
      parts.push(encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: p.connectionWindowIncrement }));
    }
    for (const f of p.priorityFrames) {
      const priority = { exclusive: f.exclusive, dependency: f.dependency, weight: f.weight };
      parts.push(encodeFrame({ type: "PRIORITY", streamId: f.streamId, priority }));
    }
    this.s.prefaceSent = true;
    return concatBytes(parts);
  }

  /**
   * Opens a request stream: HEADERS (+ CONTINUATION) with END_HEADERS, END_STREAM when
   * `endStream`, the PRIORITY flag only when `priority` is given. When refused, nothing was
   * encoded: the HPACK context is untouched.
   */
  openStream(req: OpenStreamRequest): OpenResult {
    const s = this.s;
    if (!s.prefaceSent) throw misuse("openStream() before preface()");
    if (s.closed) return { ok: false, reason: "closed" };
    if (s.goawayReceived || s.goawaySent) return { ok: false, reason: "going-away" };
    if (!s.idsLeft()) return { ok: false, reason: "ids-exhausted" };
    if (!s.canOpen()) {
      s.waitingForCapacity = true;
      return { ok: false, reason: "concurrency-limit" };
    }
    const id = s.nextStreamId;
    if (req.priority) checkPriority(req.priority, id);
    const block = this.encoder.encode(req.fields);
    const frames = encodeHeaderBlock(id, block, req, s.peer.maxFrameSize);
    s.nextStreamId += 2;
    let head = false; // a HEAD request's response has no content
    for (let i = 0; i < req.fields.length && !head; i++) {
      const f = req.fields[i] as HeaderField;
      head = f[0] === ":method" && f[1] === "HEAD";
    }
    const stream = new ClientStream(id, s.peer.initialWindowSize, s.localInitialWindow, head);
    stream.localClosed = req.endStream;
    s.streams.add(stream);
    s.liveCount++;
    s.queue(frames);
    const inc = req.windowIncrement ?? 0;
    if (inc > 0 && inc <= MAX_WINDOW - stream.recv.window) {
      stream.recv.grow(inc);
      s.queue(encodeFrame({ type: "WINDOW_UPDATE", streamId: id, increment: inc }));
    }
    return { ok: true, streamId: id };
  }

  /** Whether `openStream` would open a stream now. */
  get canOpenStream(): boolean {
    const s = this.s;
    return s.prefaceSent && !s.closed && !s.goawayReceived && !s.goawaySent && s.idsLeft() && s.canOpen();
  }

  /** Bytes `writeData` would accept on this stream now (0 when it cannot send). */
  writableBytes(streamId: number): number {
    const stream = this.s.live(streamId);
    if (!stream || stream.localClosed) return 0;
    const room = Math.max(0, this.s.maxQueuedOutput - this.s.queuedOutput);
    return Math.max(0, Math.min(stream.sendWindow, this.s.connSend, room));
  }

  /**
   * Queues request body bytes as DATA frames within the peer's windows, its max frame size and
   * the output bound; returns how many bytes were taken. END_STREAM goes on the last frame only
   * when all of `bytes` were taken (an empty array with `endStream` sends an empty END_STREAM
   * DATA frame). Short because of window: a `writable` event follows; short because of the output
   * bound: retry after `takeOutput()`. A stream reset meanwhile takes 0 bytes.
   */
  writeData(streamId: number, bytes: Uint8Array, endStream: boolean): number {
    const s = this.s;
    const stream = this.sendable(streamId, "writeData");
    if (!stream) return 0;
    const room = Math.max(0, s.maxQueuedOutput - s.queuedOutput);
    const window = Math.max(0, Math.min(stream.sendWindow, s.connSend));
    const n = Math.min(bytes.length, window, room);
    if (n < bytes.length && window < bytes.length) stream.blocked = true;
    const finish = endStream && n === bytes.length;
    if (n === 0 && !finish) return 0;
    const maxFrame = s.peer.maxFrameSize;
    let at = 0;
    do {
      const piece = bytes.subarray(at, Math.min(n, at + maxFrame));
      at += piece.length;
      s.queue(encodeFrame({ type: "DATA", streamId, endStream: finish && at === n, data: piece }));
    } while (at < n);
    stream.sendWindow -= n;
    s.connSend -= n;
    if (finish) this.endLocal(stream);
    return n;
  }

  /** Sends trailers: HEADERS with END_STREAM and END_HEADERS (+ CONTINUATION), no priority. */
  writeTrailers(streamId: number, fields: readonly HeaderField[]): void {
    const stream = this.sendable(streamId, "writeTrailers");
    if (!stream) return;
    const block = this.encoder.encode(fields);
    this.s.queue(encodeHeaderBlock(streamId, block, { endStream: true }, this.s.peer.maxFrameSize));
    this.endLocal(stream);
  }

  /** Resets a live stream with RST_STREAM (CANCEL by default, as browsers do); else a no-op. */
  resetStream(streamId: number, code: number = H2ErrorCode.CANCEL): void {
    const stream = this.s.live(streamId);
    if (!stream || this.s.closed) return;
    this.s.queue(encodeFrame({ type: "RST_STREAM", streamId, code }));
    this.s.finish(stream, "reset-local");
  }

  /** Queues GOAWAY (last stream id 0: we accept no server streams); no new streams after it. */
  goaway(code: number = H2ErrorCode.NO_ERROR, debug: Uint8Array = new Uint8Array(0)): void {
    if (this.s.closed) return;
    this.s.queue(encodeFrame({ type: "GOAWAY", lastStreamId: 0, code, debug }));
    this.s.goawaySent = true;
  }

  /** Queues a PING with the caller's 8 opaque bytes; the answer is a `ping-ack` event. */
  ping(opaque: Uint8Array): void {
    if (this.s.closed) return;
    this.s.queue(encodeFrame({ type: "PING", ack: false, opaque }));
  }

  /**
   * The caller took `n` bytes of a stream's `data` events: returns them to the stream and
   * connection windows (WINDOW_UPDATE once half a window is due). A no-op after the stream was
   * reset, as the session already released its bytes then.
   */
  consumed(streamId: number, n: number): void {
    const s = this.s;
    const stream = s.streams.get(streamId);
    if (!stream || s.closed) return;
    const take = Math.min(Math.max(0, Math.floor(n)), stream.outstanding);
    stream.outstanding -= take;
    s.releaseStream(stream, take);
    if (stream.closed && stream.outstanding === 0) s.streams.remove(streamId);
  }

  /** Feeds the peer's bytes; returns what happened, in order (plus events from local actions). */
  receive(bytes: Uint8Array): H2Event[] {
    this.handler.receive(bytes);
    return this.takeEvents();
  }

  /** Events produced since the last call (e.g. `open-capacity` after a local reset). */
  takeEvents(): H2Event[] {
    // Handed over whole, not copied out: the state starts a new list.
    const s = this.s;
    const events = s.events;
    if (events.length === 0) return [];
    s.events = [];
    return events;
  }

  /** All queued output as one array (empty when there is none). */
  takeOutput(): Uint8Array {
    return this.s.takeOutput();
  }

  get queuedOutput(): number {
    return this.s.queuedOutput;
  }

  /** Streams open or half-closed (what MAX_CONCURRENT_STREAMS counts). */
  get activeStreams(): number {
    return this.s.liveCount;
  }

  /** Closed after a connection error: nothing more is sent or received. */
  get closed(): boolean {
    return this.s.closed;
  }

  /** The peer's SETTINGS enabled RFC 8441 extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL = 1). */
  get extendedConnect(): boolean {
    return this.s.peer.enableConnectProtocol === 1;
  }

  /** A GOAWAY was received or sent: no new streams; existing ones run to completion. */
  get goingAway(): boolean {
    return this.s.goawayReceived || this.s.goawaySent;
  }

  private sendable(streamId: number, what: string): ClientStream | undefined {
    const stream = this.s.streams.get(streamId);
    if (!stream && (streamId % 2 === 0 || streamId >= this.s.nextStreamId)) {
      throw misuse(`${what} on stream ${streamId}, which was never opened`);
    }
    if (!stream || stream.closed || this.s.closed) return undefined;
    if (stream.localClosed) throw misuse(`${what} on stream ${streamId} after its END_STREAM`);
    return stream;
  }

  private endLocal(stream: ClientStream): void {
    stream.localClosed = true;
    stream.blocked = false;
    this.s.finishIfDone(stream);
  }
}

function checkPriority(p: PriorityFields, streamId: number): void {
  if (!Number.isInteger(p.weight) || p.weight < 1 || p.weight > 256)
    throw misuse(`weight ${p.weight} is not 1..256`);
  if (!Number.isInteger(p.dependency) || p.dependency < 0 || p.dependency > MAX_STREAM_ID) {
    throw misuse(`dependency ${p.dependency} is not a stream id`);
  }
  if (p.dependency === streamId) throw misuse(`stream ${streamId} cannot depend on itself`);
}
