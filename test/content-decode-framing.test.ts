/**
 * Where content decoding must look at the coded bytes itself. ZstdFraming
 * (src/http/bridge/zstd-framing.ts) against frames made by a zstd library that is not ours (Bun's,
 * libzstd): a whole stream ends on a frame end, every shorter prefix does not, in any split;
 * several frames and skippable frames; garbage is an error; and ContentDecoder turns a cut zstd
 * body into an error instead of a clean, shorter end. `deflate` in either format (DeflateEither,
 * against node:zlib's encoders).
 */
import { describe, expect, test } from "bun:test";
import { ContentDecoder } from "../src/http/bridge/content-decode.ts";
import { ZstdFraming } from "../src/http/bridge/zstd-framing.ts";
import { prng, randBytes } from "./helpers/prng.ts";

const text = new TextEncoder().encode("the decoded body, ".repeat(2000));
const random = randBytes(prng(7), 300_000); // incompressible: raw blocks, more than one
const samples = [new Uint8Array(0), text, random].map((b) => Bun.zstdCompressSync(b));

function follows(bytes: Uint8Array, split = bytes.length): ZstdFraming {
  const f = new ZstdFraming();
  for (let at = 0; at < bytes.length; at += split) expect(f.push(bytes.subarray(at, at + split))).toBeNull();
  return f;
}

describe("ZstdFraming", () => {
  test("a whole stream is complete, in one piece or byte by byte; every shorter prefix is not", () => {
    for (const z of samples) {
      expect(follows(z).complete).toBe(true);
      expect(follows(z, 1).complete).toBe(true);
      const step = Math.max(1, Math.floor(z.length / 97));
      for (let n = 0; n < z.length; n += step) expect(follows(z.subarray(0, n)).complete).toBe(false);
      expect(follows(z.subarray(0, z.length - 1)).complete).toBe(false);
    }
  });

  test("frames one after another, and skippable frames, end on a frame end", () => {
    const skippable = Uint8Array.of(0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3);
    const all = new Uint8Array([...(samples[1] as Uint8Array), ...skippable, ...(samples[2] as Uint8Array)]);
    expect(follows(all, 7).complete).toBe(true);
    expect(follows(all.subarray(0, (samples[1] as Uint8Array).length + 5)).complete).toBe(false);
  });

  test("bytes that are not zstd are an error", () => {
    expect(new ZstdFraming().push(new TextEncoder().encode("plain text"))).toBe("not a zstd frame");
    expect(new ZstdFraming().complete).toBe(false); // nothing at all is not a frame either
  });
});

describe("ContentDecoder", () => {
  function decode(codings: string[], body: Uint8Array): Promise<{ bytes: number; error: string | null }> {
    return new Promise((resolve) => {
      let bytes = 0;
      const d = new ContentDecoder(codings, {
        data: (c) => {
          bytes += c.length;
          return true;
        },
        end: () => resolve({ bytes, error: null }),
        error: (e) => resolve({ bytes, error: e.message }),
      });
      d.write(body);
      d.end();
    });
  }

  test("a zstd body cut inside a frame is an error; a whole one decodes", async () => {
    const z = samples[2] as Uint8Array;
    expect(await decode(["zstd"], z)).toEqual({ bytes: random.length, error: null });
    const cut = await decode(["zstd"], z.subarray(0, z.length >> 1));
    expect(cut.error).toContain("zstd data ends inside a frame");
    const tiny = await decode(["zstd"], (samples[1] as Uint8Array).subarray(0, 10));
    expect(tiny.error).toContain("zstd");
  });

  test("zstd under gzip is followed too", async () => {
    const { gzipSync } = await import("node:zlib");
    const z = samples[1] as Uint8Array;
    expect((await decode(["zstd", "gzip"], gzipSync(z))).error).toBeNull();
    expect((await decode(["zstd", "gzip"], gzipSync(z.subarray(0, z.length - 3)))).error).toContain("zstd");
  });
});

describe("deflate: the zlib format, or raw deflate as servers also send it", () => {
  function decode(body: Uint8Array): Promise<{ text: string; error: string | null }> {
    return new Promise((resolve) => {
      const parts: Uint8Array[] = [];
      const d = new ContentDecoder(["deflate"], {
        data: (c) => {
          parts.push(c);
          return true;
        },
        end: () => resolve({ text: Buffer.concat(parts).toString(), error: null }),
        error: (e) => resolve({ text: "", error: e.message }),
      });
      for (let at = 0; at < body.length; at += 1) d.write(body.subarray(at, at + 1)); // a byte at a time
      d.end();
    });
  }

  test("both decode, split anywhere; a cut one is an error", async () => {
    const { deflateSync, deflateRawSync } = await import("node:zlib");
    const plain = "the decoded body, ".repeat(500);
    expect(await decode(deflateSync(plain))).toEqual({ text: plain, error: null });
    expect(await decode(deflateRawSync(plain))).toEqual({ text: plain, error: null });
    const raw = deflateRawSync(plain);
    expect((await decode(raw.subarray(0, raw.length >> 1))).error).not.toBeNull();
    expect(await decode(new Uint8Array(0))).toEqual({ text: "", error: null });
  });
});
