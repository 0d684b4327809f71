import { connectionError, H2ErrorCode } from "./errors.ts";
import { MAX_WINDOW, type Setting } from "./frame-types.ts";

/** SETTINGS identifiers (RFC 9113 §6.5.2; RFC 8441 §3; RFC 9218 §2.1). Any other 16-bit id is legal. */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
  ENABLE_CONNECT_PROTOCOL: 0x8,
  NO_RFC7540_PRIORITIES: 0x9,
} as const;

/** Initial values before any SETTINGS arrive (RFC 9113 §6.5.2). */
export const DEFAULT_HEADER_TABLE_SIZE = 4096; // bytes
export const DEFAULT_INITIAL_WINDOW_SIZE = 65_535; // bytes, also the connection window (§6.9.2)
export const DEFAULT_MAX_FRAME_SIZE = 16_384; // bytes, 2^14
/** Upper bound of SETTINGS_MAX_FRAME_SIZE, 2^24-1 bytes (RFC 9113 §6.5.2). */
export const MAX_MAX_FRAME_SIZE = 0xffffff;

/** True for Chrome-style GREASE ids of the form 0x?a?a (Chromium checks `(id & 0x0f0f) == 0x0a0a`). */
export function isGreaseSettingId(id: number): boolean {
  return (id & 0x0f0f) === 0x0a0a;
}

/**
 * Checks one received setting against RFC 9113 §6.5.2 value rules (unknown ids are accepted and
 * ignored, §6.5.2 last paragraph). Throws a connection H2Error.
 */
export function validateSetting([id, value]: Setting): void {
  if (id === SettingId.ENABLE_PUSH && value > 1) {
    throw connectionError(H2ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value} is not 0 or 1`);
  }
  if (id === SettingId.INITIAL_WINDOW_SIZE && value > MAX_WINDOW) {
    throw connectionError(
      H2ErrorCode.FLOW_CONTROL_ERROR,
      `SETTINGS_INITIAL_WINDOW_SIZE ${value} exceeds 2^31-1`,
    );
  }
  if (id === SettingId.MAX_FRAME_SIZE && (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE)) {
    throw connectionError(H2ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} is out of range`);
  }
  if (id === SettingId.ENABLE_CONNECT_PROTOCOL && value > 1) {
    throw connectionError(
      H2ErrorCode.PROTOCOL_ERROR,
      `SETTINGS_ENABLE_CONNECT_PROTOCOL ${value} is not 0 or 1`,
    );
  }
}

/** The last value given for `id` in a list, or `fallback` (a later duplicate wins, §6.5.3). */
export function settingValue(settings: readonly Setting[], id: number, fallback: number): number {
  let value = fallback;
  for (const [sid, v] of settings) if (sid === id) value = v;
  return value;
}

/** The values a peer has announced so far, with RFC defaults for the rest. */
export class PeerSettings {
  headerTableSize = DEFAULT_HEADER_TABLE_SIZE;
  enablePush = 1;
  maxConcurrentStreams = Number.POSITIVE_INFINITY;
  initialWindowSize = DEFAULT_INITIAL_WINDOW_SIZE;
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  maxHeaderListSize = Number.POSITIVE_INFINITY;
  enableConnectProtocol = 0;

  /** Applies one validated setting; unknown ids are ignored. */
  apply([id, value]: Setting): void {
    switch (id) {
      case SettingId.HEADER_TABLE_SIZE:
        this.headerTableSize = value;
        break;
      case SettingId.ENABLE_PUSH:
        this.enablePush = value;
        break;
      case SettingId.MAX_CONCURRENT_STREAMS:
        this.maxConcurrentStreams = value;
        break;
      case SettingId.INITIAL_WINDOW_SIZE:
        this.initialWindowSize = value;
        break;
      case SettingId.MAX_FRAME_SIZE:
        this.maxFrameSize = value;
        break;
      case SettingId.MAX_HEADER_LIST_SIZE:
        this.maxHeaderListSize = value;
        break;
      case SettingId.ENABLE_CONNECT_PROTOCOL:
        this.enableConnectProtocol = value;
        break;
    }
  }
}
