/**
 * HTTP/2 frame model (RFC 9113 §4 and §6). Frames are plain data: the reader produces them, the
 * writer encodes them. Flags are modelled as named booleans; flag bits a type does not define are
 * ignored on read (RFC 9113 §4.1) and never written, except on unknown frame types, which keep
 * their raw flags so GREASE frames can be sent as given.
 */

/** Frame type codes (RFC 9113 §6; IANA "HTTP/2 Frame Type" registry). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Flag bits (RFC 9113 §6). END_STREAM and ACK share bit 0x1. */
export const FrameFlag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Bytes in a frame header (RFC 9113 §4.1). */
export const FRAME_HEADER_BYTES = 9;
/** The client connection preface magic, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 §3.4). */
export const CLIENT_MAGIC = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** Largest stream id and largest flow-control window, 2^31-1 (RFC 9113 §5.1.1, §6.9.1). */
export const MAX_STREAM_ID = 0x7fffffff;
export const MAX_WINDOW = 0x7fffffff;

/** Stream dependency fields of HEADERS and PRIORITY; `weight` is the 1..256 value, not the wire byte. */
export interface PriorityFields {
  readonly exclusive: boolean;
  readonly dependency: number;
  readonly weight: number;
}

/** One SETTINGS entry: any 16-bit id, any 32-bit value. */
/** A field block being collected from HEADERS + CONTINUATION frames. */
export interface PendingBlock {
  readonly streamId: number;
  readonly endStream: boolean;
  readonly priority: PriorityFields | undefined;
  readonly chunks: Uint8Array[];
  size: number;
}

export type Setting = readonly [id: number, value: number];

/** `padLength` is present exactly when the PADDED flag is (RFC 9113 §6.1); padding bytes are zero. */
export interface DataFrame {
  readonly type: "DATA";
  readonly streamId: number;
  readonly endStream: boolean;
  readonly data: Uint8Array;
  readonly padLength?: number;
}

export interface HeadersFrame {
  readonly type: "HEADERS";
  readonly streamId: number;
  readonly endStream: boolean;
  readonly endHeaders: boolean;
  readonly priority?: PriorityFields;
  readonly block: Uint8Array;
  readonly padLength?: number;
}

export interface PriorityFrame {
  readonly type: "PRIORITY";
  readonly streamId: number;
  readonly priority: PriorityFields;
}

export interface RstStreamFrame {
  readonly type: "RST_STREAM";
  readonly streamId: number;
  readonly code: number;
}

/** Always on stream 0. The list is kept exactly as on the wire: order and duplicates. */
export interface SettingsFrame {
  readonly type: "SETTINGS";
  readonly ack: boolean;
  readonly settings: readonly Setting[];
}

export interface PushPromiseFrame {
  readonly type: "PUSH_PROMISE";
  readonly streamId: number;
  readonly endHeaders: boolean;
  readonly promisedStreamId: number;
  readonly block: Uint8Array;
  readonly padLength?: number;
}

/** Always on stream 0; `opaque` is exactly 8 bytes. */
export interface PingFrame {
  readonly type: "PING";
  readonly ack: boolean;
  readonly opaque: Uint8Array;
}

/** Always on stream 0. */
export interface GoawayFrame {
  readonly type: "GOAWAY";
  readonly lastStreamId: number;
  readonly code: number;
  readonly debug: Uint8Array;
}

export interface WindowUpdateFrame {
  readonly type: "WINDOW_UPDATE";
  readonly streamId: number;
  readonly increment: number;
}

export interface ContinuationFrame {
  readonly type: "CONTINUATION";
  readonly streamId: number;
  readonly endHeaders: boolean;
  readonly block: Uint8Array;
}

/** A frame type this codec does not define (RFC 9113 §5.5): read and skipped, or written as GREASE. */
export interface UnknownFrame {
  readonly type: "UNKNOWN";
  readonly frameType: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Uint8Array;
}

export type Frame =
  | DataFrame
  | HeadersFrame
  | PriorityFrame
  | RstStreamFrame
  | SettingsFrame
  | PushPromiseFrame
  | PingFrame
  | GoawayFrame
  | WindowUpdateFrame
  | ContinuationFrame
  | UnknownFrame;

/** The bytes a DATA frame counts against flow control: its whole payload, padding included (§6.9.1). */
export function dataFlowLength(frame: DataFrame): number {
  return frame.data.length + (frame.padLength === undefined ? 0 : frame.padLength + 1);
}
