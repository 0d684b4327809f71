import { H1Error, type H1Side } from "./errors.ts";
import { isTokenString, shown, shownTarget } from "./syntax.ts";

/**
 * Exact, safe serialisation of HTTP/1.1 heads. The header policy (which fields, their case and
 * order) belongs to the caller; this file writes names and values byte for byte as given, in the
 * given order, and refuses (INVALID_OUTPUT) anything that would not parse back to the same thing:
 * - method and field names must be tokens (RFC 9110 §5.1, §9.1);
 * - request-target: VCHAR only, no `#` (RFC 9112 §3.2);
 * - field values and the reason phrase: no CR, LF, NUL, other CTLs (HTAB aside) or DEL, and every
 *   char ≤ U+00FF (one byte each, ISO-8859-1); values may not start or end with SP / HTAB, since a
 *   recipient would strip them (RFC 9110 §5.5);
 * - status: an integer 100-599 (RFC 9110 §15).
 * Errors on a request head are HTTP_BAD_REQUEST (the fields usually come from the client); on a
 * response head HTTP_PROTOCOL (they usually come from the origin).
 */

export type HeaderList = readonly (readonly [string, string])[];

export function writeRequestHead(
  method: string,
  target: string,
  headers: HeaderList,
  version: "1.1" | "1.0" = "1.1",
): Uint8Array {
  if (!isTokenString(method)) throw invalid("request", `method ${shown(method)} is not a token`);
  if (!/^[\x21\x22\x24-\x7e]+$/.test(target))
    throw invalid("request", `request-target ${shownTarget(target)} is invalid`);
  return headBytes(`${method} ${target} HTTP/${version}\r\n`, headers, "request");
}

export function writeResponseHead(
  status: number,
  reason: string,
  headers: HeaderList,
  version: "1.1" | "1.0" = "1.1",
): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 599)
    throw invalid("response", `status ${status} is invalid`);
  if (!isFieldText(reason)) throw invalid("response", `reason phrase ${shown(reason)} is invalid`);
  return headBytes(`HTTP/${version} ${status} ${reason}\r\n`, headers, "response");
}

/**
 * `startLine` (already checked), then `name: value\r\n` per field, validated as `serializeFields`
 * does, then the empty line: written straight into the bytes in one pass per field (no string
 * built and encoded again; this runs for every response head).
 */
function headBytes(startLine: string, headers: HeaderList, side: H1Side): Uint8Array {
  let size = startLine.length + 2;
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i] as readonly [string, string];
    size += f[0].length + f[1].length + 4;
  }
  const out = new Uint8Array(size);
  let at = putText(out, 0, startLine);
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i] as readonly [string, string];
    const name = f[0];
    const value = f[1];
    if (!isTokenString(name)) throw invalid(side, `field name ${shown(name)} is not a token`);
    at = putText(out, at, name);
    out[at++] = 0x3a; // ":"
    out[at++] = 0x20;
    const end = putFieldText(out, at, value);
    if (end < 0 || (value.length > 0 && (edgeSpace(value, 0) || edgeSpace(value, value.length - 1))))
      throw invalid(side, `value of ${name} is invalid`);
    at = end;
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  out[at++] = 0x0d;
  out[at] = 0x0a;
  return out;
}

/** Writes `s` (chars ≤ U+00FF, checked by the caller) at `at`; returns the end. */
function putText(out: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i);
  return at;
}

/** Writes `s` at `at` when it is field text (see `isFieldText`); returns the end, or -1. */
function putFieldText(out: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return -1;
    out[at++] = c;
  }
  return at;
}

function edgeSpace(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c === 0x20 || c === 0x09;
}

/** `name: value\r\n` for each field, validated; shared with the chunked trailer encoder. */
export function serializeFields(headers: HeaderList, side: H1Side): string {
  let out = "";
  for (const [name, value] of headers) {
    if (!isTokenString(name)) throw invalid(side, `field name ${shown(name)} is not a token`);
    if (!isFieldText(value) || /^[ \t]|[ \t]$/.test(value))
      throw invalid(side, `value of ${name} is invalid`);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

/** HTAB, SP, VCHAR, obs-text: no CTL but HTAB, no DEL, nothing above U+00FF. */
function isFieldText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** ISO-8859-1 bytes of a string whose chars are all ≤ U+00FF (checked by the callers). */
export function encodeLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function invalid(side: H1Side, why: string): H1Error {
  return new H1Error(side, "INVALID_OUTPUT", `cannot write HTTP/1.1 head: ${why}`, 400);
}
