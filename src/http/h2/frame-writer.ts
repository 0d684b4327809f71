import { ProxyError } from "../../errors/proxy-error.ts";
import {
  FRAME_HEADER_BYTES,
  type Frame,
  FrameFlag,
  FrameType,
  MAX_STREAM_ID,
  type PriorityFields,
} from "./frame-types.ts";

/** Largest payload a frame header can describe, 2^24-1 bytes (RFC 9113 §4.1). */
const MAX_PAYLOAD = 0xffffff;

function invalid(message: string): ProxyError {
  return new ProxyError("INTERNAL", `h2 frame writer: ${message}`);
}

function checkU31(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_STREAM_ID)
    throw invalid(`${what} ${value} is not 0..2^31-1`);
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw invalid(`${what} ${value} is not 0..2^32-1`);
}

/** Writes the 9-byte frame header (RFC 9113 §4.1) at `at`. */
function putHeader(
  out: Uint8Array,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
) {
  if (length > MAX_PAYLOAD) throw invalid(`payload of ${length} bytes exceeds 2^24-1`);
  checkU31(streamId, "stream id");
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type & 0xff;
  out[at + 4] = flags & 0xff;
  putU32(out, at + 5, streamId);
}

function putU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

/** Stream dependency (with the E bit) and weight byte = weight-1 (RFC 9113 §6.2, §6.3). */
function putPriority(out: Uint8Array, at: number, p: PriorityFields, streamId: number): void {
  checkU31(p.dependency, "dependency");
  if (!Number.isInteger(p.weight) || p.weight < 1 || p.weight > 256)
    throw invalid(`weight ${p.weight} is not 1..256`);
  if (p.dependency === streamId && streamId !== 0) throw invalid(`stream ${streamId} depends on itself`);
  putU32(out, at, (p.exclusive ? 0x80000000 : 0) + p.dependency);
  out[at + 4] = p.weight - 1;
}

function padBytes(padLength: number | undefined): number {
  if (padLength === undefined) return 0;
  if (!Number.isInteger(padLength) || padLength < 0 || padLength > 255) {
    throw invalid(`pad length ${padLength} is not 0..255`);
  }
  return padLength + 1;
}

/** A frame with `payloadLength` bytes of payload, header written; the caller fills the payload. */
function frame(type: number, flags: number, streamId: number, payloadLength: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payloadLength);
  putHeader(out, 0, payloadLength, type, flags, streamId);
  return out;
}

/** Padded body: [pad length] [prefix] body [zero padding]. Returns the frame. */
function padded(
  type: number,
  flags: number,
  streamId: number,
  padLength: number | undefined,
  prefix: number,
  body: Uint8Array,
  fillPrefix: (out: Uint8Array, at: number) => void,
): Uint8Array {
  const pad = padBytes(padLength);
  const out = frame(type, flags | (pad > 0 ? FrameFlag.PADDED : 0), streamId, pad + prefix + body.length);
  let at = FRAME_HEADER_BYTES;
  if (pad > 0) out[at++] = pad - 1;
  fillPrefix(out, at);
  out.set(body, at + prefix);
  return out;
}

const nothing = (): void => {};

/** Encodes one frame exactly as described (no splitting; the caller respects the peer's max frame size). */
export function encodeFrame(f: Frame): Uint8Array {
  switch (f.type) {
    case "DATA":
      if (f.streamId === 0) throw invalid("DATA on stream 0");
      return padded(
        FrameType.DATA,
        f.endStream ? FrameFlag.END_STREAM : 0,
        f.streamId,
        f.padLength,
        0,
        f.data,
        nothing,
      );
    case "HEADERS": {
      const flags =
        (f.endStream ? FrameFlag.END_STREAM : 0) |
        (f.endHeaders ? FrameFlag.END_HEADERS : 0) |
        (f.priority ? FrameFlag.PRIORITY : 0);
      const p = f.priority;
      return padded(FrameType.HEADERS, flags, f.streamId, f.padLength, p ? 5 : 0, f.block, (out, at) => {
        if (p) putPriority(out, at, p, f.streamId);
      });
    }
    case "PRIORITY": {
      const out = frame(FrameType.PRIORITY, 0, f.streamId, 5);
      putPriority(out, FRAME_HEADER_BYTES, f.priority, f.streamId);
      return out;
    }
    case "RST_STREAM": {
      checkU32(f.code, "error code");
      const out = frame(FrameType.RST_STREAM, 0, f.streamId, 4);
      putU32(out, FRAME_HEADER_BYTES, f.code);
      return out;
    }
    case "SETTINGS": {
      const out = frame(FrameType.SETTINGS, f.ack ? FrameFlag.ACK : 0, 0, f.settings.length * 6);
      let at = FRAME_HEADER_BYTES;
      for (const [id, value] of f.settings) {
        if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw invalid(`setting id ${id} is not 16-bit`);
        checkU32(value, "setting value");
        out[at] = id >>> 8;
        out[at + 1] = id & 0xff;
        putU32(out, at + 2, value);
        at += 6;
      }
      return out;
    }
    case "PUSH_PROMISE": {
      checkU31(f.promisedStreamId, "promised stream id");
      const flags = f.endHeaders ? FrameFlag.END_HEADERS : 0;
      return padded(FrameType.PUSH_PROMISE, flags, f.streamId, f.padLength, 4, f.block, (out, at) =>
        putU32(out, at, f.promisedStreamId),
      );
    }
    case "PING": {
      if (f.opaque.length !== 8) throw invalid(`PING opaque data is ${f.opaque.length} bytes, not 8`);
      const out = frame(FrameType.PING, f.ack ? FrameFlag.ACK : 0, 0, 8);
      out.set(f.opaque, FRAME_HEADER_BYTES);
      return out;
    }
    case "GOAWAY": {
      checkU31(f.lastStreamId, "last stream id");
      checkU32(f.code, "error code");
      const out = frame(FrameType.GOAWAY, 0, 0, 8 + f.debug.length);
      putU32(out, FRAME_HEADER_BYTES, f.lastStreamId);
      putU32(out, FRAME_HEADER_BYTES + 4, f.code);
      out.set(f.debug, FRAME_HEADER_BYTES + 8);
      return out;
    }
    case "WINDOW_UPDATE": {
      if (!Number.isInteger(f.increment) || f.increment < 1 || f.increment > MAX_STREAM_ID) {
        throw invalid(`window increment ${f.increment} is not 1..2^31-1`);
      }
      const out = frame(FrameType.WINDOW_UPDATE, 0, f.streamId, 4);
      putU32(out, FRAME_HEADER_BYTES, f.increment);
      return out;
    }
    case "CONTINUATION": {
      const out = frame(
        FrameType.CONTINUATION,
        f.endHeaders ? FrameFlag.END_HEADERS : 0,
        f.streamId,
        f.block.length,
      );
      out.set(f.block, FRAME_HEADER_BYTES);
      return out;
    }
    case "UNKNOWN": {
      if (!Number.isInteger(f.frameType) || f.frameType < 0 || f.frameType > 0xff) {
        throw invalid(`frame type ${f.frameType} is not 8-bit`);
      }
      const out = frame(f.frameType, f.flags, f.streamId, f.payload.length);
      out.set(f.payload, FRAME_HEADER_BYTES);
      return out;
    }
  }
}

export interface HeaderBlockOptions {
  readonly endStream: boolean;
  readonly priority?: PriorityFields;
}

/**
 * A whole field block as one HEADERS frame plus as many CONTINUATION frames as `maxFrameSize`
 * requires (RFC 9113 §4.3, §6.10), concatenated.
 */
export function encodeHeaderBlock(
  streamId: number,
  block: Uint8Array,
  opts: HeaderBlockOptions,
  maxFrameSize: number,
): Uint8Array {
  const p = opts.priority;
  const prefix = p ? 5 : 0;
  const room = maxFrameSize - prefix;
  if (room < 1) throw invalid(`max frame size ${maxFrameSize} leaves no room for a field block`);
  // All frames are written into one array sized up front (no frame objects, no per-frame copies).
  const firstLength = Math.min(block.length, room);
  const continuations = Math.ceil((block.length - firstLength) / maxFrameSize);
  const out = new Uint8Array(block.length + prefix + FRAME_HEADER_BYTES * (1 + continuations));
  const flags =
    (opts.endStream ? FrameFlag.END_STREAM : 0) |
    (continuations === 0 ? FrameFlag.END_HEADERS : 0) |
    (p ? FrameFlag.PRIORITY : 0);
  putHeader(out, 0, prefix + firstLength, FrameType.HEADERS, flags, streamId);
  let at = FRAME_HEADER_BYTES;
  if (p) {
    putPriority(out, at, p, streamId);
    at += prefix;
  }
  out.set(firstLength === block.length ? block : block.subarray(0, firstLength), at);
  at += firstLength;
  let from = firstLength;
  while (from < block.length) {
    const n = Math.min(maxFrameSize, block.length - from);
    const last = from + n === block.length;
    putHeader(out, at, n, FrameType.CONTINUATION, last ? FrameFlag.END_HEADERS : 0, streamId);
    out.set(block.subarray(from, from + n), at + FRAME_HEADER_BYTES);
    at += FRAME_HEADER_BYTES + n;
    from += n;
  }
  return out;
}

/** Concatenates byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
