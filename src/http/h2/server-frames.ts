import { HpackError } from "../hpack/errors.ts";
import { appendChunk } from "./chunk-list.ts";
import { connectionError, H2Error, H2ErrorCode, streamError } from "./errors.ts";
import { growSendWindow, RecvWindow } from "./flow-window.ts";
import { FrameReader } from "./frame-reader.ts";
import {
  type DataFrame,
  dataFlowLength,
  type Frame,
  type PendingBlock,
  type PriorityFields,
} from "./frame-types.ts";
import { concatBytes } from "./frame-writer.ts";
import { checkRequestFields, checkRequestTrailers, listSize } from "./server-request.ts";
import type { ServerState } from "./server-state.ts";
import { ServerStream } from "./server-stream.ts";
import type { H2HeaderDecoder, HeaderField } from "./session-types.ts";

const { PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, REFUSED_STREAM } = H2ErrorCode;

/**
 * The receive side of a server connection: reads the client's frames and applies them to the
 * state (RFC 9113 §5.1 stream states, §6 frame semantics, §6.9 flow control, §8 requests),
 * pushing events. Mirrors the client role's FrameHandler.
 */
export class ServerFrameHandler {
  readonly reader = new FrameReader();
  #pending: PendingBlock | null = null;
  #settingsSeen = false;

  constructor(
    private readonly s: ServerState,
    private readonly decoder: H2HeaderDecoder,
    private readonly maxHeaderList: number,
    private readonly maxBlockBytes: number,
  ) {}

  /** Feeds bytes (after the client magic); frames are applied until the input runs out. */
  receive(bytes: Uint8Array): void {
    const s = this.s;
    if (s.closed) return;
    this.reader.push(bytes);
    try {
      for (;;) {
        let frame: Frame | null;
        try {
          frame = this.reader.next();
        } catch (err) {
          if (!(err instanceof H2Error) || err.isConnectionError) throw err;
          this.#streamFailure(err);
          continue;
        }
        if (frame === null) break;
        this.#apply(frame);
        if (s.closed) break;
      }
    } catch (err) {
      const error =
        err instanceof H2Error && err.isConnectionError
          ? err
          : connectionError(H2ErrorCode.INTERNAL_ERROR, "frame handling failed", { cause: err });
      s.fail(error);
    }
  }

  /**
   * A stream error: reset the stream when it is live. An idle stream cannot be reset (§6.4): its
   * error ends the connection instead, as nghttp2 does (a PRIORITY naming itself, §5.3.1; §5.4.1
   * allows any stream error to be one of the connection). On a closed stream it is ignored.
   */
  #streamFailure(err: H2Error): void {
    const stream = this.s.live(err.streamId);
    if (stream) this.s.resetLocal(stream, err.h2Code);
    else if (err.streamId > this.s.lastStreamId)
      throw connectionError(err.h2Code, err.message, { cause: err });
    else this.s.idle();
  }

  #apply(frame: Frame): void {
    if (!this.#settingsSeen) {
      if (frame.type !== "SETTINGS" || frame.ack) {
        throw connectionError(PROTOCOL_ERROR, `${frame.type} before the client's SETTINGS (§3.4)`);
      }
      this.#settingsSeen = true;
    }
    try {
      this.#dispatch(frame);
    } catch (err) {
      if (!(err instanceof H2Error) || err.isConnectionError) throw err;
      this.#streamFailure(err);
    }
  }

  #dispatch(frame: Frame): void {
    const s = this.s;
    switch (frame.type) {
      case "DATA":
        this.#onData(frame);
        return;
      case "HEADERS":
        if (frame.streamId % 2 === 0)
          throw connectionError(PROTOCOL_ERROR, `HEADERS on even stream ${frame.streamId}`);
        if (frame.endHeaders) {
          // The usual whole block in one frame: no PendingBlock to collect it in.
          this.#checkBlockSize(frame.block.length);
          this.#onBlock(frame.streamId, frame.endStream, frame.priority, frame.block);
          return;
        }
        this.#addChunk(
          {
            streamId: frame.streamId,
            endStream: frame.endStream,
            priority: frame.priority,
            chunks: [],
            size: 0,
          },
          frame.block,
          frame.endHeaders,
        );
        return;
      case "CONTINUATION": {
        const p = this.#pending;
        if (!p) throw connectionError(PROTOCOL_ERROR, "CONTINUATION without HEADERS");
        this.#addChunk(p, frame.block, frame.endHeaders);
        return;
      }
      case "PRIORITY": // advisory (§5.3 deprecated); no tree is kept
      case "UNKNOWN": // ignored on any stream (§5.5)
        s.idle();
        return;
      case "RST_STREAM": {
        this.#checkNotIdle(frame.streamId, "RST_STREAM");
        const stream = s.live(frame.streamId);
        if (!stream) {
          s.idle();
          return;
        }
        const answered = stream.localClosed; // our response was complete: not a rapid reset
        s.finish(stream, false, false); // the client's reset: a frame after it is STREAM_CLOSED
        if (stream.reported)
          s.events.push({ type: "reset", streamId: stream.id, code: frame.code, remote: true });
        if (!answered) s.spendReset();
        return;
      }
      case "SETTINGS":
        s.idle();
        if (!frame.ack) s.applySettings(frame.settings);
        return;
      case "PUSH_PROMISE":
        throw connectionError(PROTOCOL_ERROR, "PUSH_PROMISE from a client (§8.4)");
      case "PING":
        s.idle();
        if (!frame.ack) s.queueFrame({ type: "PING", ack: true, opaque: frame.opaque.slice() });
        return;
      case "GOAWAY":
        s.idle();
        if (!s.goawayReceived) {
          s.goawayReceived = true;
          s.events.push({ type: "goaway", code: frame.code });
        }
        return;
      case "WINDOW_UPDATE":
        if (frame.streamId === 0) {
          s.connSend = growSendWindow(s.connSend, frame.increment, 0, false);
        } else {
          this.#checkNotIdle(frame.streamId, "WINDOW_UPDATE");
          const stream = s.live(frame.streamId);
          if (!stream) {
            s.idle(); // for a stream that is over (even one the client reset itself): no progress
            return;
          }
          stream.sendWindow = growSendWindow(stream.sendWindow, frame.increment, stream.id, false);
        }
        s.pump();
        return;
    }
  }

  /** §5.1 idle: only HEADERS and PRIORITY may name a stream the client has not opened. */
  #checkNotIdle(streamId: number, what: string): void {
    if (streamId > this.s.lastStreamId)
      throw connectionError(PROTOCOL_ERROR, `${what} on idle stream ${streamId}`);
  }

  #onData(frame: DataFrame): void {
    const s = this.s;
    this.#checkNotIdle(frame.streamId, "DATA");
    const flow = dataFlowLength(frame);
    if (!s.connRecv.receive(flow)) {
      throw connectionError(FLOW_CONTROL_ERROR, `DATA of ${flow} bytes exceeds the connection window`);
    }
    const stream = s.live(frame.streamId);
    if (!stream) {
      s.releaseConnection(flow);
      s.idle();
      // Late bytes of a stream we reset, or of one after our GOAWAY (never opened, §6.8), are
      // ignored; on a stream that ended or that the client reset, a stream error (§5.1, §6.1).
      if (!s.wasReset(frame.streamId) && !(s.goawaySent && frame.streamId > s.lastReported)) {
        s.queueFrame({ type: "RST_STREAM", streamId: frame.streamId, code: STREAM_CLOSED });
      }
      return;
    }
    const fail = (code: number, message: string): never => {
      s.releaseConnection(flow);
      throw streamError(code, stream.id, message);
    };
    if (stream.remoteClosed) fail(STREAM_CLOSED, "DATA after END_STREAM");
    stream.recv ??= new RecvWindow(s.localInitialWindow);
    if (!stream.recv.receive(flow))
      fail(FLOW_CONTROL_ERROR, `DATA of ${flow} bytes exceeds the stream window`);
    const n = frame.data.length;
    stream.received += n;
    const cl = stream.contentLength;
    if (cl !== null && (stream.received > cl || (frame.endStream && stream.received !== cl))) {
      s.releaseConnection(flow);
      throw streamError(
        PROTOCOL_ERROR,
        stream.id,
        `DATA of ${stream.received}+ bytes does not match content-length ${cl}`,
      );
    }
    s.releaseStream(stream, flow - n); // padding is never the caller's
    if (n > 0) {
      s.idleFrames = 0;
      stream.outstanding += n;
      s.events.push({ type: "data", streamId: stream.id, data: frame.data });
    } else if (!frame.endStream) s.idle();
    if (frame.endStream) this.#endRemote(stream, null);
  }

  #checkBlockSize(size: number): void {
    if (size > this.maxBlockBytes) {
      throw connectionError(H2ErrorCode.ENHANCE_YOUR_CALM, `field block over ${this.maxBlockBytes} bytes`);
    }
  }

  #addChunk(p: PendingBlock, chunk: Uint8Array, endHeaders: boolean): void {
    p.size += chunk.length;
    this.#checkBlockSize(p.size);
    if (chunk.length === 0 && !endHeaders) this.s.idle();
    appendChunk(p.chunks, chunk); // a block in 1-byte CONTINUATION frames costs its bytes (chunk-list.ts)
    if (!endHeaders) {
      this.#pending = p;
      return;
    }
    this.#pending = null;
    const block = p.chunks.length === 1 ? (p.chunks[0] as Uint8Array) : concatBytes(p.chunks);
    this.#onBlock(p.streamId, p.endStream, p.priority, block);
  }

  #decode(block: Uint8Array): HeaderField[] {
    try {
      return this.decoder.decode(block);
    } catch (err) {
      // A list past twice our limit from a small block (table references) is a flood, not bad HPACK.
      if (err instanceof HpackError && err.listTooLarge)
        throw connectionError(H2ErrorCode.ENHANCE_YOUR_CALM, err.message, { cause: err });
      throw connectionError(H2ErrorCode.COMPRESSION_ERROR, "field block does not decode", { cause: err });
    }
  }

  /** A complete field block: decoded first, always, so the HPACK context stays in step (§4.3). */
  #onBlock(id: number, endStream: boolean, priority: PriorityFields | undefined, block: Uint8Array): void {
    const s = this.s;
    const fields = this.#decode(block);
    if (id <= s.lastStreamId) {
      const stream = s.live(id);
      if (!stream) {
        // A reset stream's late block is ignored (§5.1 closed); any other stream id that does not
        // increase is a connection error (§5.1.1).
        if (!s.wasReset(id)) throw connectionError(PROTOCOL_ERROR, `HEADERS on closed stream ${id}`);
        s.idle();
        return;
      }
      if (stream.remoteClosed) throw streamError(STREAM_CLOSED, id, "HEADERS after END_STREAM");
      if (!endStream) throw streamError(PROTOCOL_ERROR, id, "trailers without END_STREAM");
      checkRequestTrailers(fields, id);
      if (stream.contentLength !== null && stream.received !== stream.contentLength) {
        throw streamError(
          PROTOCOL_ERROR,
          id,
          `body of ${stream.received} bytes, content-length ${stream.contentLength}`,
        );
      }
      this.#endRemote(stream, fields);
      return;
    }
    s.lastStreamId = id;
    if (s.goawaySent) {
      s.idle(); // closing: no new streams (§6.8); counted as a frame that makes no progress
      return;
    }
    if (priority?.dependency === id || s.liveCount >= s.maxConcurrent) {
      // A stream that never opens (it does not count as live): a self-dependency (§5.3.1) or
      // one past our MAX_CONCURRENT_STREAMS (§5.1.2), which the client may retry.
      const code = priority?.dependency === id ? PROTOCOL_ERROR : REFUSED_STREAM;
      s.queueFrame({ type: "RST_STREAM", streamId: id, code });
      s.rememberReset(id);
      s.spendReset();
      return;
    }
    const stream = new ServerStream(id, s.peer.initialWindowSize);
    s.streams.add(stream);
    s.liveCount++;
    const request = checkRequestFields(fields, id); // a stream error resets the stream
    if (endStream && request.contentLength !== null && request.contentLength !== 0) {
      throw streamError(PROTOCOL_ERROR, id, `content-length ${request.contentLength} without a body`);
    }
    stream.contentLength = request.contentLength;
    stream.reported = true;
    s.lastReported = id;
    s.idleFrames = 0;
    const oversize = listSize(fields) > this.maxHeaderList;
    s.events.push({ type: "request", streamId: id, request, endStream, oversize });
    if (endStream) this.#endRemote(stream, null);
  }

  #endRemote(stream: ServerStream, trailers: HeaderField[] | null): void {
    stream.remoteClosed = true;
    this.s.events.push({ type: "end", streamId: stream.id, trailers });
    this.s.finishIfDone(stream);
  }
}
