/**
 * HPACK strings are octets; this codec carries them in JS strings one octet per code unit (latin1),
 * which is also how Node-style raw headers hold obs-text.
 */

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
