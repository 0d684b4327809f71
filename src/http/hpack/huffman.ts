import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./huffman-table.ts";
import { fromOctets } from "./octets.ts";

/** RFC 7541 §5.2 Huffman string coding: encode, encoded length, strict decode (huffman-decode.ts). */

/** Octets the Huffman form of `bytes` takes (bits rounded up to whole octets). */
export function huffmanEncodedLength(bytes: Uint8Array): number {
  return huffmanLengthOf(fromOctets(bytes));
}

/** Appends the Huffman form of `bytes` to `out`, padded with the EOS prefix (all ones). */
export function huffmanEncode(bytes: Uint8Array, out: number[]): void {
  const text = fromOctets(bytes);
  const coded = new Uint8Array(huffmanLengthOf(text));
  huffmanEncodeInto(text, coded, 0);
  for (let i = 0; i < coded.length; i++) out.push(coded[i] as number);
}

/** Octets the Huffman form of `text` (one octet per code unit, all ≤ U+00FF) takes. */
export function huffmanLengthOf(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) bits += HUFFMAN_LENGTHS[text.charCodeAt(i)] as number;
  return Math.ceil(bits / 8);
}

/**
 * Writes the Huffman form of `text` (one octet per code unit, all ≤ U+00FF) into `out` from `at`,
 * padded with the EOS prefix (all ones); `out` has room for `huffmanLengthOf(text)` more octets.
 * Returns the offset after it.
 */
export function huffmanEncodeInto(text: string, out: Uint8Array, at: number): number {
  // `acc` holds `pending` (< 8) leftover bits plus one code (≤ 30 bits): < 2^38, exact in a double.
  let acc = 0;
  let pending = 0;
  let pos = at;
  for (let i = 0; i < text.length; i++) {
    const b = text.charCodeAt(i);
    const length = HUFFMAN_LENGTHS[b] as number;
    acc = acc * 2 ** length + (HUFFMAN_CODES[b] as number);
    pending += length;
    while (pending >= 8) {
      pending -= 8;
      const scale = 2 ** pending;
      const octet = Math.floor(acc / scale);
      out[pos++] = octet;
      acc -= octet * scale;
    }
  }
  if (pending > 0) {
    const pad = 8 - pending;
    out[pos++] = acc * 2 ** pad + (2 ** pad - 1);
  }
  return pos;
}

export { huffmanDecode } from "./huffman-decode.ts";
