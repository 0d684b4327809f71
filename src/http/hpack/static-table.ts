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

/** A name's static entries: its first and last index, and the lowest index of each of its values. */
export interface StaticName {
  readonly first: number;
  readonly last: number;
  readonly values: readonly string[];
  /** `indices[i]` is the lowest static index of `[name, values[i]]`. */
  readonly indices: readonly number[];
}

/**
 * Static entries per name (built once; one lookup per field). A prototype-less object rather than
 * a Map: a property lookup atomizes the key string once and then compares pointers, and the names
 * looked up (pseudo-headers, a profile's template names) are the same strings on every request.
 */
const BY_NAME: Record<
  string,
  { first: number; last: number; values: string[]; indices: number[] } | undefined
> = Object.create(null);
STATIC_TABLE.forEach(([name, value], i) => {
  const entry = BY_NAME[name];
  if (entry === undefined) {
    BY_NAME[name] = { first: i + 1, last: i + 1, values: [value], indices: [i + 1] };
    return;
  }
  entry.last = i + 1;
  if (!entry.values.includes(value)) {
    entry.values.push(value);
    entry.indices.push(i + 1);
  }
});

/** The static entries named `name`, or undefined when there is none. */
export function staticName(name: string): StaticName | undefined {
  return BY_NAME[name];
}

/** The lowest static index of `value` among `entry`'s, or 0. */
export function staticValueIndex(entry: StaticName, value: string): number {
  const at = entry.values.indexOf(value);
  return at < 0 ? 0 : (entry.indices[at] as number);
}
