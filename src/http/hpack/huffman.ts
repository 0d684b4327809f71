import { HpackError } from "./errors.ts";
import { HUFFMAN_CODES, HUFFMAN_EOS, HUFFMAN_LENGTHS } from "./huffman-table.ts";

/** RFC 7541 §5.2 Huffman string coding: encode, encoded length, strict decode. */

/** Octets the Huffman form of `bytes` takes (bits rounded up to whole octets). */
export function huffmanEncodedLength(bytes: Uint8Array): number {
  let bits = 0;
  for (const b of bytes) bits += HUFFMAN_LENGTHS[b] ?? 0;
  return Math.ceil(bits / 8);
}

/** Appends the Huffman form of `bytes` to `out`, padded with the EOS prefix (all ones). */
export function huffmanEncode(bytes: Uint8Array, out: number[]): void {
  // `acc` holds `pending` (< 8) leftover bits plus one code (≤ 30 bits): < 2^38, exact in a double.
  let acc = 0;
  let pending = 0;
  for (const b of bytes) {
    const length = HUFFMAN_LENGTHS[b] ?? 0;
    acc = acc * 2 ** length + (HUFFMAN_CODES[b] ?? 0);
    pending += length;
    while (pending >= 8) {
      pending -= 8;
      const scale = 2 ** pending;
      const octet = Math.floor(acc / scale);
      out.push(octet);
      acc -= octet * scale;
    }
  }
  if (pending > 0) {
    const pad = 8 - pending;
    out.push(acc * 2 ** pad + (2 ** pad - 1));
  }
}

/**
 * Decoding trie: node n has children `CHILD[2n]` (bit 0) and `CHILD[2n + 1]` (bit 1); a child
 * value ≥ 0 is a node, `-1 - symbol` is a leaf. The code is complete (Kraft sum 1), so every bit
 * path ends in a leaf.
 */
const CHILD = buildTrie();

function buildTrie(): Int16Array {
  const child = new Int16Array(2 * 256).fill(0);
  let nodes = 1;
  for (let symbol = 0; symbol <= HUFFMAN_EOS; symbol++) {
    const length = HUFFMAN_LENGTHS[symbol] ?? 0;
    const code = HUFFMAN_CODES[symbol] ?? 0;
    let node = 0;
    for (let i = length - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) % 2;
      const slot = 2 * node + bit;
      if (i === 0) {
        child[slot] = -1 - symbol;
      } else {
        if (child[slot] === 0) child[slot] = nodes++;
        node = child[slot] ?? 0;
      }
    }
  }
  return child;
}

/**
 * Decodes `src[start..end)`. Strict: the EOS symbol inside the string, padding longer than 7 bits,
 * or padding that is not all ones are errors; so is output longer than `maxLength` octets.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, maxLength: number): Uint8Array {
  // Each symbol takes at least 5 bits, so the output is at most 8/5 of the input.
  const out = new Uint8Array(Math.min(maxLength, Math.floor(((end - start) * 8) / 5)));
  let length = 0;
  let node = 0;
  let pendingBits = 0; // bits read since the last complete symbol
  let pendingOnes = true; // whether all of them were 1
  for (let i = start; i < end; i++) {
    const octet = src[i] ?? 0;
    for (let shift = 7; shift >= 0; shift--) {
      const bit = (octet >> shift) & 1;
      const next = CHILD[2 * node + bit] ?? 0;
      if (next < 0) {
        const symbol = -1 - next;
        if (symbol === HUFFMAN_EOS) throw new HpackError("Huffman string contains EOS");
        if (length >= out.length) throw new HpackError("Huffman string longer than the limit");
        out[length++] = symbol;
        node = 0;
        pendingBits = 0;
        pendingOnes = true;
      } else {
        node = next;
        pendingBits++;
        if (bit === 0) pendingOnes = false;
      }
    }
  }
  if (pendingBits > 7) throw new HpackError("Huffman padding longer than 7 bits");
  if (!pendingOnes) throw new HpackError("Huffman padding is not the EOS prefix");
  return out.subarray(0, length);
}
