import { HpackError } from "./errors.ts";

/** RFC 7541 §5.1 prefix integers. */

/** Largest integer accepted (2^32 − 1): every HPACK length, index and size fits in 32 bits. */
export const MAX_INTEGER = 0xffff_ffff;
/** Continuation octets accepted after the prefix: 5 × 7 bits covers 32 bits. */
export const MAX_CONTINUATION_OCTETS = 5;

/** A read position inside a header block, advanced by the readers. */
export interface Cursor {
  pos: number;
}

/**
 * Appends `value` with an N-bit prefix; `flags` are the bits above the prefix in the first octet
 * (e.g. 0x80 for Indexed).
 */
export function encodeInteger(out: number[], value: number, prefixBits: number, flags: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_INTEGER) {
    throw new HpackError(`integer ${value} cannot be encoded`);
  }
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}

/** Reads an N-bit-prefix integer at `cursor.pos` (the flag bits are ignored) and advances. */
export function decodeInteger(block: Uint8Array, cursor: Cursor, prefixBits: number): number {
  const first = block[cursor.pos];
  if (first === undefined) throw new HpackError("header block truncated inside an integer");
  cursor.pos++;
  const max = (1 << prefixBits) - 1;
  let value = first & max;
  if (value < max) return value;
  let factor = 1;
  for (let n = 0; n < MAX_CONTINUATION_OCTETS; n++) {
    const octet = block[cursor.pos];
    if (octet === undefined) throw new HpackError("header block truncated inside an integer");
    cursor.pos++;
    value += (octet & 0x7f) * factor;
    if (value > MAX_INTEGER) throw new HpackError("integer above 2^32 - 1");
    if ((octet & 0x80) === 0) return value;
    factor *= 128;
  }
  throw new HpackError(`integer longer than ${MAX_CONTINUATION_OCTETS} continuation octets`);
}
