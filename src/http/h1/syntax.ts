/**
 * Byte classes and small helpers shared by the HTTP/1.1 codec (RFC 9110 §5.6, RFC 9112 §2).
 * Text is ISO-8859-1: one byte is one UTF-16 unit (TextDecoder's "latin1" is windows-1252, so it
 * is not used).
 */

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const DEL = 0x7f;

/** RFC 9110 §5.6.2 tchar. */
export const TCHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~0123456789") t[c.charCodeAt(0)] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = t[c + 0x20] = 1;
  return t;
})();

/** A byte that may never appear in a head: CTLs other than HTAB / CR / LF, and DEL. */
export function isForbiddenHeadByte(b: number): boolean {
  return (b < SP && b !== HTAB && b !== CR && b !== LF) || b === DEL;
}

/** field-vchar / SP / HTAB (RFC 9110 §5.5): anything but CTLs (HTAB aside) and DEL. */
export function isFieldValueByte(b: number): boolean {
  return b === HTAB || (b >= SP && b !== DEL);
}

export function isTokenString(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** Decodes ASCII-only bytes (identical to ISO-8859-1 there): native, far cheaper than fromCharCode. */
const ASCII = new TextDecoder("utf-8");
/** Code units per `String.fromCharCode` call (keeps the argument list far below engine limits). */
const CHUNK = 4096;

/** Whether every byte of `buf[start..end)` is below 0x80. */
export function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((buf[i] as number) >= 0x80) return false;
  return true;
}

/** `buf[start..end)` as ISO-8859-1 text; `ascii` when the caller already knows there is no byte ≥ 0x80. */
export function latin1(
  buf: Uint8Array,
  start: number,
  end: number,
  ascii = isAscii(buf, start, end),
): string {
  if (end <= start) return "";
  if (ascii) return ASCII.decode(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  let out = "";
  for (let i = start; i < end; i += CHUNK) {
    const part = buf.subarray(i, Math.min(end, i + CHUNK));
    out += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return out;
}

/** ASCII-only lowercase: header names and codings are compared case-insensitively (RFC 9110 §5.1). */
export function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return lowerFrom(s);
  }
  return s;
}

/** `s` lowercased in A-Z only (`toLowerCase` would also fold non-ASCII, e.g. U+00C0, U+212A). */
function lowerFrom(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return s.replace(/[A-Z]+/g, lowerRun);
  return s.toLowerCase();
}

function lowerRun(m: string): string {
  return m.toLowerCase();
}

/** Splits a comma list (RFC 9110 §5.6.1) into trimmed elements, keeping empty ones. */
export function splitList(value: string): string[] {
  if (!value.includes(",")) return [trimBlanks(value)]; // one element: the common case
  return value.split(",").map(trimBlanks);
}

/** `s` without leading and trailing SP / HTAB (only those: RFC 9110 §5.6.3 OWS). */
function trimBlanks(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** For error messages only: the start of an untrusted string, JSON-quoted. */
export function shown(s: string, max = 60): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

/**
 * A request target (a CONNECT authority, a request-target) as an error message, and so a log
 * line, may show it: up to its query or fragment, which carry tokens (`?access_token=…`,
 * `#id_token=…`), and with everything up to its last `@` (userinfo: credentials, however they
 * are spelt) as `***`, after the scheme when there is one; `…` marks what was left out.
 */
export function safeTarget(raw: string): string {
  const cut = raw.search(/[?#]/);
  const kept = cut < 0 ? raw : `${raw.slice(0, cut + 1)}…`;
  const at = kept.lastIndexOf("@");
  if (at < 0) return kept;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(kept)?.[0] ?? "";
  return `${scheme}***${kept.slice(at)}`;
}

/** safeTarget, quoted as `shown` quotes (the HTTP/1.1 parser's errors). */
export function shownTarget(raw: string): string {
  return shown(safeTarget(raw));
}

/** CR / LF bytes a tunnel's sniffer looks past before a request line (see afterLeadingEols). */
export const MAX_LEADING_EOLS = 8;

/**
 * Where the first line starts after leading CR / LF bytes (RFC 9112 §2.2: empty lines before a
 * request line, which the head scanner accepts one of and refuses more), or -1 when more than
 * `max` of them came first. Tunnel sniffers skip them all before judging the line, so no number
 * of them can steer a request past the HTTP/1.1 parser (and its checks) into a byte relay; -1
 * sends the bytes to the parser too, which refuses them.
 */
export function afterLeadingEols(bytes: Uint8Array, max = MAX_LEADING_EOLS): number {
  let i = 0;
  while (i < bytes.length && (bytes[i] === CR || bytes[i] === LF)) {
    if (++i > max) return -1;
  }
  return i;
}
