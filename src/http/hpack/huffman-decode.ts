import { HpackError } from "./errors.ts";
import { HUFFMAN_CODES, HUFFMAN_EOS, HUFFMAN_LENGTHS } from "./huffman-table.ts";
import { latin1Text } from "./latin1-text.ts";

/**
 * RFC 7541 §5.2 Huffman decoding, strict, four bits per step: a table indexed by (trie node,
 * nibble) gives the node reached and the symbol completed on the way, if any. Every code is at
 * least 5 bits long, so a nibble completes at most one symbol.
 */

/** Internal nodes of the code's binary trie (257 leaves). */
const NODES = 256;

/**
 * Decoding trie: node n has children `CHILD[2n]` (bit 0) and `CHILD[2n + 1]` (bit 1); a child
 * value ≥ 0 is a node, `-1 - symbol` is a leaf. The code is complete (Kraft sum 1), so every bit
 * path ends in a leaf.
 */
function buildTrie(): Int16Array {
  const child = new Int16Array(2 * NODES).fill(0);
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

/** A step entry: bits 0-7 the next node, bit 8 a symbol was completed, bits 9-16 that symbol. */
const EMITS = 0x100;
/** The step runs into EOS, never valid inside a string. */
const HITS_EOS = 0x20000;

interface Tables {
  /** `STEP[node << 4 | nibble]`, see EMITS / HITS_EOS. */
  step: Int32Array;
  /**
   * Nodes a string may end on: the bits since the last symbol (the node's depth) are at most 7
   * and all ones, i.e. a prefix of EOS used as padding (§5.2). 1 = fine, 2 = too long, 3 = not
   * all ones.
   */
  end: Uint8Array;
}

function buildTables(): Tables {
  const child = buildTrie();
  const step = new Int32Array(NODES * 16);
  for (let node = 0; node < NODES; node++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let at = node;
      let entry = 0;
      for (let shift = 3; shift >= 0; shift--) {
        const next = child[2 * at + ((nibble >> shift) & 1)] as number;
        if (next >= 0) {
          at = next;
          continue;
        }
        const symbol = -1 - next;
        if (symbol === HUFFMAN_EOS) entry |= HITS_EOS;
        else entry |= EMITS | (symbol << 9);
        at = 0;
      }
      step[(node << 4) | nibble] = entry | at;
    }
  }
  // Walk the trie from the root: depth and whether the path is all ones.
  const end = new Uint8Array(NODES);
  const walk = (node: number, depth: number, ones: boolean): void => {
    end[node] = depth > 7 ? 2 : ones ? 1 : 3;
    for (let bit = 0; bit < 2; bit++) {
      const next = child[2 * node + bit] as number;
      if (next > 0) walk(next, depth + 1, ones && bit === 1);
    }
  };
  walk(0, 0, true);
  return { step, end };
}

const { step: STEP, end: END } = buildTables();

/**
 * Decodes `src[start..end)` into `out` (at most `cap` octets); returns the octets written.
 * Strict: the EOS symbol inside the string, padding longer than 7 bits, or padding that is not
 * all ones are errors; so is output longer than `cap` octets.
 */
function decodeInto(src: Uint8Array, start: number, end: number, out: Uint8Array, cap: number): number {
  let length = 0;
  let node = 0;
  for (let i = start; i < end; i++) {
    const octet = src[i] as number;
    let e = STEP[(node << 4) | (octet >> 4)] as number;
    if ((e & (EMITS | HITS_EOS)) !== 0) {
      if ((e & HITS_EOS) !== 0) throw new HpackError("Huffman string contains EOS");
      if (length >= cap) throw new HpackError("Huffman string longer than the limit");
      out[length++] = (e >> 9) & 0xff;
    }
    e = STEP[((e & 0xff) << 4) | (octet & 0x0f)] as number;
    if ((e & (EMITS | HITS_EOS)) !== 0) {
      if ((e & HITS_EOS) !== 0) throw new HpackError("Huffman string contains EOS");
      if (length >= cap) throw new HpackError("Huffman string longer than the limit");
      out[length++] = (e >> 9) & 0xff;
    }
    node = e & 0xff;
  }
  const fin = END[node];
  if (fin === 2) throw new HpackError("Huffman padding longer than 7 bits");
  if (fin === 3) throw new HpackError("Huffman padding is not the EOS prefix");
  return length;
}

/** Output bound: each symbol takes at least 5 bits, so at most 8/5 of the input. */
function capacity(start: number, end: number, maxLength: number): number {
  return Math.min(maxLength, Math.floor(((end - start) * 8) / 5));
}

/**
 * Decodes `src[start..end)`. Strict: the EOS symbol inside the string, padding longer than 7 bits,
 * or padding that is not all ones are errors; so is output longer than `maxLength` octets.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, maxLength: number): Uint8Array {
  const cap = capacity(start, end, maxLength);
  const out = new Uint8Array(cap);
  return out.subarray(0, decodeInto(src, start, end, out, cap));
}

/** Scratch output for `huffmanDecodeText`, reused (decoding is synchronous). */
const scratch = new Uint8Array(1024);

/** `huffmanDecode` straight to the string of its octets (one code unit each), same checks. */
export function huffmanDecodeText(src: Uint8Array, start: number, end: number, maxLength: number): string {
  const cap = capacity(start, end, maxLength);
  // A long string gets a buffer of its own, so the scratch never keeps a large one alive.
  const out = cap <= scratch.length ? scratch : new Uint8Array(cap);
  return latin1Text(out, 0, decodeInto(src, start, end, out, cap));
}
