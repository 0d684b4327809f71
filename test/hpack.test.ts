import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HpackDecoder, type HpackDecoderOptions } from "../src/http/hpack/decoder.ts";
import { HpackEncoder, splitCookie } from "../src/http/hpack/encoder.ts";
import { HpackError } from "../src/http/hpack/errors.ts";
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from "../src/http/hpack/huffman.ts";
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "../src/http/hpack/huffman-table.ts";
import { type Cursor, decodeInteger, encodeInteger } from "../src/http/hpack/integer.ts";
import { CHROME_HPACK_POLICY, FIREFOX_HPACK_POLICY } from "../src/http/hpack/policies.ts";
import type { HeaderField, HpackPolicy } from "../src/http/hpack/types.ts";
import { RFC_HPACK_POLICY } from "./helpers/h2-fixtures.ts";
import { prng } from "./helpers/prng.ts";

const FIXTURES = join(import.meta.dir, "fixtures", "http");

interface FirstHeaders {
  capture: string;
  policy: "chrome" | "firefox" | null;
  h2_hex: string;
  headers: [string, string][];
}
interface Connection {
  capture: string;
  policy: "chrome" | "firefox";
  blocks: { stream: number; block_hex: string; headers: [string, string][] }[];
}

const FIRST: FirstHeaders[] = JSON.parse(readFileSync(join(FIXTURES, "hpack-first-headers.json"), "utf8"));
const CONNECTIONS: Connection[] = JSON.parse(readFileSync(join(FIXTURES, "hpack-connections.json"), "utf8"));
const POLICIES = { chrome: CHROME_HPACK_POLICY, firefox: FIREFOX_HPACK_POLICY } as const;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"));

const pick = <T>(rng: () => number, list: readonly T[]): T => list[Math.floor(rng() * list.length)] as T;
const int = (rng: () => number, max: number): number => Math.floor(rng() * (max + 1));

/** The first complete header block after the client preface (HEADERS + CONTINUATION, unpadded). */
function firstHeaderBlock(h2: Uint8Array): Uint8Array {
  const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  expect(Buffer.from(h2.subarray(0, 24)).toString("latin1")).toBe(preface);
  const parts: Uint8Array[] = [];
  let pos = 24;
  while (pos + 9 <= h2.length) {
    const length = ((h2[pos] ?? 0) << 16) | ((h2[pos + 1] ?? 0) << 8) | (h2[pos + 2] ?? 0);
    const type = h2[pos + 3] ?? 0;
    const flags = h2[pos + 4] ?? 0;
    let payload = h2.subarray(pos + 9, pos + 9 + length);
    pos += 9 + length;
    if (type === 0x1) {
      let pad = 0;
      if (flags & 0x8) {
        pad = payload[0] ?? 0;
        payload = payload.subarray(1);
      }
      if (flags & 0x20) payload = payload.subarray(5);
      payload = payload.subarray(0, payload.length - pad);
    } else if (type !== 0x9 || parts.length === 0) {
      continue;
    }
    parts.push(payload);
    if (flags & 0x4) return Uint8Array.from(parts.flatMap((p) => [...p]));
  }
  throw new Error("no complete HEADERS block");
}

/** What a decoder returns for `fields` encoded under `policy` (cookies cut into crumbs). */
function expectedFields(fields: readonly HeaderField[], policy: HpackPolicy): HeaderField[] {
  const mode = policy.cookieCrumbs;
  return fields.flatMap(([n, v]): HeaderField[] =>
    n === "cookie" && mode !== "none" ? splitCookie(v, mode).map((c): HeaderField => [n, c]) : [[n, v]],
  );
}

function expectHpackError(fn: () => unknown): HpackError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HpackError);
    const e = err as HpackError;
    expect(e.code).toBe("HTTP_PROTOCOL");
    expect(e.h2Code).toBe(0x9);
    return e;
  }
  throw new Error("expected an HpackError");
}

describe("browser captures, byte for byte", () => {
  for (const cap of FIRST) {
    test(`first HEADERS block of ${cap.capture}`, () => {
      const block = firstHeaderBlock(unhex(cap.h2_hex));
      const fields = new HpackDecoder().decode(block);
      // Oracle: Node's own (nghttp2) decoding of the same request, recorded at capture time.
      expect(fields).toEqual(cap.headers);
      if (cap.policy === null) return; // curl (nghttp2): decoder oracle only
      const encoded = new HpackEncoder(POLICIES[cap.policy]).encode(fields);
      expect(hex(encoded)).toBe(hex(block));
      const other = cap.policy === "chrome" ? FIREFOX_HPACK_POLICY : CHROME_HPACK_POLICY;
      expect(hex(new HpackEncoder(other).encode(fields))).not.toBe(hex(block));
    });
  }

  for (const conn of CONNECTIONS) {
    test(`every HEADERS block of ${conn.capture}, one encoder per connection`, () => {
      const decoder = new HpackDecoder();
      const encoder = new HpackEncoder(POLICIES[conn.policy]);
      const merged = new HpackEncoder(POLICIES[conn.policy]);
      for (const { block_hex, headers } of conn.blocks) {
        const fields = decoder.decode(unhex(block_hex));
        // Oracle: the capture tool's decoding (cross-checked there against Node's rawHeaders).
        expect(fields).toEqual(headers);
        expect(hex(encoder.encode(fields))).toBe(block_hex);
        expect(encoder.dynamicTableSize).toBe(decoder.dynamicTableSize);
        // As a browser would hold it before crumbling: one cookie field joined with "; ".
        const cookies = fields.filter(([n]) => n === "cookie").map(([, v]) => v);
        const joined: HeaderField[] = [];
        for (const f of fields) {
          if (f[0] !== "cookie") joined.push(f);
          else if (!joined.some(([n]) => n === "cookie")) joined.push(["cookie", cookies.join("; ")]);
        }
        expect(hex(merged.encode(joined))).toBe(block_hex);
      }
    });
  }
});

describe("RFC 7541 Appendix C", () => {
  test("C.1 integers", () => {
    const out: number[] = [];
    encodeInteger(out, 10, 5, 0);
    encodeInteger(out, 1337, 5, 0);
    encodeInteger(out, 42, 8, 0);
    expect(out).toEqual([0x0a, 0x1f, 0x9a, 0x0a, 0x2a]);
    const cursor: Cursor = { pos: 0 };
    const bytes = Uint8Array.from(out);
    expect([
      decodeInteger(bytes, cursor, 5),
      decodeInteger(bytes, cursor, 5),
      decodeInteger(bytes, cursor, 8),
    ]).toEqual([10, 1337, 42]);
    expect(cursor.pos).toBe(5);
  });

  const C2: [string, HeaderField, string, HpackPolicy][] = [
    [
      "C.2.1",
      ["custom-key", "custom-header"],
      "400a637573746f6d2d6b65790d637573746f6d2d686561646572",
      RFC_HPACK_POLICY,
    ],
    [
      "C.2.2",
      [":path", "/sample/path"],
      "040c2f73616d706c652f70617468",
      { ...RFC_HPACK_POLICY, noIndex: [":path"] },
    ],
    [
      "C.2.3",
      ["password", "secret"],
      "100870617373776f726406736563726574",
      { ...RFC_HPACK_POLICY, neverIndex: [{ name: "password" }] },
    ],
    ["C.2.4", [":method", "GET"], "82", RFC_HPACK_POLICY],
  ];
  for (const [name, field, block, policy] of C2) {
    test(`${name} single representation`, () => {
      const decoder = new HpackDecoder();
      expect(decoder.decode(unhex(block))).toEqual([field]);
      const encoder = new HpackEncoder(policy);
      expect(hex(encoder.encode([field]))).toBe(block);
      expect(decoder.dynamicTableSize).toBe(name === "C.2.1" ? 55 : 0);
      expect(encoder.dynamicTableSize).toBe(decoder.dynamicTableSize);
    });
  }

  const requests: HeaderField[][] = [
    [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ],
    [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cache-control", "no-cache"],
    ],
    [
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ],
  ];
  const date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
  const base: HeaderField[] = [
    ["cache-control", "private"],
    ["date", date1],
    ["location", "https://www.example.com"],
  ];
  const responses: HeaderField[][] = [
    [[":status", "302"], ...base],
    [[":status", "307"], ...base],
    [
      [":status", "200"],
      ["cache-control", "private"],
      ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
      ["location", "https://www.example.com"],
      ["content-encoding", "gzip"],
      ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
    ],
  ];
  const sequences: [string, HeaderField[][], string[], number[], number, HpackPolicy[]][] = [
    [
      "C.3 requests without Huffman",
      requests,
      [
        "828684410f7777772e6578616d706c652e636f6d",
        "828684be58086e6f2d6361636865",
        "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
      ],
      [57, 110, 164],
      4096,
      [RFC_HPACK_POLICY],
    ],
    [
      "C.4 requests with Huffman",
      requests,
      [
        "828684418cf1e3c2e5f23a6ba0ab90f4ff",
        "828684be5886a8eb10649cbf",
        "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
      ],
      [57, 110, 164],
      4096,
      [
        { ...RFC_HPACK_POLICY, huffman: "always" },
        { ...RFC_HPACK_POLICY, huffman: "shorter" },
      ],
    ],
    [
      "C.5 responses without Huffman, 256-octet table, eviction",
      responses,
      [
        "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        "4803333037c1c0bf",
        "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
      ],
      [222, 222, 215],
      256,
      [RFC_HPACK_POLICY],
    ],
    [
      "C.6 responses with Huffman, 256-octet table, eviction",
      responses,
      [
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
        "4883640effc1c0bf",
        "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
      ],
      [222, 222, 215],
      256,
      [{ ...RFC_HPACK_POLICY, huffman: "always" }],
    ],
  ];
  for (const [name, lists, blocks, sizes, tableSize, policies] of sequences) {
    test(name, () => {
      const decoder = new HpackDecoder({ maxTableSize: tableSize });
      lists.forEach((fields, i) => {
        expect(decoder.decode(unhex(blocks[i] ?? ""))).toEqual(fields);
        expect(decoder.dynamicTableSize).toBe(sizes[i] ?? -1);
      });
      for (const policy of policies) {
        const encoder = new HpackEncoder(policy, tableSize);
        lists.forEach((fields, i) => {
          expect(hex(encoder.encode(fields))).toBe(blocks[i] ?? "");
          expect(encoder.dynamicTableSize).toBe(sizes[i] ?? -1);
        });
      }
    });
  }
});

describe("Huffman code (RFC 7541 Appendix B)", () => {
  test("complete canonical code: Kraft sum 1 and the RFC's length distribution", () => {
    expect(HUFFMAN_LENGTHS.length).toBe(257);
    expect(HUFFMAN_LENGTHS.reduce((sum, len) => sum + 2 ** (30 - len), 0)).toBe(2 ** 30);
    const counts: Record<number, number> = {};
    for (const len of HUFFMAN_LENGTHS) counts[len] = (counts[len] ?? 0) + 1;
    // biome-ignore format: compact table
    const rfcCounts = { 5: 10, 6: 26, 7: 32, 8: 6, 10: 5, 11: 3, 12: 2, 13: 6, 14: 2, 15: 3, 19: 3, 20: 8, 21: 13, 22: 26, 23: 29, 24: 12, 25: 4, 26: 15, 27: 19, 28: 29, 30: 4 };
    expect(counts).toEqual(rfcCounts);
  });

  test("codes match the RFC's hex column", () => {
    // [symbol, code, bits] from the RFC's table
    // biome-ignore format: compact table
    const rfc: [number, number, number][] = [
      [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [22, 0x3ffffffe, 30],
      [32, 0x14, 6], [34, 0x3f9, 10], [48, 0x0, 5], [60, 0x7ffc, 15], [65, 0x21, 6], [88, 0xfc, 8],
      [92, 0x7fff0, 19], [116, 0x9, 5], [126, 0x1ffd, 13], [127, 0xffffffc, 28], [128, 0xfffe6, 20],
      [153, 0x1fffdc, 21], [195, 0x7fff1, 19], [199, 0x1ffffec, 25], [203, 0x7ffffde, 27], [220, 0xffffffd, 28],
      [249, 0xffffffe, 28], [254, 0x7fffff0, 27], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
    ];
    for (const [symbol, code, length] of rfc) {
      expect([symbol, HUFFMAN_CODES[symbol], HUFFMAN_LENGTHS[symbol]]).toEqual([symbol, code, length]);
    }
  });

  test("every octet and random strings round-trip; length is exact", () => {
    const rng = prng(7541);
    const samples: Uint8Array[] = [new Uint8Array(0), Uint8Array.from({ length: 256 }, (_, i) => i)];
    for (let b = 0; b < 256; b++) samples.push(Uint8Array.of(b));
    for (let i = 0; i < 300; i++)
      samples.push(Uint8Array.from({ length: int(rng, 60) }, () => int(rng, 255)));
    for (const bytes of samples) {
      const out: number[] = [];
      huffmanEncode(bytes, out);
      expect(out.length).toBe(huffmanEncodedLength(bytes));
      expect([...huffmanDecode(Uint8Array.from(out), 0, out.length, 1 << 20)]).toEqual([...bytes]);
    }
  });
});

describe("decoder strictness", () => {
  const ok = (block: number[], opts = {}): HeaderField[] =>
    new HpackDecoder(opts).decode(Uint8Array.from(block));
  const bad: [string, number[], object?][] = [
    ["index 0", [0x80]],
    ["index past the static table", [0xbe]],
    ["multi-octet index past the table", [0xff, 0x00]],
    ["literal name index past the table", [0x7e, 0x01, 0x61]],
    ["size update after a field", [0x82, 0x20]],
    ["size update above our limit", [0x3f, 0xe2, 0x1f]],
    ["size update above a small limit", [0x3f, 0x62], { maxTableSize: 128 }],
    ["integer truncated after the prefix", [0xff]],
    ["integer truncated inside continuation", [0xff, 0x80]],
    ["integer above 2^32 - 1", [0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ["integer with too many continuation octets", [0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
    ["string length missing", [0x40]],
    ["string truncated", [0x40, 0x05, 0x61]],
    ["value missing after a literal name", [0x40, 0x01, 0x61]],
    ["Huffman padding of 11 bits", [0x04, 0x82, 0x1f, 0xff]],
    ["Huffman padding of exactly 8 bits", [0x04, 0x86, 0, 0, 0, 0, 0, 0xff]],
    ["Huffman padding not all ones", [0x04, 0x81, 0x18]],
    ["Huffman EOS inside a string", [0x04, 0x84, 0xff, 0xff, 0xff, 0xfc]],
    ["header list over the limit", [0x82, 0x82, 0x82], { maxHeaderListSize: 100 }],
    ["declared string over maxStringLength", [0x04, 0x7f, 0xad, 0x02], { maxStringLength: 256 }],
    ["Huffman output over maxStringLength", [0x04, 0x86, 0, 0, 0, 0, 0, 0x07], { maxStringLength: 8 }],
  ];
  for (const [name, block, opts] of bad) {
    test(`rejects: ${name}`, () => {
      const decoder = new HpackDecoder(opts);
      expectHpackError(() => decoder.decode(Uint8Array.from(block)));
      expect(decoder.broken).toBe(true);
      // Unusable afterwards, even for a valid block.
      expectHpackError(() => decoder.decode(Uint8Array.of(0x82)));
    });
  }

  test("accepts the boundary cases next to those", () => {
    expect(ok([0x3f, 0xe1, 0x1f, 0x82])).toEqual([[":method", "GET"]]); // update to exactly 4096
    expect(ok([0x20, 0x3f, 0xe1, 0x1f, 0x82])).toEqual([[":method", "GET"]]); // two updates at the start
    expect(ok([0x04, 0x81, 0x1f])).toEqual([[":path", "a"]]); // 3 bits of padding
    expect(ok([0x04, 0x80])).toEqual([[":path", ""]]); // empty Huffman string
    expect(ok([0x04, 0x86, 0, 0, 0, 0, 0, 0x07], { maxStringLength: 9 })).toEqual([[":path", "000000000"]]);
    expect(ok([0x82, 0x82], { maxHeaderListSize: 84 })).toHaveLength(2); // 2 × 42 = the limit
    expect(ok([0xbd])).toEqual([["www-authenticate", ""]]); // index 61
    expect(ok([])).toEqual([]);
    // Uppercase and odd names are returned exactly (the h2 layer judges them).
    expect(ok([0x00, 0x03, 0x41, 0x62, 0x43, 0x02, 0xff, 0x00])).toEqual([["AbC", "\xff\x00"]]);
  });

  test("a table full of a large entry cannot be amplified past maxHeaderListSize", () => {
    const encoder = new HpackEncoder(CHROME_HPACK_POLICY);
    const big: HeaderField = ["x-big", "y".repeat(4000)];
    const block = encoder.encode(Array.from({ length: 100 }, () => big)); // 1 literal + 99 one-octet indices
    expect(block.length).toBeLessThan(4200);
    const decoder = new HpackDecoder();
    expectHpackError(() => decoder.decode(block));
    expect(new HpackDecoder({ maxHeaderListSize: 1 << 20 }).decode(block)).toHaveLength(100);
  });
});

describe("encoder policy behaviour", () => {
  test("cookie crumbs: quiche splits at ';' and trims, Gecko at '; '", () => {
    expect(splitCookie(" a=1; b=2;c=3 ", "semicolon")).toEqual(["a=1", "b=2", "c=3"]);
    expect(splitCookie("a=1;  b=2;", "semicolon")).toEqual(["a=1", " b=2", ""]);
    expect(splitCookie("a=1; b=2;c=3", "semicolon-space")).toEqual(["a=1", "b=2;c=3"]);
    const long = "session=0123456789abcdef";
    const fields: HeaderField[] = [["cookie", `a=1; ${long}`]];
    const chrome = new HpackEncoder(CHROME_HPACK_POLICY).encode(fields);
    expect(new HpackDecoder().decode(chrome)).toEqual([
      ["cookie", "a=1"],
      ["cookie", long],
    ]);
    expect(chrome[0]).toBe(0x60); // incremental, name index 32
    const firefox = new HpackEncoder(FIREFOX_HPACK_POLICY).encode(fields);
    expect(firefox[0]).toBe(0x1f); // never indexed, name index 32 = 15 + 0x11
    expect(firefox[1]).toBe(0x11);
    expect(new HpackDecoder().decode(firefox)).toEqual(new HpackDecoder().decode(chrome));
    // The ≥ 20-octet crumb is indexed: sent again it is a one-octet Indexed field (0xbe = 62).
    const again = new HpackEncoder(FIREFOX_HPACK_POLICY);
    again.encode([["cookie", long]]);
    expect([...again.encode([["cookie", long]])]).toEqual([0xbe]);
  });

  test("Firefox: authorization never indexed, :path literal with the last name match", () => {
    const enc = new HpackEncoder(FIREFOX_HPACK_POLICY);
    const block = enc.encode([
      [":path", "/"],
      [":path", "/a"],
      ["authorization", "Basic x"],
    ]);
    expect(block[0]).toBe(0x04); // :path / as literal without indexing, name 4
    expect(block[3]).toBe(0x05); // :path /a, name 5 (last match)
    expect([block[7], block[8]]).toEqual([0x1f, 0x08]); // authorization never indexed, name 15 + 8 = 23
    expect(enc.dynamicTableSize).toBe(0);
    const chrome = new HpackEncoder(CHROME_HPACK_POLICY).encode([
      [":path", "/"],
      [":path", "/a"],
    ]);
    expect([chrome[0], chrome[1]]).toEqual([0x84, 0x04]);
  });

  test("Firefox: no insertion above half the table or below 128 octets; Chrome inserts", () => {
    const field: HeaderField = ["x-a", "v".repeat(100)]; // entry size 135 > 256 / 2
    const ff = new HpackEncoder(FIREFOX_HPACK_POLICY);
    ff.setMaxTableSize(256);
    expect([...ff.encode([])]).toEqual([0x3f, 0xe1, 0x01]); // the size update alone
    expect(ff.encode([field])[0]).toBe(0x00); // literal without indexing, new name
    expect(ff.encode([["x-b", "v".repeat(90)]])[0]).toBe(0x40); // 125 ≤ 128: inserted
    ff.setMaxTableSize(127);
    ff.encode([]);
    expect(ff.encode([["x-c", "1"]])[0]).toBe(0x00);
    const chrome = new HpackEncoder(CHROME_HPACK_POLICY);
    chrome.setMaxTableSize(256);
    chrome.encode([]);
    expect(chrome.encode([field])[0]).toBe(0x40);
  });

  test("size updates: emitted once at the next block, lowest first, unchanged size per policy", () => {
    const chrome = new HpackEncoder(CHROME_HPACK_POLICY);
    chrome.setMaxTableSize(4096); // equal to the current size: quiche ignores it
    expect([...chrome.encode([[":method", "GET"]])]).toEqual([0x82]);
    const firefox = new HpackEncoder(FIREFOX_HPACK_POLICY);
    firefox.setMaxTableSize(4096); // Gecko announces it anyway
    expect([...firefox.encode([[":method", "GET"]])]).toEqual([0x3f, 0xe1, 0x1f, 0x82]);
    expect([...firefox.encode([[":method", "GET"]])]).toEqual([0x82]);
    // Two increases before a block: quiche announces only the last, Gecko the lowest first.
    for (const [policy, expected] of [
      [CHROME_HPACK_POLICY, [0x3f, 0xf1, 0x4d]],
      [FIREFOX_HPACK_POLICY, [0x3f, 0xe1, 0x3f, 0x3f, 0xf1, 0x4d]],
    ] as const) {
      const e = new HpackEncoder(policy);
      e.setMaxTableSize(8192);
      e.setMaxTableSize(10000);
      expect([...e.encode([])]).toEqual([...expected]);
    }

    const enc = new HpackEncoder(CHROME_HPACK_POLICY);
    const dec = new HpackDecoder({ maxTableSize: 8192 });
    const fields: HeaderField[] = [["x-k", "value"]];
    dec.decode(enc.encode(fields));
    expect([...enc.encode(fields)]).toEqual([0xbe]);
    enc.setMaxTableSize(0);
    enc.setMaxTableSize(8192);
    const block = enc.encode(fields);
    expect([...block.subarray(0, 4)]).toEqual([0x20, 0x3f, 0xe1, 0x3f]); // 0, then 8192
    expect(block[4]).toBe(0x40); // the entry was evicted: literal again
    expect(dec.decode(block)).toEqual(fields);
    expect(dec.dynamicTableSize).toBe(enc.dynamicTableSize);
    // A size above the decoder's setting is a decoder error.
    enc.setMaxTableSize(16384);
    expectHpackError(() => dec.decode(enc.encode(fields)));
  });

  test("refuses characters above U+00FF; carries octets 0x80-0xff", () => {
    const enc = new HpackEncoder(CHROME_HPACK_POLICY);
    enc.setMaxTableSize(1000);
    expectHpackError(() =>
      enc.encode([
        ["x-first", "kept?"],
        ["x", "\u0100"],
      ]),
    );
    // Atomic: nothing was inserted and the size update is still pending.
    expect(enc.dynamicTableSize).toBe(0);
    expect([...enc.encode([])]).toEqual([0x3f, 0xc9, 0x07]);
    const value = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    for (const policy of [CHROME_HPACK_POLICY, FIREFOX_HPACK_POLICY]) {
      expect(new HpackDecoder().decode(new HpackEncoder(policy).encode([["x-bin", value]]))).toEqual([
        ["x-bin", value],
      ]);
    }
    // One octet per code unit on the wire: U+00E9 is the byte 0xe9 (a literal without Huffman).
    const plain: HpackPolicy = { ...CHROME_HPACK_POLICY, huffman: "never" };
    expect(new HpackEncoder(plain).encode([["x", "\xe9"]])).toEqual(Uint8Array.of(0x40, 1, 0x78, 1, 0xe9));
  });
});

/** A random policy: the encoder must stay decodable whatever the data says. */
function randomPolicy(rng: () => number): HpackPolicy {
  const names = [":path", ":method", "cookie", "authorization", "x-a", "accept"];
  const some = (): string[] => names.filter(() => rng() < 0.3);
  return {
    huffman: pick(rng, ["shorter", "always", "never"] as const),
    nameReference: pick(rng, ["first", "last"] as const),
    noIndex: some(),
    ignoreFullMatch: some(),
    neverIndex: some().map((name) => (rng() < 0.5 ? { name } : { name, shorterThan: int(rng, 30) })),
    cookieCrumbs: pick(rng, ["none", "semicolon", "semicolon-space"] as const),
    ...(rng() < 0.5 ? { maxIndexedEntryShare: pick(rng, [0.25, 0.5, 1]) } : {}),
    ...(rng() < 0.5 ? { minTableSizeToIndex: pick(rng, [0, 64, 128, 512]) } : {}),
    sizeUpdates: pick(rng, ["changes-only", "every-setting"] as const),
  };
}

function randomFields(rng: () => number): HeaderField[] {
  // biome-ignore format: compact list
  const names = [
    ":method", ":path", ":authority", ":scheme", ":protocol", ":status", "cookie", "authorization",
    "user-agent", "accept", "accept-encoding", "content-type", "set-cookie", "x-a", "x-b", "te",
  ];
  const values = [
    "",
    "GET",
    "/",
    "/index.html",
    "https",
    "gzip, deflate",
    "a=1; b=2;c=3",
    " x ; y",
    "trailers",
  ];
  const text = (max: number): string =>
    String.fromCharCode(
      ...Array.from({ length: int(rng, max) }, () => (rng() < 0.8 ? 32 + int(rng, 94) : int(rng, 255))),
    );
  return Array.from({ length: int(rng, 12) }, (): HeaderField => {
    const name = rng() < 0.8 ? pick(rng, names) : text(12).toLowerCase();
    const value = rng() < 0.4 ? pick(rng, values) : text(rng() < 0.1 ? 300 : 40);
    return [name, value];
  });
}

describe("round trips", () => {
  const policies: [string, (rng: () => number) => HpackPolicy][] = [
    ["chrome", () => CHROME_HPACK_POLICY],
    ["firefox", () => FIREFOX_HPACK_POLICY],
    ["rfc", () => RFC_HPACK_POLICY],
    ["random", randomPolicy],
  ];
  for (const [name, makePolicy] of policies) {
    test(`${name} policy: random fields, table sizes and size changes`, () => {
      const rng = prng(name.length * 1000 + 17);
      const sizes = [0, 31, 64, 100, 128, 256, 1000, 4096, 8192];
      let blocks = 0;
      for (let conn = 0; conn < 60; conn++) {
        const policy = makePolicy(rng);
        const initial = pick(rng, [4096, 4096, 256, 0]);
        const encoder = new HpackEncoder(policy, initial);
        const decoder = new HpackDecoder({ maxTableSize: initial === 4096 ? 8192 : initial });
        const limit = initial === 4096 ? 8192 : initial;
        for (let n = int(rng, 8); n >= 0; n--) {
          if (rng() < 0.3) {
            for (let k = int(rng, 2); k >= 0; k--)
              encoder.setMaxTableSize(
                pick(
                  rng,
                  sizes.filter((s) => s <= limit),
                ),
              );
          }
          const fields = randomFields(rng);
          if (rng() < 0.5 && fields.length > 0)
            fields.push(fields[int(rng, fields.length - 1)] as HeaderField);
          const block = encoder.encode(fields);
          expect(decoder.decode(block)).toEqual(expectedFields(fields, policy));
          expect(decoder.dynamicTableSize).toBe(encoder.dynamicTableSize);
          blocks++;
        }
      }
      expect(blocks).toBeGreaterThan(200);
    });
  }
});

describe("fuzz: only HpackError, bounded output", () => {
  const valid: Uint8Array[] = [
    ...FIRST.map((c) => firstHeaderBlock(unhex(c.h2_hex))),
    ...CONNECTIONS.map((c) => unhex(c.blocks[0]?.block_hex ?? "")),
  ];
  const limits: HpackDecoderOptions[] = [
    {},
    { maxTableSize: 256, maxHeaderListSize: 1024, maxStringLength: 256 },
    { maxTableSize: 0 },
  ];

  function mutate(rng: () => number): Uint8Array {
    const base = [...pick(rng, valid)];
    const kind = int(rng, 4);
    if (kind === 0) {
      for (let k = int(rng, 3); k >= 0; k--) {
        const i = int(rng, base.length - 1);
        base[i] = (base[i] ?? 0) ^ (1 << int(rng, 7));
      }
    } else if (kind === 1) {
      base.length = int(rng, base.length);
    } else if (kind === 2) {
      const other = [...pick(rng, valid)];
      return Uint8Array.from([
        ...base.slice(0, int(rng, base.length)),
        ...other.slice(int(rng, other.length)),
      ]);
    } else if (kind === 3) {
      base.splice(int(rng, base.length), 0, ...Array.from({ length: 1 + int(rng, 8) }, () => int(rng, 255)));
    } else {
      base.splice(int(rng, base.length), int(rng, 8));
    }
    return Uint8Array.from(base);
  }

  test("20,000 random and mutated blocks", () => {
    const rng = prng(0xc0ffee);
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 20_000; i++) {
      const input =
        i % 3 === 0 ? Uint8Array.from({ length: int(rng, 64) }, () => int(rng, 255)) : mutate(rng);
      const opts = pick(rng, limits);
      const decoder = new HpackDecoder(opts);
      const listLimit = opts.maxHeaderListSize ?? 256 * 1024;
      try {
        const fields = decoder.decode(input);
        const size = fields.reduce((sum, [n, v]) => sum + n.length + v.length + 32, 0);
        expect(size).toBeLessThanOrEqual(listLimit);
        expect(decoder.dynamicTableSize).toBeLessThanOrEqual(opts.maxTableSize ?? 4096);
        accepted++;
      } catch (err) {
        if (!(err instanceof HpackError)) throw new Error(`input ${i} (${hex(input)}) threw ${String(err)}`);
        expect(decoder.broken).toBe(true);
        rejected++;
      }
    }
    expect(accepted).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  });

  test("mutated later blocks on a primed connection decoder", () => {
    const rng = prng(42);
    let rejected = 0;
    for (let i = 0; i < 600; i++) {
      const conn = pick(rng, CONNECTIONS);
      const decoder = new HpackDecoder();
      const k = 1 + int(rng, conn.blocks.length - 2);
      for (let j = 0; j < k; j++) decoder.decode(unhex(conn.blocks[j]?.block_hex ?? ""));
      const block = [...unhex(conn.blocks[k]?.block_hex ?? "")];
      const at = int(rng, block.length - 1);
      block[at] = (block[at] ?? 0) ^ (1 << int(rng, 7));
      try {
        decoder.decode(Uint8Array.from(block));
      } catch (err) {
        if (!(err instanceof HpackError)) throw err;
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(50);
  });
});
