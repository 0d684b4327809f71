import { H1Error, type H1Side } from "./errors.ts";
import { isTokenString, shown } from "./syntax.ts";

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
    throw invalid("request", `request-target ${shown(target)} is invalid`);
  return encodeLatin1(`${method} ${target} HTTP/${version}\r\n${serializeFields(headers, "request")}\r\n`);
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
  return encodeLatin1(`HTTP/${version} ${status} ${reason}\r\n${serializeFields(headers, "response")}\r\n`);
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
