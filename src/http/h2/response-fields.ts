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
  const n = value.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x0d && (c === 0x00 || c === 0x0a || c === 0x0d)) return true;
  }
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  return first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09;
}

/** The value of a `:status` that is three digits, the first 1-9; else -1. */
function statusCode(value: string): number {
  if (value.length !== 3) return -1;
  const a = value.charCodeAt(0) - 0x30;
  const b = value.charCodeAt(1) - 0x30;
  const c = value.charCodeAt(2) - 0x30;
  if (a < 1 || a > 9 || b < 0 || b > 9 || c < 0 || c > 9) return -1;
  return a * 100 + b * 10 + c;
}

/** 1-15 ASCII digits as a number, or -1. */
function digitsValue(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** The size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it. */
export function headerListSize(fields: readonly HeaderField[]): number {
  let size = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    size += f[0].length + f[1].length + ENTRY_OVERHEAD;
  }
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
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    const name = f[0];
    const value = f[1];
    if (name.charCodeAt(0) === 0x3a /* ":" */) {
      if (regularSeen) throw malformed(streamId, `pseudo-header ${name} after a regular field`);
      if (name !== ":status") throw malformed(streamId, `pseudo-header ${name} in a response`);
      if (status !== -1) throw malformed(streamId, "duplicate :status");
      status = statusCode(value);
      if (status === -1) throw malformed(streamId, `:status ${JSON.stringify(value)}`);
      continue;
    }
    regularSeen = true;
    checkRegular(name, value, streamId);
    if (name === "content-length") contentLength = contentLengthOf(value, contentLength, streamId);
  }
  if (status === -1) throw malformed(streamId, "no :status");
  return { status, contentLength };
}

/**
 * A content-length value: digits, or a comma-separated list of them (RFC 9110 §8.6, the repeated
 * form some servers send), each equal to `prior` (an earlier field's) and to each other; else throws.
 */
function contentLengthOf(value: string, prior: number | null, streamId: number): number {
  const plain = digitsValue(value); // the usual single value, without splitting
  if (plain !== -1) {
    if (prior !== null && prior !== plain) throw malformed(streamId, "conflicting content-length");
    return plain;
  }
  let length = prior;
  for (const part of value.split(",")) {
    const n = digitsValue(part.trim());
    if (n === -1) throw malformed(streamId, "invalid content-length");
    if (length !== null && length !== n) throw malformed(streamId, "conflicting content-length");
    length = n;
  }
  return length as number;
}

/** Validates a trailer block (RFC 9113 §8.1): no pseudo-headers, regular field rules. */
export function checkTrailerFields(fields: readonly HeaderField[], streamId: number): void {
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i] as HeaderField;
    if (name.startsWith(":")) throw malformed(streamId, `pseudo-header ${name} in trailers`);
    checkRegular(name, value, streamId);
  }
}
