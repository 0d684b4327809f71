import type { HeaderField } from "./types.ts";

/** RFC 7541 Appendix A: the static table. `STATIC_TABLE[i - 1]` is index `i` (1..61). */
export const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** Number of static entries (61); dynamic indices start at `STATIC_TABLE_LENGTH + 1`. */
export const STATIC_TABLE_LENGTH = STATIC_TABLE.length;

/** Static indices (ascending) per name. */
const BY_NAME = new Map<string, number[]>();
/** Lowest static index per name, then value (built once; no key string per lookup). */
const BY_FIELD = new Map<string, Map<string, number>>();
STATIC_TABLE.forEach(([name, value], i) => {
  const list = BY_NAME.get(name);
  if (list) list.push(i + 1);
  else BY_NAME.set(name, [i + 1]);
  let values = BY_FIELD.get(name);
  if (values === undefined) {
    values = new Map();
    BY_FIELD.set(name, values);
  }
  if (!values.has(value)) values.set(value, i + 1);
});

const NONE: readonly number[] = [];

/** The static indices whose name is `name`, ascending (empty when none). */
export function staticNameIndices(name: string): readonly number[] {
  return BY_NAME.get(name) ?? NONE;
}

/** The static index of the exact field, or 0. */
export function staticFieldIndex(name: string, value: string): number {
  return BY_FIELD.get(name)?.get(value) ?? 0;
}
