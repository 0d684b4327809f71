import { BlockHandler } from "./block-handler.ts";
import { appendChunk } from "./chunk-list.ts";
import type { ConnectionState } from "./connection-state.ts";
import { connectionError, H2Error, H2ErrorCode, streamError } from "./errors.ts";
import { growSendWindow } from "./flow-window.ts";
import { FrameReader } from "./frame-reader.ts";
import {
  type DataFrame,
  dataFlowLength,
  type Frame,
  type GoawayFrame,
  type PendingBlock,
  type PriorityFields,
  type SettingsFrame,
  type WindowUpdateFrame,
} from "./frame-types.ts";
import { concatBytes } from "./frame-writer.ts";
import type { H2HeaderDecoder, H2HeaderEncoder } from "./session-types.ts";
import { SettingId, validateSetting } from "./settings.ts";
import type { ClientStream } from "./stream-state.ts";

const { NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, REFUSED_STREAM } = H2ErrorCode;

/**
 * The receive side of a client connection: reads frames and applies them to the state (RFC 9113
 * §5.1 stream states, §6 frame semantics, §6.9 flow control), pushing events. Field blocks go to
 * `BlockHandler`.
 */
export class FrameHandler {
  readonly reader = new FrameReader();
  private readonly blocks: BlockHandler;
  private pending: PendingBlock | null = null;

  constructor(
    private readonly s: ConnectionState,
    private readonly encoder: H2HeaderEncoder,
    decoder: H2HeaderDecoder,
    private readonly maxHeaderBlockBytes: number,
  ) {
    this.blocks = new BlockHandler(s, decoder);
  }

  /** Feeds bytes; frames are applied until the input runs out or the connection fails. */
  receive(bytes: Uint8Array): void {
    if (this.s.closed) return;
    this.reader.push(bytes);
    try {
      for (;;) {
        let frame: Frame | null;
        try {
          frame = this.reader.next();
        } catch (err) {
          if (!(err instanceof H2Error) || err.isConnectionError) throw err;
          this.streamFailure(err);
          continue;
        }
        if (frame === null) break;
        this.apply(frame);
        if (this.s.closed) break;
      }
    } catch (err) {
      const error =
        err instanceof H2Error && err.isConnectionError
          ? err
          : connectionError(H2ErrorCode.INTERNAL_ERROR, "frame handling failed", { cause: err });
      this.s.fail(error);
    }
  }

  /** A stream error from reading: reset the stream if it is live (never RST an idle stream). */
  private streamFailure(err: H2Error): void {
    const stream = this.s.live(err.streamId);
    if (stream) this.s.resetLocal(stream, err.h2Code, err.message);
  }

  private apply(frame: Frame): void {
    if (!this.s.peerSettingsSeen && (frame.type !== "SETTINGS" || frame.ack)) {
      throw connectionError(PROTOCOL_ERROR, `${frame.type} before the server's SETTINGS (§3.4)`);
    }
    try {
      this.dispatch(frame);
    } catch (err) {
      if (!(err instanceof H2Error) || err.isConnectionError) throw err;
      this.streamFailure(err);
    }
  }

  private dispatch(frame: Frame): void {
    const s = this.s;
    switch (frame.type) {
      case "DATA":
        this.onData(frame);
        return;
      case "HEADERS":
        this.startBlock(frame.streamId, frame.endStream, frame.priority, frame.block, frame.endHeaders);
        return;
      case "CONTINUATION": {
        const p = this.pending;
        if (!p) throw connectionError(PROTOCOL_ERROR, "CONTINUATION without HEADERS");
        this.addChunk(p, frame.block);
        if (frame.endHeaders) this.endBlock(p);
        return;
      }
      case "PRIORITY": // advisory; a client has nothing to reprioritise
      case "UNKNOWN": // ignored on any stream (§5.5)
        s.idle();
        return;
      case "RST_STREAM": {
        this.checkNotIdle(frame.streamId, "RST_STREAM");
        const stream = s.live(frame.streamId);
        if (!stream) return;
        // The whole declared body is in: a server that ends with RST_STREAM(NO_ERROR) instead of
        // END_STREAM (Node does once it no longer needs the request) completed the response
        // (§8.1 allows NO_ERROR after a complete one); what was received is not thrown away.
        const complete =
          frame.code === NO_ERROR &&
          stream.phase === "body" &&
          !stream.remoteClosed &&
          stream.contentLength !== null &&
          stream.bodyBytes === stream.contentLength;
        s.finish(stream, "reset-remote");
        if (complete) {
          s.events.push({ type: "end", streamId: stream.id });
          return;
        }
        s.events.push({
          type: "reset",
          streamId: stream.id,
          code: frame.code,
          remote: true,
          retryable: frame.code === REFUSED_STREAM,
        });
        return;
      }
      case "SETTINGS":
        this.onSettings(frame);
        return;
      case "PUSH_PROMISE":
        throw connectionError(PROTOCOL_ERROR, "PUSH_PROMISE although push is disabled");
      case "PING":
        s.idle();
        if (frame.ack) s.events.push({ type: "ping-ack", opaque: frame.opaque.slice() });
        else s.queueControl({ type: "PING", ack: true, opaque: frame.opaque.slice() });
        return;
      case "GOAWAY":
        this.onGoaway(frame);
        return;
      case "WINDOW_UPDATE":
        this.onWindowUpdate(frame);
        return;
    }
  }

  /** §5.1 idle: only HEADERS and PRIORITY may name a stream not yet opened; the server opens none. */
  private checkNotIdle(streamId: number, what: string): void {
    if (streamId % 2 === 0 || streamId >= this.s.nextStreamId) {
      throw connectionError(PROTOCOL_ERROR, `${what} on idle stream ${streamId}`);
    }
  }

  private onData(frame: DataFrame): void {
    const s = this.s;
    const streamId = frame.streamId;
    const length = frame.data.length;
    this.checkNotIdle(streamId, "DATA");
    const flow = frame.padLength === undefined ? length : dataFlowLength(frame);
    if (!s.connRecv.receive(flow)) {
      throw connectionError(FLOW_CONTROL_ERROR, `DATA of ${flow} bytes exceeds the connection window`);
    }
    const stream = s.live(streamId);
    if (!stream) {
      s.releaseConnection(flow);
      s.idle();
      const reason = s.closedReason(streamId);
      if (reason === "ended" || reason === "reset-remote") {
        s.queueControl({ type: "RST_STREAM", streamId, code: STREAM_CLOSED });
      }
      return;
    }
    if (stream.remoteClosed) this.dataFailure(stream, flow, STREAM_CLOSED, "DATA after END_STREAM");
    if (!stream.recv.receive(flow))
      this.dataFailure(stream, flow, FLOW_CONTROL_ERROR, `DATA of ${flow} bytes exceeds the stream window`);
    if (stream.phase !== "body")
      this.dataFailure(stream, flow, PROTOCOL_ERROR, "DATA before the final response headers");
    stream.bodyBytes += length;
    const limit = stream.contentLength;
    if (limit !== null && (stream.bodyBytes > limit || (frame.endStream && stream.bodyBytes !== limit))) {
      this.dataFailure(
        stream,
        flow,
        PROTOCOL_ERROR,
        `body of ${stream.bodyBytes}+ bytes does not match content-length ${limit}`,
      );
    }
    s.releaseStream(stream, flow - length); // padding is never the caller's
    if (length > 0) {
      s.idleFrames = 0;
      stream.outstanding += length;
      s.events.push({ type: "data", streamId, data: frame.data, flowLength: flow });
    } else if (!frame.endStream) s.idle();
    if (frame.endStream) {
      stream.remoteClosed = true;
      s.events.push({ type: "end", streamId });
      s.finishIfDone(stream);
    }
  }

  /** A stream error on a DATA frame whose `flow` bytes were counted: give them back, then throw. */
  private dataFailure(stream: ClientStream, flow: number, code: number, message: string): never {
    this.s.releaseConnection(flow);
    throw streamError(code, stream.id, message);
  }

  private startBlock(
    streamId: number,
    endStream: boolean,
    priority: PriorityFields | undefined,
    first: Uint8Array,
    endHeaders: boolean,
  ): void {
    this.checkBlockSize(first.length);
    if (endHeaders) {
      // The usual case, a block in one HEADERS frame: no collecting.
      this.checkNotIdle(streamId, "HEADERS");
      this.s.idleFrames = 0; // a whole field block: progress
      this.blocks.onBlock(streamId, first, endStream, priority);
      return;
    }
    this.pending = { streamId, endStream, priority, chunks: [first], size: first.length };
  }

  private addChunk(p: PendingBlock, chunk: Uint8Array): void {
    p.size += chunk.length;
    this.checkBlockSize(p.size);
    if (chunk.length === 0) this.s.idle(); // an empty CONTINUATION makes no progress
    appendChunk(p.chunks, chunk); // a block in 1-byte CONTINUATION frames costs its bytes
  }

  private checkBlockSize(size: number): void {
    if (size > this.maxHeaderBlockBytes) {
      throw connectionError(
        H2ErrorCode.ENHANCE_YOUR_CALM,
        `field block over ${this.maxHeaderBlockBytes} bytes`,
      );
    }
  }

  private endBlock(p: PendingBlock): void {
    this.pending = null;
    this.s.idleFrames = 0; // a whole field block: progress
    this.checkNotIdle(p.streamId, "HEADERS");
    this.blocks.onBlock(p.streamId, concatBytes(p.chunks), p.endStream, p.priority);
  }

  private onSettings(frame: SettingsFrame): void {
    const s = this.s;
    if (frame.ack) {
      s.events.push({ type: "settings-ack" });
      return;
    }
    s.peerSettingsSeen = true;
    for (const setting of frame.settings) {
      validateSetting(setting);
      const [id, value] = setting;
      if (id === SettingId.ENABLE_PUSH && value !== 0) {
        throw connectionError(PROTOCOL_ERROR, "server sent SETTINGS_ENABLE_PUSH 1 (§6.5.2)");
      }
      if (id === SettingId.INITIAL_WINDOW_SIZE) {
        const delta = value - s.peer.initialWindowSize;
        for (const stream of s.streams.values()) {
          if (!stream.closed) stream.sendWindow = growSendWindow(stream.sendWindow, delta, stream.id, true);
        }
      }
      if (id === SettingId.HEADER_TABLE_SIZE) this.encoder.setMaxTableSize(value);
      s.peer.apply(setting);
    }
    s.maxConcurrent = s.peer.maxConcurrentStreams;
    s.queueControl({ type: "SETTINGS", ack: true, settings: [] });
    s.events.push({ type: "settings", settings: frame.settings });
    this.announceWritable();
    if (s.waitingForCapacity && s.canOpen() && !s.goawayReceived && !s.goawaySent) {
      s.waitingForCapacity = false;
      s.events.push({ type: "open-capacity" });
    }
  }

  private onWindowUpdate(frame: WindowUpdateFrame): void {
    const s = this.s;
    if (frame.streamId === 0) {
      s.connSend = growSendWindow(s.connSend, frame.increment, 0, false);
      this.announceWritable();
      return;
    }
    this.checkNotIdle(frame.streamId, "WINDOW_UPDATE");
    const stream = s.live(frame.streamId);
    if (!stream) {
      s.idle(); // for a stream that is over: no progress
      return;
    }
    stream.sendWindow = growSendWindow(stream.sendWindow, frame.increment, stream.id, false);
    this.announceWritable();
  }

  /** `writable` for every stream `writeData` left short that now has window on both levels. */
  private announceWritable(): void {
    const s = this.s;
    if (s.connSend <= 0) return;
    for (const stream of s.streams.values()) {
      if (stream.blocked && !stream.closed && stream.sendWindow > 0) {
        stream.blocked = false;
        s.events.push({ type: "writable", streamId: stream.id });
      }
    }
  }

  private onGoaway(frame: GoawayFrame): void {
    const s = this.s;
    s.goawayReceived = true;
    s.events.push({
      type: "goaway",
      lastStreamId: frame.lastStreamId,
      code: frame.code,
      debug: frame.debug.slice(),
    });
    for (const stream of [...s.streams.values()]) {
      if (stream.closed || stream.id <= frame.lastStreamId) continue;
      s.finish(stream, "refused");
      s.events.push({
        type: "reset",
        streamId: stream.id,
        code: REFUSED_STREAM,
        remote: true,
        retryable: true,
      });
    }
  }
}
