/**
 * A string sliced from a larger one (`text.slice(a, b)`) keeps that whole string alive in JSC:
 * a field value cut from a decoded request head holds the head text (up to the head limit) for
 * as long as the value lives. `detachedString` is for values kept past their message (an HPACK
 * dynamic table entry, a per-connection memo): an equal string with storage of its own.
 *
 * A UTF-8 round trip is exact for every string without lone surrogates (field text has none: its
 * code units are octets) and is native on both sides.
 */
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder("utf-8");

export function detachedString(s: string): string {
  return s.length < 2 ? s : DECODER.decode(ENCODER.encode(s));
}
