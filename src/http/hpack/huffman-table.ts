/**
 * RFC 7541 Appendix B: the HPACK Huffman code.
 *
 * The RFC's code is canonical: codes are assigned in order of (length, symbol), each length's first
 * code being (previous code + 1) shifted left by the length difference, starting from 0 for the
 * shortest length (`'0'` = 00000). So the table below stores only the code length in bits of each
 * symbol 0..256 (256 = EOS) and the codes are rebuilt from it (e.g. `'0'` = 0x0 [5], `' '` = 0x14
 * [6], `'A'` = 0x21 [6], 0 = 0x1ff8 [13], 255 = 0x3ffffee [26], EOS = 0x3fffffff [30]; the test
 * checks these against the RFC's hex column and the Kraft sum).
 */

/** Code length in bits for symbols 0..256, sixteen symbols per row. */
// biome-ignore format: sixteen symbols per row, as in the RFC's table order
export const HUFFMAN_LENGTHS: readonly number[] = [
  // 0x00-0x1f: control characters
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  // ' ' ! " # $ % & ' ( ) * + , - . /
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  // 0 1 2 3 4 5 6 7 8 9 : ; < = > ?
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // @ A B C D E F G H I J K L M N O
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  // P Q R S T U V W X Y Z [ \ ] ^ _
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // ` a b c d e f g h i j k l m n o
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  // p q r s t u v w x y z { | } ~ DEL
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 0x80-0xff
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  // EOS
  30,
];

/** The EOS symbol (never valid inside a decoded string, RFC 7541 §5.2). */
export const HUFFMAN_EOS = 256;

/** Canonical codes (right-aligned, `HUFFMAN_LENGTHS[s]` bits) for symbols 0..256. */
export const HUFFMAN_CODES: readonly number[] = buildCanonicalCodes(HUFFMAN_LENGTHS);

function buildCanonicalCodes(lengths: readonly number[]): number[] {
  const order = lengths.map((_, symbol) => symbol);
  order.sort((a, b) => (lengths[a] ?? 0) - (lengths[b] ?? 0) || a - b);
  const codes = new Array<number>(lengths.length).fill(0);
  let code = 0;
  let previousLength = lengths[order[0] ?? 0] ?? 0;
  for (const symbol of order) {
    const length = lengths[symbol] ?? 0;
    code *= 2 ** (length - previousLength); // codes reach 30 bits: stay in exact double math
    codes[symbol] = code;
    code += 1;
    previousLength = length;
  }
  return codes;
}
