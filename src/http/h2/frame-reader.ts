import { ByteQueue } from "./byte-queue.ts";
import { connectionError, H2Error, H2ErrorCode, streamError } from "./errors.ts";
import {
  FRAME_HEADER_BYTES,
  type Frame,
  FrameFlag,
  FrameType,
  MAX_STREAM_ID,
  type PriorityFields,
  type Setting,
} from "./frame-types.ts";
import { DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE } from "./settings.ts";

const { PROTOCOL_ERROR, FRAME_SIZE_ERROR } = H2ErrorCode;

function u32(b: Uint8Array, at: number): number {
  return (
    ((b[at] ?? 0) * 0x1000000 + ((b[at + 1] ?? 0) << 16) + ((b[at + 2] ?? 0) << 8) + (b[at + 3] ?? 0)) >>> 0
  );
}

function priorityAt(b: Uint8Array, at: number): PriorityFields {
  const dep = u32(b, at);
  return { exclusive: dep >= 0x80000000, dependency: dep & MAX_STREAM_ID, weight: (b[at + 4] ?? 0) + 1 };
}

const TYPE_NAMES = [
  "DATA",
  "HEADERS",
  "PRIORITY",
  "RST_STREAM",
  "SETTINGS",
  "PUSH_PROMISE",
  "PING",
  "GOAWAY",
  "WINDOW_UPDATE",
  "CONTINUATION",
];

/** The name of a frame type in error messages (built only when one is thrown). */
function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `type 0x${type.toString(16)}`;
}

/** A frame type that names a stream must not be on stream 0 (§6). */
function onStream(type: number, streamId: number): void {
  if (streamId === 0) throw connectionError(PROTOCOL_ERROR, `${typeName(type)} on stream 0`);
}

/** A connection-level frame type must be on stream 0 (§6). */
function onConnection(type: number, streamId: number): void {
  if (streamId !== 0) throw connectionError(PROTOCOL_ERROR, `${typeName(type)} on stream ${streamId}, not 0`);
}

/**
 * The pad length of a PADDED frame whose fields after the Pad Length octet take `minPrefix` bytes
 * (§6.1): the padding may not reach into them.
 */
function padOf(type: number, p: Uint8Array, minPrefix: number): number {
  if (p.length < 1 + minPrefix)
    throw connectionError(FRAME_SIZE_ERROR, `${typeName(type)} payload too short`);
  const pad = p[0] as number;
  if (pad + minPrefix >= p.length) {
    throw connectionError(PROTOCOL_ERROR, `${typeName(type)} padding of ${pad} bytes fills the payload`);
  }
  return pad;
}

/** HEADERS, CONTINUATION or PUSH_PROMISE: the frames that carry a field block. */
function isBlockFrame(type: number): boolean {
  return type === FrameType.HEADERS || type === FrameType.CONTINUATION || type === FrameType.PUSH_PROMISE;
}

/**
 * Incremental HTTP/2 frame reader (RFC 9113 §4, §6): `push()` bytes as they arrive, then call
 * `next()` until it returns null (incomplete frame). It checks frame sizes against the local
 * SETTINGS_MAX_FRAME_SIZE and per type, the stream-0 rules, padding, and that a field block's
 * CONTINUATION frames follow without interleaving (§6.10).
 *
 * Errors are thrown as `H2Error`. A stream error is thrown after its frame has been consumed, so
 * reading can go on; a connection error is sticky: every later `next()` throws it again. The
 * reader does not expect the client magic: strip it first when reading a client's bytes.
 */
export class FrameReader {
  private readonly queue = new ByteQueue();
  private failure: H2Error | null = null;
  private maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  /** Stream whose field block awaits CONTINUATION frames, 0 when none. */
  private continuationStream = 0;
  /** Field blocks read whole so far (frames with END_HEADERS): a new one begins after each. */
  blocksEnded = 0;

  /** The largest payload accepted, i.e. the SETTINGS_MAX_FRAME_SIZE this endpoint advertised. */
  setMaxFrameSize(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < DEFAULT_MAX_FRAME_SIZE || bytes > MAX_MAX_FRAME_SIZE) {
      throw connectionError(H2ErrorCode.INTERNAL_ERROR, `max frame size ${bytes} is out of range`);
    }
    this.maxFrameSize = bytes;
  }

  /**
   * A field block is being received: a HEADERS / PUSH_PROMISE waits for its CONTINUATION, or the
   * bytes held begin a frame that is one of those, or whose type is not in yet.
   */
  get inFieldBlock(): boolean {
    if (this.continuationStream !== 0) return true;
    const q = this.queue;
    if (q.length === 0) return false;
    if (q.length < 4) return true;
    return isBlockFrame(q.peek(3));
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.queue.length;
  }

  push(bytes: Uint8Array): void {
    this.queue.push(bytes);
  }

  next(): Frame | null {
    if (this.failure) throw this.failure;
    try {
      return this.read();
    } catch (err) {
      if (err instanceof H2Error && err.isConnectionError) this.failure = err;
      throw err;
    }
  }

  private read(): Frame | null {
    const q = this.queue;
    if (q.length < FRAME_HEADER_BYTES) return null;
    let length: number;
    let type: number;
    let flags: number;
    let streamId: number;
    const c = q.frontChunk(FRAME_HEADER_BYTES);
    if (c !== null) {
      // The usual case: the whole header lies in the first chunk.
      const h = q.headOffset;
      length = ((c[h] as number) << 16) | ((c[h + 1] as number) << 8) | (c[h + 2] as number);
      type = c[h + 3] as number;
      flags = c[h + 4] as number;
      streamId =
        (((c[h + 5] as number) & 0x7f) << 24) +
        ((c[h + 6] as number) << 16) +
        ((c[h + 7] as number) << 8) +
        (c[h + 8] as number);
    } else {
      length = (q.peek(0) << 16) | (q.peek(1) << 8) | q.peek(2);
      type = q.peek(3);
      flags = q.peek(4);
      streamId = ((q.peek(5) & 0x7f) << 24) + (q.peek(6) << 16) + (q.peek(7) << 8) + q.peek(8);
    }
    if (length > this.maxFrameSize) {
      throw connectionError(
        FRAME_SIZE_ERROR,
        `${typeName(type)} frame of ${length} bytes exceeds ${this.maxFrameSize}`,
      );
    }
    if (
      this.continuationStream !== 0 &&
      (type !== FrameType.CONTINUATION || streamId !== this.continuationStream)
    ) {
      throw connectionError(
        PROTOCOL_ERROR,
        `${typeName(type)} on stream ${streamId} inside a field block of stream ${this.continuationStream}`,
      );
    }
    if (q.length < FRAME_HEADER_BYTES + length) return null;
    q.skip(FRAME_HEADER_BYTES);
    const payload = q.take(length);
    if ((flags & FrameFlag.END_HEADERS) !== 0 && isBlockFrame(type)) this.blocksEnded++;
    return this.parse(type, flags, streamId, payload);
  }

  /**
   * The frame of `type` with payload `p`, checked (no closures or spreads: this runs per frame).
   * Frames that name a stream must not be on stream 0 and the reverse (§6); padding is stripped.
   */
  private parse(type: number, flags: number, streamId: number, p: Uint8Array): Frame {
    const endStream = (flags & FrameFlag.END_STREAM) !== 0;
    const endHeaders = (flags & FrameFlag.END_HEADERS) !== 0;
    switch (type) {
      case FrameType.DATA: {
        onStream(type, streamId);
        if ((flags & FrameFlag.PADDED) === 0) return { type: "DATA", streamId, endStream, data: p };
        const padLength = padOf(type, p, 0);
        return { type: "DATA", streamId, endStream, data: p.subarray(1, p.length - padLength), padLength };
      }
      case FrameType.HEADERS: {
        onStream(type, streamId);
        const hasPriority = (flags & FrameFlag.PRIORITY) !== 0;
        const prefix = hasPriority ? 5 : 0;
        const padded = (flags & FrameFlag.PADDED) !== 0;
        let start = 0;
        let end = p.length;
        let padLength = 0;
        if (padded) {
          padLength = padOf(type, p, prefix);
          start = 1;
          end = p.length - padLength;
        } else if (p.length < prefix) {
          throw connectionError(FRAME_SIZE_ERROR, "HEADERS payload too short");
        }
        const block = start + prefix === 0 && end === p.length ? p : p.subarray(start + prefix, end);
        if (!endHeaders) this.continuationStream = streamId;
        // A self-dependency (§5.3.1) is a stream error the session reports after decoding the block.
        if (hasPriority) {
          const priority = priorityAt(p, start);
          return padded
            ? { type: "HEADERS", streamId, endStream, endHeaders, block, priority, padLength }
            : { type: "HEADERS", streamId, endStream, endHeaders, block, priority };
        }
        return padded
          ? { type: "HEADERS", streamId, endStream, endHeaders, block, padLength }
          : { type: "HEADERS", streamId, endStream, endHeaders, block };
      }
      case FrameType.PRIORITY: {
        onStream(type, streamId);
        if (p.length !== 5)
          throw streamError(FRAME_SIZE_ERROR, streamId, `PRIORITY payload is ${p.length} bytes, not 5`);
        const priority = priorityAt(p, 0);
        if (priority.dependency === streamId)
          throw streamError(PROTOCOL_ERROR, streamId, "stream depends on itself");
        return { type: "PRIORITY", streamId, priority };
      }
      case FrameType.RST_STREAM:
        onStream(type, streamId);
        if (p.length !== 4)
          throw connectionError(FRAME_SIZE_ERROR, `RST_STREAM payload is ${p.length} bytes, not 4`);
        return { type: "RST_STREAM", streamId, code: u32(p, 0) };
      case FrameType.SETTINGS: {
        onConnection(type, streamId);
        const ack = (flags & FrameFlag.ACK) !== 0;
        if (ack && p.length !== 0) throw connectionError(FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
        if (p.length % 6 !== 0)
          throw connectionError(FRAME_SIZE_ERROR, `SETTINGS payload of ${p.length} bytes`);
        const settings: Setting[] = [];
        for (let at = 0; at < p.length; at += 6)
          settings.push([((p[at] ?? 0) << 8) | (p[at + 1] ?? 0), u32(p, at + 2)]);
        return { type: "SETTINGS", ack, settings };
      }
      case FrameType.PUSH_PROMISE: {
        onStream(type, streamId);
        let start = 0;
        let end = p.length;
        let padLength: number | undefined;
        if ((flags & FrameFlag.PADDED) !== 0) {
          padLength = padOf(type, p, 4);
          start = 1;
          end = p.length - padLength;
        } else if (p.length < 4) {
          throw connectionError(FRAME_SIZE_ERROR, "PUSH_PROMISE payload too short");
        }
        if (!endHeaders) this.continuationStream = streamId;
        const promisedStreamId = u32(p, start) & MAX_STREAM_ID;
        const block = p.subarray(start + 4, end);
        return padLength === undefined
          ? { type: "PUSH_PROMISE", streamId, endHeaders, promisedStreamId, block }
          : { type: "PUSH_PROMISE", streamId, endHeaders, promisedStreamId, block, padLength };
      }
      case FrameType.PING:
        if (p.length !== 8)
          throw connectionError(FRAME_SIZE_ERROR, `PING payload is ${p.length} bytes, not 8`);
        onConnection(type, streamId);
        return { type: "PING", ack: (flags & FrameFlag.ACK) !== 0, opaque: p };
      case FrameType.GOAWAY:
        onConnection(type, streamId);
        if (p.length < 8)
          throw connectionError(FRAME_SIZE_ERROR, `GOAWAY payload is ${p.length} bytes, under 8`);
        return {
          type: "GOAWAY",
          lastStreamId: u32(p, 0) & MAX_STREAM_ID,
          code: u32(p, 4),
          debug: p.subarray(8),
        };
      case FrameType.WINDOW_UPDATE: {
        if (p.length !== 4)
          throw connectionError(FRAME_SIZE_ERROR, `WINDOW_UPDATE payload is ${p.length} bytes, not 4`);
        const increment = u32(p, 0) & MAX_STREAM_ID;
        if (increment === 0) {
          const message = "WINDOW_UPDATE increment of 0";
          throw streamId === 0
            ? connectionError(PROTOCOL_ERROR, message)
            : streamError(PROTOCOL_ERROR, streamId, message);
        }
        return { type: "WINDOW_UPDATE", streamId, increment };
      }
      case FrameType.CONTINUATION:
        onStream(type, streamId);
        if (this.continuationStream === 0)
          throw connectionError(PROTOCOL_ERROR, "CONTINUATION without a field block in progress");
        if (endHeaders) this.continuationStream = 0;
        return { type: "CONTINUATION", streamId, endHeaders, block: p };
      default:
        return { type: "UNKNOWN", frameType: type, flags, streamId, payload: p };
    }
  }
}
