/**
 * The padding rule shared by `polytls fingerprint --compare` and the catalogue tests
 * (src/fingerprint/padding.ts): a padding (21) difference is the hello's length, not the profile,
 * only when the recorded hello obeys RFC 7685 §4 as BoringSSL applies it.
 */
import { describe, expect, test } from "bun:test";
import { paddingFollowsLength } from "../src/fingerprint/padding.ts";

const RECORD = 5; // record header bytes, counted in recordBytes

describe("paddingFollowsLength", () => {
  test("padded here, not in the capture: only a hello of exactly 512 bytes", () => {
    expect(paddingFollowsLength(RECORD + 512, true, false)).toBe(true);
    expect(paddingFollowsLength(RECORD + 513, true, false)).toBe(false);
    expect(paddingFollowsLength(RECORD + 400, true, false)).toBe(false);
  });

  test("padded in the capture, not here: only a hello of at least 512 bytes", () => {
    expect(paddingFollowsLength(RECORD + 512, false, true)).toBe(true);
    expect(paddingFollowsLength(RECORD + 700, false, true)).toBe(true);
    expect(paddingFollowsLength(RECORD + 300, false, true)).toBe(false);
  });

  test("no difference, nothing to excuse", () => {
    expect(paddingFollowsLength(RECORD + 512, true, true)).toBe(false);
    expect(paddingFollowsLength(RECORD + 600, false, false)).toBe(false);
  });
});
