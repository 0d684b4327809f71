/**
 * The encoder's table references and octet checks: exact indices for repeated names under both
 * name-reference policies, after evictions and after many names came and went; a field above
 * U+00FF anywhere in a block changes nothing (the check is lazy); random blocks decode back.
 */

import { heapStats } from "bun:jsc";
import { describe, expect, test } from "bun:test";
import { HpackDecoder } from "../src/http/hpack/decoder.ts";
import { HpackEncoder } from "../src/http/hpack/encoder.ts";
import type { HeaderField } from "../src/http/hpack/types.ts";
import { RFC_HPACK_POLICY } from "./helpers/h2-fixtures.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("HPACK encoder references and octet checks", () => {
  test("full and name matches among several entries of one name", () => {
    for (const nameReference of ["first", "last"] as const) {
      const enc = new HpackEncoder({ ...RFC_HPACK_POLICY, nameReference });
      enc.encode([
        ["x-a", "1"],
        ["x-a", "2"],
        ["x-a", "3"],
      ]); // table: 62 x-a:3, 63 x-a:2, 64 x-a:1
      expect(hex(enc.encode([["x-a", "2"]]))).toBe("bf"); // Indexed 63
      // Literal with indexing, name from the newest (first) or the oldest (last) entry.
      const ref = nameReference === "first" ? "7e" : "7f01"; // 62 or 64 (6-bit prefix)
      expect(hex(enc.encode([["x-a", "9"]]))).toBe(`${ref}0139`);
    }
  });

  test("a name whose entries were all evicted is no reference; it can come back", () => {
    const enc = new HpackEncoder(RFC_HPACK_POLICY, 4096);
    enc.encode([["x-gone", "v"]]);
    enc.setMaxTableSize(0);
    enc.setMaxTableSize(4096);
    // Size updates 0 and 4096 (lowest first), then a literal with a literal name.
    expect(hex(enc.encode([["x-gone", "v"]]))).toBe("203fe11f400678" + "2d676f6e650176");
    expect(hex(enc.encode([["x-gone", "v"]]))).toBe("be");
  });

  test("a field above U+00FF anywhere leaves table and size update untouched", () => {
    const bad: HeaderField[] = [
      ["x-bad", "\u0100"],
      ["\u0100", "v"],
      ["cookie", "a=1; b=\u0101"],
    ];
    for (const policy of [RFC_HPACK_POLICY, { ...RFC_HPACK_POLICY, cookieCrumbs: "semicolon" as const }]) {
      for (const field of bad) {
        const enc = new HpackEncoder(policy);
        enc.encode([["x-old", "1"]]);
        enc.setMaxTableSize(1000);
        const size = enc.dynamicTableSize;
        for (const at of [0, 1, 2]) {
          const fields: HeaderField[] = [
            ["x-old", "1"],
            ["x-new", "2"],
          ];
          fields.splice(at, 0, field);
          expect(() => enc.encode(fields)).toThrow("above U+00FF");
          expect(enc.dynamicTableSize).toBe(size);
        }
        // Still announces the size update, and x-old is still the newest entry (62).
        expect(hex(enc.encode([["x-old", "1"]]))).toBe("3fc907be");
      }
    }
  });

  test("a connection's repeated blocks (memoized scans) decode back through changes", () => {
    let seed = 9;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 8) % n;
    };
    const pool: HeaderField[] = [
      [":method", "GET"],
      [":path", "/"],
      ["user-agent", "u".repeat(60)],
      ["accept", "*/*"],
      ["x-a", "1"],
      ["x-a", "2"],
      ["cookie", "a=1"],
      ["x-big", "b".repeat(300)],
    ];
    for (const nameReference of ["first", "last"] as const) {
      const enc = new HpackEncoder({ ...RFC_HPACK_POLICY, nameReference }, 512);
      const dec = new HpackDecoder();
      let fields = pool.slice(0, 6);
      for (let r = 0; r < 500; r++) {
        if (rnd(4) === 0) fields.splice(rnd(fields.length + 1), 0, pool[rnd(pool.length)] as HeaderField);
        if (rnd(4) === 0) fields.splice(rnd(fields.length), 1);
        if (rnd(30) === 0) {
          const size = [0, 128, 512][rnd(3)] as number;
          enc.setMaxTableSize(size);
        }
        if (fields.length > 12) fields = fields.slice(0, 6);
        expect(dec.decode(enc.encode(fields))).toEqual(fields);
      }
    }
  });

  test("a memoized scan gives the bytes a full walk gives", () => {
    // B gets each block after k static fields (0x82 each, no table change): its positions shift
    // by a random k per block, so it mostly walks where A reuses its memo.
    let seed = 13;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 8) % n;
    };
    const pool: HeaderField[] = [
      ["x-a", "1"],
      ["x-a", "2"],
      ["x-b", "1"],
      ["user-agent", "u"],
      ["x-c", "c".repeat(100)],
    ];
    for (const nameReference of ["first", "last"] as const) {
      const policy = {
        ...RFC_HPACK_POLICY,
        nameReference,
        ignoreFullMatch: ["x-a"],
        neverIndex: [{ name: "x-b" }],
      };
      const a = new HpackEncoder(policy, 300);
      const b = new HpackEncoder(policy, 300);
      let fields = pool.slice(0, 3);
      for (let r = 0; r < 2000; r++) {
        if (rnd(3) === 0) fields.splice(rnd(fields.length + 1), 0, pool[rnd(pool.length)] as HeaderField);
        if (rnd(3) === 0) fields.splice(rnd(fields.length), 1);
        if (fields.length > 8) fields = fields.slice(0, 3);
        const k = rnd(3);
        const shifted: HeaderField[] = [
          ...Array.from({ length: k }, () => [":method", "GET"] as const),
          ...fields,
        ];
        expect(hex(b.encode(shifted))).toBe("82".repeat(k) + hex(a.encode(fields)));
      }
    }
  });

  test("random blocks decode back, with evictions and many names coming and going", () => {
    let seed = 5;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (const nameReference of ["first", "last"] as const) {
      for (const size of [256, 1000, 4096]) {
        const enc = new HpackEncoder({ ...RFC_HPACK_POLICY, nameReference }, size);
        const dec = new HpackDecoder();
        for (let r = 0; r < 400; r++) {
          const fields: HeaderField[] = [];
          for (let i = rnd(12); i > 0; i--) fields.push([`x-${rnd(r < 200 ? 80 : 8)}`, "v".repeat(rnd(40))]);
          expect(dec.decode(enc.encode(fields))).toEqual(fields);
        }
      }
    }
  });
});

describe("HPACK encoder table entries and their strings", () => {
  // 2000 connections' tables each holding one 4 KiB-ish value: copies would cost ~8 MiB of heap.
  const CONNECTIONS = 2000;
  const VALUE = `v${"x".repeat(2000)}`;
  const liveHeapAfter = (fieldOf: (i: number) => HeaderField): number => {
    Bun.gc(true);
    const before = heapStats().heapSize;
    const encoders = Array.from({ length: CONNECTIONS }, (_, i) => {
      const enc = new HpackEncoder(RFC_HPACK_POLICY, 65536);
      enc.encode([fieldOf(i)]);
      return enc;
    });
    Bun.gc(true);
    const grown = heapStats().heapSize - before;
    expect(encoders.every((e) => e.dynamicTableSize > 2000)).toBe(true);
    return grown;
  };

  test("a profile's frozen template field is shared by every table, anything else is copied", () => {
    const template = Object.freeze(["x-profile", VALUE]) as HeaderField;
    const shared = liveHeapAfter(() => template);
    const copied = liveHeapAfter(() => ["x-client", VALUE]);
    expect(shared).toBeLessThan(2 * 1024 * 1024);
    expect(copied).toBeGreaterThan(4 * 1024 * 1024);
  });
});
