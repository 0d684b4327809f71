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

export function latin1(buf: Uint8Array, start: number, end: number): string {
  let out = "";
  const CHUNK = 4096; // chars per fromCharCode call; far below engine argument limits
  for (let i = start; i < end; i += CHUNK) {
    out += String.fromCharCode(...buf.subarray(i, Math.min(end, i + CHUNK)));
  }
  return out;
}

/** ASCII-only lowercase: header names and codings are compared case-insensitively (RFC 9110 §5.1). */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/** Splits a comma list (RFC 9110 §5.6.1) into trimmed elements, keeping empty ones. */
export function splitList(value: string): string[] {
  return value.split(",").map((e) => e.replace(/^[ \t]+|[ \t]+$/g, ""));
}

/** For error messages only: the start of an untrusted string, JSON-quoted. */
export function shown(s: string, max = 60): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
