import { HpackError } from "./errors.ts";
import { huffmanEncodeInto, huffmanLengthOf } from "./huffman.ts";
import { MAX_INTEGER } from "./integer.ts";

const INITIAL_BYTES = 1024; // bytes; a browser's request block is a few hundred

/**
 * The buffer every block is written into, shared by all encoders: encoding is synchronous and
 * never re-entered, and each block is copied out at its end (so no connection holds a buffer and
 * no block allocates more than its own bytes). It grows to the largest block seen.
 */
let scratch = new Uint8Array(INITIAL_BYTES);

/**
 * The output of one header block being encoded (see `scratch`). Strings are written straight from
 * their code units (one octet each: the caller has checked that none is above U+00FF), as RFC 7541
 * §5.1 integers, §5.2 string literals and Huffman codes.
 */
export class BlockWriter {
  /** Bytes written so far. */
  length = 0;

  /** The block written so far, as a new array the caller owns. */
  bytes(): Uint8Array {
    return scratch.slice(0, this.length);
  }

  #room(n: number): Uint8Array {
    const need = this.length + n;
    if (need > scratch.length) {
      let cap = scratch.length * 2;
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(scratch.subarray(0, this.length));
      scratch = grown;
    }
    return scratch;
  }

  /** An integer with an N-bit prefix; `flags` are the bits above the prefix (RFC 7541 §5.1). */
  int(value: number, prefixBits: number, flags: number): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_INTEGER) {
      throw new HpackError(`integer ${value} cannot be encoded`);
    }
    const buf = this.#room(6); // prefix octet + at most 5 continuation octets for 32 bits
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      buf[this.length++] = flags | value;
      return;
    }
    buf[this.length++] = flags | max;
    let rest = value - max;
    while (rest >= 128) {
      buf[this.length++] = (rest % 128) + 128;
      rest = Math.floor(rest / 128);
    }
    buf[this.length++] = rest;
  }

  /** A string literal: Huffman-coded per `mode` ("shorter": only when that is shorter). */
  string(text: string, mode: "always" | "never" | "shorter"): void {
    const huffmanLength = mode === "never" ? text.length : huffmanLengthOf(text);
    if (mode === "always" || (mode === "shorter" && huffmanLength < text.length)) {
      this.int(huffmanLength, 7, 0x80);
      this.length = huffmanEncodeInto(text, this.#room(huffmanLength), this.length);
    } else {
      this.int(text.length, 7, 0x00);
      const buf = this.#room(text.length);
      let at = this.length;
      for (let i = 0; i < text.length; i++) buf[at++] = text.charCodeAt(i);
      this.length = at;
    }
  }
}
