import { GREASE } from "./types.ts";

/**
 * RFC 8701 GREASE values for 16-bit code points: 0x0a0a, 0x1a1a, …, 0xfafa (both bytes equal,
 * low nibble 0xa).
 */
export function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

/** Replaces any GREASE value by the single marker GREASE so fingerprints compare stably. */
export function normalizeGrease(value: number): number {
  return isGrease(value) ? GREASE : value;
}

/** The list without GREASE values (JA3, JA4 and counts ignore them). */
export function withoutGrease(values: readonly number[]): number[] {
  return values.filter((v) => !isGrease(v));
}

/** 16-bit code point as 4 lowercase hex digits (e.g. 4865 → "1301"). */
export function hex4(value: number): string {
  return value.toString(16).padStart(4, "0");
}
