/**
 * Content-Encoding parsing and the decodable-coding check (pure): the origin controls the value, so
 * a coding named like an Object.prototype member must be an unknown coding (passed through
 * undecoded), never a lookup that finds a function.
 */
import { describe, expect, test } from "bun:test";
import { canDecode, MAX_CODINGS, parseCodings } from "../src/http/bridge/content-decode.ts";

describe("content codings", () => {
  test("known codings decode, in the order they were applied", () => {
    expect(parseCodings("gzip, br")).toEqual(["gzip", "br"]);
    expect(canDecode(["gzip", "br"])).toBe(true);
    expect(canDecode(["x-gzip", "deflate", "zstd"])).toBe(true);
    expect(canDecode([])).toBe(true);
  });

  test("unknown codings, Object.prototype names included, are not decodable", () => {
    for (const c of ["compress", "constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(canDecode([c])).toBe(false);
      expect(canDecode(["gzip", c])).toBe(false);
    }
  });

  test("more than MAX_CODINGS codings are not decoded", () => {
    expect(canDecode(Array.from({ length: MAX_CODINGS + 1 }, () => "gzip"))).toBe(false);
  });
});
