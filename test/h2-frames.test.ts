import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { akamaiFromBytes, akamaiString, clientFrames } from "../src/http/h2/akamai.ts";
import { H2Error, H2ErrorCode } from "../src/http/h2/errors.ts";
import { FrameReader } from "../src/http/h2/frame-reader.ts";
import { CLIENT_MAGIC, type Frame } from "../src/http/h2/frame-types.ts";
import { concatBytes, encodeFrame, encodeHeaderBlock } from "../src/http/h2/frame-writer.ts";
import { isGreaseSettingId } from "../src/http/h2/settings.ts";
import { HpackDecoder } from "../src/http/hpack/index.ts";
import { captureBytes, hex } from "./helpers/h2-fixtures.ts";
import { prng, randBytes, randInt } from "./helpers/prng.ts";

const bytes = (...xs: number[]) => Uint8Array.from(xs);
const text = (s: string) => new TextEncoder().encode(s);

/** One sample of every frame type and flag combination the codec models. */
const SAMPLES: Frame[] = [
  { type: "DATA", streamId: 1, endStream: false, data: text("hello") },
  { type: "DATA", streamId: 3, endStream: true, data: new Uint8Array(0) },
  { type: "DATA", streamId: 5, endStream: true, data: text("padded"), padLength: 7 },
  { type: "DATA", streamId: 5, endStream: false, data: new Uint8Array(0), padLength: 0 },
  { type: "HEADERS", streamId: 1, endStream: true, endHeaders: true, block: bytes(0x82, 0x87) },
  {
    type: "HEADERS",
    streamId: 3,
    endStream: true,
    endHeaders: true,
    priority: { exclusive: true, dependency: 0, weight: 256 },
    block: bytes(0x82),
  },
  {
    type: "HEADERS",
    streamId: 15,
    endStream: false,
    endHeaders: false,
    priority: { exclusive: false, dependency: 13, weight: 42 },
    block: bytes(1, 2, 3),
    padLength: 4,
  },
  { type: "CONTINUATION", streamId: 15, endHeaders: false, block: bytes(4, 5) },
  { type: "CONTINUATION", streamId: 15, endHeaders: true, block: new Uint8Array(0) },
  { type: "HEADERS", streamId: 7, endStream: false, endHeaders: true, block: bytes(9), padLength: 2 },
  { type: "PRIORITY", streamId: 3, priority: { exclusive: false, dependency: 0, weight: 201 } },
  { type: "PRIORITY", streamId: 9, priority: { exclusive: true, dependency: 7, weight: 1 } },
  { type: "RST_STREAM", streamId: 1, code: H2ErrorCode.CANCEL },
  { type: "RST_STREAM", streamId: 0x7fffffff, code: 0xffffffff },
  {
    type: "SETTINGS",
    ack: false,
    settings: [
      [4, 6291456],
      [1, 65536],
      [1, 4096],
      [0x7a9a, 3814263365],
      [0xffff, 0],
    ],
  },
  { type: "SETTINGS", ack: true, settings: [] },
  { type: "SETTINGS", ack: false, settings: [] },
  { type: "PUSH_PROMISE", streamId: 1, endHeaders: true, promisedStreamId: 2, block: bytes(0x82) },
  {
    type: "PUSH_PROMISE",
    streamId: 1,
    endHeaders: false,
    promisedStreamId: 4,
    block: bytes(1),
    padLength: 3,
  },
  { type: "CONTINUATION", streamId: 1, endHeaders: true, block: bytes(2) },
  { type: "PING", ack: false, opaque: bytes(1, 2, 3, 4, 5, 6, 7, 8) },
  { type: "PING", ack: true, opaque: new Uint8Array(8) },
  { type: "GOAWAY", lastStreamId: 0, code: 0, debug: new Uint8Array(0) },
  { type: "GOAWAY", lastStreamId: 99, code: H2ErrorCode.ENHANCE_YOUR_CALM, debug: text("calm down") },
  { type: "WINDOW_UPDATE", streamId: 0, increment: 15663105 },
  { type: "WINDOW_UPDATE", streamId: 5, increment: 0x7fffffff },
  { type: "UNKNOWN", frameType: 0x0b + 0x1f * 3, flags: 0xa5, streamId: 0, payload: bytes(1, 2, 3) },
  { type: "UNKNOWN", frameType: 0xff, flags: 0, streamId: 7, payload: new Uint8Array(0) },
];

/** Normalises Uint8Array subclasses (Buffer, subarrays) for deep equality. */
function plain(f: Frame): unknown {
  return JSON.parse(JSON.stringify(f, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)));
}

function readAll(reader: FrameReader): Frame[] {
  const out: Frame[] = [];
  for (let f = reader.next(); f !== null; f = reader.next()) out.push(f);
  return out;
}

const STREAM = concatBytes(SAMPLES.map(encodeFrame));

describe("frame writer and reader", () => {
  test("every frame type round-trips", () => {
    const reader = new FrameReader(); // one reader: CONTINUATION frames follow their HEADERS
    for (const frame of SAMPLES) {
      const wire = encodeFrame(frame);
      reader.push(wire);
      const got = reader.next();
      expect(got).not.toBeNull();
      expect(plain(got as Frame)).toEqual(plain(frame));
      expect(hex(encodeFrame(got as Frame))).toBe(hex(wire));
      expect(reader.next()).toBeNull();
    }
  });

  test("known wire bytes: SETTINGS keeps order, duplicates and GREASE ids; weight byte is weight-1", () => {
    const settings = encodeFrame({
      type: "SETTINGS",
      ack: false,
      settings: [
        [0x0a0a, 7],
        [2, 0],
        [2, 1],
      ],
    });
    expect(hex(settings)).toBe("000012040000000000" + "0a0a00000007" + "000200000000" + "000200000001");
    const prio = encodeFrame({
      type: "PRIORITY",
      streamId: 3,
      priority: { exclusive: true, dependency: 1, weight: 256 },
    });
    expect(hex(prio)).toBe("0000050200000000038000000" + "1ff");
    const grease = encodeFrame({
      type: "UNKNOWN",
      frameType: 0xb,
      flags: 0x3c,
      streamId: 0,
      payload: bytes(0xaa),
    });
    expect(hex(grease)).toBe("0000010b3c00000000aa");
    expect(isGreaseSettingId(0x7a9a)).toBe(true);
    expect(isGreaseSettingId(0x0a0b)).toBe(false);
  });

  test("the reader gives the same frames for the input split at every byte boundary", () => {
    const expected = SAMPLES.map(plain);
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const reader = new FrameReader();
      reader.push(STREAM.slice(0, cut));
      const got = readAll(reader);
      reader.push(STREAM.slice(cut));
      got.push(...readAll(reader));
      expect(got.map(plain)).toEqual(expected);
      expect(reader.buffered).toBe(0);
    }
  });

  test("the reader gives the same frames fed one byte at a time", () => {
    const reader = new FrameReader();
    const got: Frame[] = [];
    for (const b of STREAM) {
      reader.push(bytes(b));
      got.push(...readAll(reader));
    }
    expect(got.map(plain)).toEqual(SAMPLES.map(plain));
  });

  test("a header block over the max frame size is split into HEADERS + CONTINUATION", () => {
    const block = randBytes(prng(1), 40000);
    const priority = { exclusive: true, dependency: 0, weight: 256 };
    const wire = encodeHeaderBlock(1, block, { endStream: true, priority }, 16384);
    const reader = new FrameReader();
    reader.push(wire);
    const frames = readAll(reader);
    expect(frames.map((f) => f.type)).toEqual(["HEADERS", "CONTINUATION", "CONTINUATION"]);
    const [h, c1, c2] = frames;
    if (h?.type !== "HEADERS" || c1?.type !== "CONTINUATION" || c2?.type !== "CONTINUATION")
      throw new Error("shape");
    expect(h.block.length).toBe(16384 - 5);
    expect([h.endHeaders, c1.endHeaders, c2.endHeaders]).toEqual([false, false, true]);
    expect(h.endStream).toBe(true);
    expect(hex(concatBytes([h.block, c1.block, c2.block]))).toBe(hex(block));
  });

  test("the writer refuses values it cannot encode", () => {
    const bad: Frame[] = [
      { type: "PRIORITY", streamId: 1, priority: { exclusive: false, dependency: 0, weight: 0 } },
      { type: "PRIORITY", streamId: 1, priority: { exclusive: false, dependency: 0, weight: 257 } },
      { type: "PING", ack: false, opaque: bytes(1) },
      { type: "WINDOW_UPDATE", streamId: 0, increment: 0 },
      { type: "SETTINGS", ack: false, settings: [[0x10000, 1]] },
      { type: "DATA", streamId: 1, endStream: false, data: new Uint8Array(0), padLength: 256 },
    ];
    for (const f of bad) expect(() => encodeFrame(f)).toThrow(ProxyError);
  });
});

/** [name, raw frame hex, h2 code, stream id of the error (0 = connection)]. */
const VIOLATIONS: [string, string, number, number][] = [
  ["PING of 7 bytes", `000007060000000000${"00".repeat(7)}`, H2ErrorCode.FRAME_SIZE_ERROR, 0],
  ["PING on a stream", `000008060000000001${"00".repeat(8)}`, H2ErrorCode.PROTOCOL_ERROR, 0],
  ["WINDOW_UPDATE of 3 bytes", "000003080000000001000001", H2ErrorCode.FRAME_SIZE_ERROR, 0],
  ["WINDOW_UPDATE 0 on stream 0", "00000408000000000000000000", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["WINDOW_UPDATE 0 on a stream", "00000408000000000300000000", H2ErrorCode.PROTOCOL_ERROR, 3],
  ["SETTINGS of 5 bytes", "0000050400000000000001000000", H2ErrorCode.FRAME_SIZE_ERROR, 0],
  ["SETTINGS on a stream", "000000040000000001", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["SETTINGS ACK with payload", "000006040100000000000100000000", H2ErrorCode.FRAME_SIZE_ERROR, 0],
  ["RST_STREAM of 3 bytes", "000003030000000001000008", H2ErrorCode.FRAME_SIZE_ERROR, 0],
  ["RST_STREAM on stream 0", "00000403000000000000000008", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["PRIORITY of 4 bytes", "00000402000000000300000000", H2ErrorCode.FRAME_SIZE_ERROR, 3],
  ["PRIORITY on stream 0", "0000050200000000000000000010", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["PRIORITY on itself", "0000050200000000050000000510", H2ErrorCode.PROTOCOL_ERROR, 5],
  ["DATA on stream 0", "000001000000000000aa", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["HEADERS on stream 0", "000001010400000000" + "82", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["DATA padding fills the payload", "00000300080000000103aabb", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["HEADERS padding fills the payload", "0000030108000000010300ff", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["HEADERS priority flag, 4 bytes", "00000401240000000100000000", H2ErrorCode.FRAME_SIZE_ERROR, 0],
  ["GOAWAY of 7 bytes", "00000707000000000000000000000000", H2ErrorCode.FRAME_SIZE_ERROR, 0],
  ["GOAWAY on a stream", `000008070000000001${"00".repeat(8)}`, H2ErrorCode.PROTOCOL_ERROR, 0],
  ["PUSH_PROMISE on stream 0", "000004050400000000" + "00000002", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["PUSH_PROMISE of 3 bytes", "000003050400000001" + "000000", H2ErrorCode.FRAME_SIZE_ERROR, 0],
  ["CONTINUATION without HEADERS", "000001090400000001" + "82", H2ErrorCode.PROTOCOL_ERROR, 0],
  ["frame over SETTINGS_MAX_FRAME_SIZE", "004001000000000001", H2ErrorCode.FRAME_SIZE_ERROR, 0],
  [
    "PING inside a field block",
    `00000101000000000182000008060000000000${"00".repeat(8)}`,
    H2ErrorCode.PROTOCOL_ERROR,
    0,
  ],
  [
    "CONTINUATION on another stream",
    "000001010000000001" + "82" + "000001090400000003" + "84",
    H2ErrorCode.PROTOCOL_ERROR,
    0,
  ],
];

describe("frame reader violations", () => {
  for (const [name, wire, code, streamId] of VIOLATIONS) {
    test(name, () => {
      const reader = new FrameReader();
      reader.push(Uint8Array.from(Buffer.from(wire, "hex")));
      let error: unknown;
      try {
        readAll(reader);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(H2Error);
      const h2 = error as H2Error;
      expect(h2.code).toBe("HTTP_PROTOCOL");
      expect([h2.h2Code, h2.streamId]).toEqual([code, streamId]);
      if (streamId === 0) {
        expect(() => reader.next()).toThrow(h2); // a connection error is sticky
      } else {
        expect(reader.next()).toBeNull(); // a stream error consumed its frame
      }
    });
  }

  test("a larger SETTINGS_MAX_FRAME_SIZE admits larger frames", () => {
    const reader = new FrameReader();
    reader.setMaxFrameSize(65536);
    const frame: Frame = { type: "DATA", streamId: 1, endStream: false, data: new Uint8Array(20000) };
    reader.push(encodeFrame(frame));
    expect(reader.next()?.type).toBe("DATA");
  });

  test("a stream error leaves later frames readable", () => {
    const reader = new FrameReader();
    reader.push(
      Uint8Array.from(Buffer.from("00000408000000000300000000" + "000004080000000003000000ff", "hex")),
    );
    expect(() => reader.next()).toThrow(H2Error);
    expect(reader.next()).toEqual({ type: "WINDOW_UPDATE", streamId: 3, increment: 255 });
  });
});

describe("frame reader fuzz", () => {
  test("random and mutated frame streams only ever throw H2Error, and terminate", () => {
    const rand = prng(0x5eed);
    let frames = 0;
    let errors = 0;
    for (let i = 0; i < 10_000; i++) {
      let input: Uint8Array;
      if (i % 4 === 0) {
        input = randBytes(rand, randInt(rand, 200));
      } else {
        const picks = Array.from(
          { length: 1 + randInt(rand, 6) },
          () => SAMPLES[randInt(rand, SAMPLES.length)] as Frame,
        );
        input = concatBytes(picks.map(encodeFrame)).slice();
        const flips = 1 + randInt(rand, 4);
        for (let k = 0; k < flips && input.length > 0; k++)
          input[randInt(rand, input.length)] = randInt(rand, 256);
      }
      const reader = new FrameReader();
      let at = 0;
      while (at < input.length) {
        const n = 1 + randInt(rand, 40);
        reader.push(input.subarray(at, at + n));
        at += n;
        for (let guard = 0; guard < 1000; guard++) {
          let f: Frame | null;
          try {
            f = reader.next();
          } catch (err) {
            if (!(err instanceof H2Error)) throw err;
            errors++;
            if (err.isConnectionError) {
              at = input.length;
              break;
            }
            continue;
          }
          if (f === null) break;
          frames++;
        }
      }
    }
    expect(frames).toBeGreaterThan(1000);
    expect(errors).toBeGreaterThan(1000);
  });
});

describe("Akamai fingerprint", () => {
  test("from the local Chromium and Firefox captures", () => {
    const chrome = captureBytes("h2-chromium-156-sni-conn1.h2.hex");
    const firefox = captureBytes("h2-firefox-esr153-sni-conn1.h2.hex");
    const decode = (block: Uint8Array) => new HpackDecoder().decode(block);
    expect(akamaiFromBytes(chrome, decode)).toBe("1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p");
    expect(akamaiFromBytes(firefox, decode)).toBe("1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s");
    expect(chrome.subarray(0, CLIENT_MAGIC.length)).toEqual(CLIENT_MAGIC);
    expect([...clientFrames(chrome)].map((f) => f.type)).toEqual(["SETTINGS", "WINDOW_UPDATE", "HEADERS"]);
  });

  test("no WINDOW_UPDATE is 00, PRIORITY frames are listed, GREASE can be labelled", () => {
    const parts = {
      settings: [
        [1, 65536],
        [0x1a2a, 9],
      ] as const,
      windowIncrement: null,
      priorities: [
        { streamId: 3, exclusive: false, dependency: 0, weight: 201 },
        { streamId: 9, exclusive: false, dependency: 7, weight: 1 },
      ],
      pseudoHeaders: [":method", ":path", ":authority", ":scheme"],
    };
    expect(akamaiString(parts)).toBe("1:65536;6698:9|00|3:0:0:201,9:0:7:1|m,p,a,s");
    expect(akamaiString(parts, { greaseLabel: true })).toBe("1:65536;GREASE:9|00|3:0:0:201,9:0:7:1|m,p,a,s");
  });
});
