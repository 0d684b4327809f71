/**
 * The request side of RFC 9113 §8.2–8.3 for the server role: a decoded request field block (or a
 * trailer block) checked in one pass and split into pseudo-headers and regular fields. A
 * malformed message is a stream error PROTOCOL_ERROR (§8.1.1). Pure.
 */
import { H2ErrorCode, streamError } from "./errors.ts";
import type { HeaderField } from "./session-types.ts";

/** A request as the client sent it: pseudo-headers apart, regular fields in wire order. */
export interface ServerRequest {
  readonly method: string;
  /** Absent only on CONNECT (RFC 9113 §8.5). */
  readonly scheme: string | null;
  /** `:authority`, else the `host` field (RFC 9113 §8.3.1), else null. */
  readonly authority: string | null;
  readonly path: string | null;
  /** `:protocol` (RFC 8441), which this server does not offer: the caller refuses it. */
  readonly protocol: string | null;
  /** Regular fields, lowercase names, wire order (cookie crumbs as sent). */
  readonly fields: HeaderField[];
  /** The declared content-length, or null. */
  readonly contentLength: number | null;
}

/** Connection-specific fields a request must not carry (RFC 9113 §8.2.2); `te` is checked apart. */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** tchar (RFC 9110 §5.6.2) without uppercase letters: what an HTTP/2 field name may hold. */
const NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** A method token (any case). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9113 §8.2.1: no NUL, CR or LF anywhere. */
const FORBIDDEN_VALUE_CHAR = /[\0\r\n]/;

function malformed(streamId: number, message: string) {
  return streamError(H2ErrorCode.PROTOCOL_ERROR, streamId, `malformed request: ${message}`);
}

/** RFC 9113 §8.2.1: no NUL, CR or LF; no SP / HTAB at either end. */
function validValue(v: string): boolean {
  const n = v.length;
  if (n === 0) return true;
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(n - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  return !FORBIDDEN_VALUE_CHAR.test(v);
}

/**
 * Names that passed `checkRegular`'s name checks (valid, not connection-specific, not `te`):
 * the same few dozen recur on every request of a connection, and a Set lookup costs less than the
 * name pattern and the connection-specific lookup. Bounded: past the cap, names are checked again
 * each time.
 */
const CHECKED_NAMES = new Set<string>();
const MAX_CHECKED_NAMES = 512;

/** RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const DIGITS = /^[0-9]{1,15}$/;

/** Checks a regular field shared by heads and trailers; returns its name. */
function checkRegular(f: HeaderField, streamId: number): void {
  const name = f[0];
  if (CHECKED_NAMES.has(name)) {
    if (!validValue(f[1])) throw malformed(streamId, `invalid value for ${name}`);
    return;
  }
  if (!NAME.test(name)) throw malformed(streamId, `invalid field name ${JSON.stringify(name)}`);
  if (!validValue(f[1])) throw malformed(streamId, `invalid value for ${name}`);
  if (CONNECTION_SPECIFIC.has(name)) throw malformed(streamId, `connection-specific field ${name}`);
  if (name === "te") {
    if (f[1] !== "trailers") throw malformed(streamId, "te other than trailers");
  } else if (CHECKED_NAMES.size < MAX_CHECKED_NAMES) CHECKED_NAMES.add(name);
}

/** content-length: digits, repeated (as a list or as fields) only with one value. */
function contentLength(value: string, prev: number | null, streamId: number): number {
  let n = prev;
  for (const part of value.split(",")) {
    const digits = part.trim();
    if (!DIGITS.test(digits)) throw malformed(streamId, "invalid content-length");
    const v = Number(digits);
    if (n !== null && n !== v) throw malformed(streamId, "conflicting content-length");
    n = v;
  }
  return n as number;
}

/**
 * Checks a request field block (RFC 9113 §8.2, §8.3.1): pseudo-headers first, each known one at
 * most once, no response or unknown pseudo-header; `:method`, `:scheme` and a non-empty `:path`
 * except on CONNECT (whose own form the caller refuses anyway); valid names and values; no
 * connection-specific fields; `te` only `trailers`; one content-length. Throws a stream error.
 */
export function checkRequestFields(block: readonly HeaderField[], streamId: number): ServerRequest {
  let method: string | null = null;
  let scheme: string | null = null;
  let authority: string | null = null;
  let path: string | null = null;
  let protocol: string | null = null;
  let host: string | null = null;
  let length: number | null = null;
  const fields: HeaderField[] = [];
  for (let i = 0; i < block.length; i++) {
    const f = block[i] as HeaderField;
    const name = f[0];
    if (name.charCodeAt(0) === 0x3a /* ":" */) {
      if (fields.length > 0) throw malformed(streamId, `pseudo-header ${name} after a regular field`);
      const value = f[1];
      let dup = false;
      if (name === ":method") {
        dup = method !== null;
        method = value;
      } else if (name === ":scheme") {
        dup = scheme !== null;
        scheme = value;
      } else if (name === ":authority") {
        dup = authority !== null;
        authority = value;
      } else if (name === ":path") {
        dup = path !== null;
        path = value;
      } else if (name === ":protocol") {
        dup = protocol !== null;
        protocol = value;
      } else throw malformed(streamId, `pseudo-header ${JSON.stringify(name)} in a request`);
      if (dup) throw malformed(streamId, `duplicate ${name}`);
      if (!validValue(value)) throw malformed(streamId, `invalid value for ${name}`);
      continue;
    }
    checkRegular(f, streamId);
    if (name === "content-length") length = contentLength(f[1], length, streamId);
    else if (name === "host" && host === null) host = f[1];
    fields.push(f);
  }
  if (method === null || !TOKEN.test(method)) throw malformed(streamId, "missing or invalid :method");
  if (method !== "CONNECT") {
    if (scheme === null || !SCHEME.test(scheme)) throw malformed(streamId, "missing or invalid :scheme");
    if (path === null || path === "") throw malformed(streamId, "missing or empty :path");
    if (path.charCodeAt(0) !== 0x2f /* "/" */ && !(path === "*" && method === "OPTIONS")) {
      throw malformed(streamId, ":path is neither origin-form nor * (OPTIONS)");
    }
    // As an HTTP/1.1 request-target (RFC 3986; request-target.ts): visible ASCII, no fragment.
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c <= 0x20 || c >= 0x7f || c === 0x23 /* "#" */)
        throw malformed(streamId, ":path holds a space, a control, a non-ASCII character or a fragment");
    }
  }
  return { method, scheme, authority: authority ?? host, path, protocol, fields, contentLength: length };
}

/** Checks a trailer block (RFC 9113 §8.1): no pseudo-headers, the regular field rules. */
export function checkRequestTrailers(block: readonly HeaderField[], streamId: number): void {
  for (let i = 0; i < block.length; i++) {
    const f = block[i] as HeaderField;
    if (f[0].charCodeAt(0) === 0x3a) throw malformed(streamId, `pseudo-header ${f[0]} in trailers`);
    checkRegular(f, streamId);
  }
}

/** The size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it (32 per field, §6.5.2). */
export function listSize(block: readonly HeaderField[]): number {
  let size = 0;
  for (let i = 0; i < block.length; i++) {
    const f = block[i] as HeaderField;
    size += f[0].length + f[1].length + 32;
  }
  return size;
}
