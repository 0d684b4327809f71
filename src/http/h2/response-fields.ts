import { H2ErrorCode, streamError } from "./errors.ts";
import type { HeaderField } from "./session-types.ts";

/** Connection-specific fields, forbidden in HTTP/2 (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
]);

/** Per-entry overhead in header list size accounting, 32 bytes (RFC 9113 §6.5.2, RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

/** What the session keeps from a response's field block. */
export interface ResponseHead {
  readonly status: number;
  readonly contentLength: number | null;
}

function malformed(streamId: number, message: string) {
  return streamError(H2ErrorCode.PROTOCOL_ERROR, streamId, `malformed response: ${message}`);
}

/** RFC 9113 §8.2.1 name rule: no 0x00-0x20, no uppercase, no 0x7f-0xff, not empty. */
function badName(name: string, pseudo: boolean): boolean {
  if (name.length === 0 || (pseudo && name.length === 1)) return true;
  for (let i = pseudo ? 1 : 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x41 && c <= 0x5a) || c >= 0x7f || c === 0x3a) return true;
  }
  return false;
}

/** RFC 9113 §8.2.1 value rule: no NUL, CR or LF; no SP/HTAB at either end. */
function badValue(value: string): boolean {
  if (/[\0\r\n]/.test(value)) return true;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09;
}

/** The size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it. */
export function headerListSize(fields: readonly HeaderField[]): number {
  let size = 0;
  for (const [name, value] of fields) size += name.length + value.length + ENTRY_OVERHEAD;
  return size;
}

/** Checks the regular (non-pseudo) fields shared by responses and trailers. */
function checkRegular(name: string, value: string, streamId: number): void {
  if (badName(name, false)) throw malformed(streamId, `invalid field name ${JSON.stringify(name)}`);
  if (badValue(value)) throw malformed(streamId, `invalid value for ${name}`);
  if (CONNECTION_SPECIFIC.has(name)) throw malformed(streamId, `connection-specific field ${name}`);
  if (name === "te" && value !== "trailers") throw malformed(streamId, "te other than trailers");
}

/**
 * Validates a response field block (RFC 9113 §8.2, §8.3.2): `:status` exactly once, first, three
 * digits; no other pseudo-header; valid names and values; no connection-specific fields; one
 * consistent content-length. Throws a stream PROTOCOL_ERROR.
 */
export function checkResponseFields(fields: readonly HeaderField[], streamId: number): ResponseHead {
  let status = -1;
  let contentLength: number | null = null;
  let regularSeen = false;
  for (const [name, value] of fields) {
    if (name.startsWith(":")) {
      if (regularSeen) throw malformed(streamId, `pseudo-header ${name} after a regular field`);
      if (name !== ":status") throw malformed(streamId, `pseudo-header ${name} in a response`);
      if (status !== -1) throw malformed(streamId, "duplicate :status");
      if (!/^[1-9][0-9][0-9]$/.test(value)) throw malformed(streamId, `:status ${JSON.stringify(value)}`);
      status = Number(value);
      continue;
    }
    regularSeen = true;
    checkRegular(name, value, streamId);
    if (name === "content-length") {
      for (const part of value.split(",")) {
        const digits = part.trim();
        if (!/^[0-9]{1,15}$/.test(digits)) throw malformed(streamId, "invalid content-length");
        const n = Number(digits);
        if (contentLength !== null && contentLength !== n)
          throw malformed(streamId, "conflicting content-length");
        contentLength = n;
      }
    }
  }
  if (status === -1) throw malformed(streamId, "no :status");
  return { status, contentLength };
}

/** Validates a trailer block (RFC 9113 §8.1): no pseudo-headers, regular field rules. */
export function checkTrailerFields(fields: readonly HeaderField[], streamId: number): void {
  for (const [name, value] of fields) {
    if (name.startsWith(":")) throw malformed(streamId, `pseudo-header ${name} in trailers`);
    checkRegular(name, value, streamId);
  }
}
