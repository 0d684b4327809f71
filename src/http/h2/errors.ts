import { ProxyError } from "../../errors/proxy-error.ts";

/** RFC 9113 §7 error codes (the 32-bit values carried by RST_STREAM and GOAWAY). */
export const H2ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const NAMES = new Map<number, string>(Object.entries(H2ErrorCode).map(([name, code]) => [code, name]));

/** The RFC 9113 name of an error code, or `0x…` for a code the RFC does not define. */
export function h2ErrorName(code: number): string {
  return NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/**
 * An HTTP/2 protocol violation. `streamId` 0 is a connection error (the connection ends with
 * GOAWAY); any other id is a stream error (that stream ends with RST_STREAM, the rest go on).
 */
export class H2Error extends ProxyError {
  readonly h2Code: number;
  readonly streamId: number;

  constructor(h2Code: number, streamId: number, message: string, options?: { cause?: unknown }) {
    super("HTTP_PROTOCOL", `${h2ErrorName(h2Code)}: ${message}`, options);
    this.name = "H2Error";
    this.h2Code = h2Code;
    this.streamId = streamId;
  }

  get isConnectionError(): boolean {
    return this.streamId === 0;
  }
}

/** A connection error (stream id 0). */
export function connectionError(h2Code: number, message: string, options?: { cause?: unknown }): H2Error {
  return new H2Error(h2Code, 0, message, options);
}

/** A stream error on `streamId` (which must not be 0). */
export function streamError(h2Code: number, streamId: number, message: string): H2Error {
  return new H2Error(h2Code, streamId, message);
}
