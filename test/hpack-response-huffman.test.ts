/**
 * The table-driven Huffman decoder (four bits per step) against a bit-at-a-time reference walk of
 * the RFC 7541 code: same output, same errors (EOS inside, padding too long or not all ones, over
 * the limit) on random valid and random corrupted input.
 */
import { describe, expect, test } from "bun:test";
import { HpackError } from "../src/http/hpack/errors.ts";
import { huffmanDecode, huffmanEncode } from "../src/http/hpack/huffman.ts";
import { huffmanDecodeText } from "../src/http/hpack/huffman-decode.ts";
import { HUFFMAN_CODES, HUFFMAN_EOS, HUFFMAN_LENGTHS } from "../src/http/hpack/huffman-table.ts";
import { prng } from "./helpers/prng.ts";

/** symbol by "length:code", for the reference walk. */
const BY_CODE = new Map<string, number>();
for (let s = 0; s <= HUFFMAN_EOS; s++) BY_CODE.set(`${HUFFMAN_LENGTHS[s]}:${HUFFMAN_CODES[s]}`, s);

function reference(src: Uint8Array, maxLength: number): number[] | string {
  const cap = Math.min(maxLength, Math.floor((src.length * 8) / 5));
  const out: number[] = [];
  let code = 0;
  let bits = 0;
  let ones = true;
  for (const octet of src) {
    for (let shift = 7; shift >= 0; shift--) {
      const bit = (octet >> shift) & 1;
      code = code * 2 + bit;
      bits++;
      if (bit === 0) ones = false;
      const symbol = BY_CODE.get(`${bits}:${code}`);
      if (symbol === undefined) continue;
      if (symbol === HUFFMAN_EOS) return "Huffman string contains EOS";
      if (out.length >= cap) return "Huffman string longer than the limit";
      out.push(symbol);
      code = 0;
      bits = 0;
      ones = true;
    }
  }
  if (bits > 7) return "Huffman padding longer than 7 bits";
  if (!ones) return "Huffman padding is not the EOS prefix";
  return out;
}

function actual(src: Uint8Array, maxLength: number): number[] | string {
  try {
    const bytes = [...huffmanDecode(src, 0, src.length, maxLength)];
    const text = huffmanDecodeText(src, 0, src.length, maxLength);
    expect(text.length).toBe(bytes.length);
    for (let i = 0; i < bytes.length; i++) expect(text.charCodeAt(i)).toBe(bytes[i] as number);
    return bytes;
  } catch (err) {
    if (!(err instanceof HpackError)) throw err;
    return err.message;
  }
}

describe("table-driven Huffman decoding", () => {
  test("all 256 octets round-trip, also through the string form", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const coded: number[] = [];
    huffmanEncode(all, coded);
    expect(actual(new Uint8Array(coded), 1 << 20)).toEqual([...all]);
  });

  test("random valid and corrupted strings match the bitwise reference", () => {
    const rnd = prng(7);
    for (let n = 0; n < 4000; n++) {
      const plain = new Uint8Array(Math.floor(rnd() * 40)).map(() =>
        rnd() < 0.8 ? 0x20 + Math.floor(rnd() * 95) : Math.floor(rnd() * 256),
      );
      const coded: number[] = [];
      huffmanEncode(plain, coded);
      const src = new Uint8Array(coded);
      const limit = rnd() < 0.2 ? Math.floor(rnd() * plain.length) : 1 << 20;
      expect(actual(src, limit)).toEqual(reference(src, limit));
      // Corrupt: flip bits, append or cut octets, or use random bytes.
      const bad = rnd() < 0.3 ? src.map(() => Math.floor(rnd() * 256)) : src.slice();
      const at = Math.floor(rnd() * bad.length);
      if (bad.length > 0) bad[at] = (bad[at] as number) ^ (1 << Math.floor(rnd() * 8));
      const variant = rnd() < 0.3 ? new Uint8Array([...bad, 0xff, 0xff, 0xff, 0xff]) : bad;
      expect(actual(variant, 1 << 20)).toEqual(reference(variant, 1 << 20));
    }
  });

  test("EOS and bad padding", () => {
    expect(actual(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 100)).toBe("Huffman string contains EOS");
    expect(actual(new Uint8Array([0xff]), 100)).toBe("Huffman padding longer than 7 bits");
    expect(actual(new Uint8Array([0x1e]), 100)).toBe("Huffman padding is not the EOS prefix");
    expect(actual(new Uint8Array([]), 100)).toEqual([]);
  });

  test("offsets into a larger block", () => {
    const coded: number[] = [];
    huffmanEncode(new TextEncoder().encode("www.example.com"), coded);
    const block = new Uint8Array([9, 9, ...coded, 9]);
    expect(huffmanDecodeText(block, 2, 2 + coded.length, 100)).toBe("www.example.com");
  });
});
