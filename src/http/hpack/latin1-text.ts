import { fromOctets } from "./octets.ts";

/**
 * Octets to a string one code unit per octet (ISO-8859-1), the decode side's hot conversion: every
 * literal name and value of a received header block passes here.
 *
 * Bun's `Buffer.prototype.latin1Slice` does it natively (~10× faster than `String.fromCharCode`
 * over a spread on short strings) and works on any Uint8Array; it is checked once against all 256
 * octets, and `fromOctets` is used when it is missing or wrong.
 */
type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;

const native = pickNative();

function pickNative(): Latin1Slice | null {
  const slice = (Buffer.prototype as unknown as { latin1Slice?: Latin1Slice }).latin1Slice;
  if (typeof slice !== "function") return null;
  try {
    const all = new Uint8Array(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    const text = slice.call(all, 1, 256);
    if (text.length !== 255) return null;
    for (let i = 0; i < 255; i++) if (text.charCodeAt(i) !== i + 1) return null;
    return slice;
  } catch {
    return null;
  }
}

/** The string holding `bytes[start..end)` one octet per code unit. */
export function latin1Text(bytes: Uint8Array, start: number, end: number): string {
  if (start === end) return "";
  return native !== null ? native.call(bytes, start, end) : fromOctets(bytes, start, end);
}
