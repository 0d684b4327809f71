import { HpackError } from "./errors.ts";

/**
 * HPACK strings are octets; this codec carries them in JS strings one octet per code unit (latin1),
 * which is also how Node-style raw headers hold obs-text.
 */

/** The octets of `text`; a code unit above U+00FF is refused (callers validate field values). */
export function toOctets(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit > 0xff) throw new HpackError("header field has a character above U+00FF");
    out[i] = unit;
  }
  return out;
}

/** Code units per `String.fromCharCode` call (keeps the argument list small). */
const CHUNK = 4096;

/** The string holding `bytes[start..end)` one octet per code unit. */
export function fromOctets(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let text = "";
  for (let i = start; i < end; i += CHUNK) {
    text += String.fromCharCode(...bytes.subarray(i, Math.min(i + CHUNK, end)));
  }
  return text;
}
