/**
 * The byte queue under the HTTP/2 frame reader: small payloads copied, large ones viewed, and a
 * payload that straddles chunks lying back to back in one buffer (reads cut from one slab)
 * viewed across them instead of copied. Random splits, adjacent or not, give the same frames.
 */
import { describe, expect, test } from "bun:test";
import { ByteQueue } from "../src/http/h2/byte-queue.ts";
import { FrameReader } from "../src/http/h2/frame-reader.ts";
import type { Frame } from "../src/http/h2/frame-types.ts";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import { prng } from "./helpers/prng.ts";

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe("ByteQueue", () => {
  test("a straddling take over back-to-back views is a view; over separate buffers a copy", () => {
    const backing = pattern(8000, 1);
    const q = new ByteQueue();
    q.push(backing.subarray(0, 3000));
    q.push(backing.subarray(3000, 6000));
    q.push(backing.subarray(6000));
    q.take(100);
    const view = q.take(5000);
    expect(view.buffer).toBe(backing.buffer);
    expect(view.byteOffset).toBe(100);
    expect([...view]).toEqual([...backing.subarray(100, 5100)]);
    expect(q.length).toBe(2900);

    const apart = new ByteQueue();
    apart.push(pattern(3000, 2));
    apart.push(pattern(3000, 3));
    const copy = apart.take(4000);
    expect([...copy]).toEqual([...pattern(3000, 2), ...pattern(1000, 3)]);
    expect(apart.length).toBe(2000);
  });

  test("views that are adjacent in memory but out of order are copied", () => {
    const backing = pattern(6000, 4);
    const q = new ByteQueue();
    q.push(backing.subarray(3000, 6000));
    q.push(backing.subarray(0, 3000));
    expect([...q.take(4500)]).toEqual([...backing.subarray(3000, 6000), ...backing.subarray(0, 1500)]);
  });

  test("small takes are copies, whole chunks are handed back as they are", () => {
    const chunk = pattern(500, 5);
    const q = new ByteQueue();
    q.push(chunk);
    const small = q.take(10);
    expect(small.buffer).not.toBe(chunk.buffer);
    expect([...small]).toEqual([...chunk.subarray(0, 10)]);
    q.take(490);
    const whole = pattern(2000, 6);
    q.push(whole);
    expect(q.take(2000)).toBe(whole);
  });

  test("random splits, adjacent or not, give the same frames as one push", () => {
    const frames = [
      encodeFrame({ type: "SETTINGS", ack: false, settings: [[3, 100]] }),
      encodeFrame({
        type: "HEADERS",
        streamId: 1,
        endStream: false,
        endHeaders: true,
        block: pattern(40, 7),
      }),
      encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: pattern(16384, 8) }),
      encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: pattern(700, 9), padLength: 20 }),
      encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: pattern(16384, 10) }),
      encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: 5 }),
      encodeFrame({ type: "DATA", streamId: 1, endStream: true, data: pattern(3000, 11) }),
    ];
    const wire = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      wire.set(f, at);
      at += f.length;
    }
    const plain = (f: Frame) => JSON.stringify(f, (_k, v) => (v instanceof Uint8Array ? [...v] : v));
    const whole = new FrameReader();
    whole.push(wire.slice());
    const expected: string[] = [];
    for (let f = whole.next(); f !== null; f = whole.next()) expected.push(plain(f));
    const rnd = prng(3);
    for (let run = 0; run < 200; run++) {
      const reader = new FrameReader();
      const got: string[] = [];
      const backing = wire.slice();
      for (let cut = 0; cut < wire.length; ) {
        const next = Math.min(wire.length, cut + 1 + Math.floor(rnd() * 20000));
        reader.push(rnd() < 0.5 ? backing.subarray(cut, next) : wire.slice(cut, next));
        for (let f = reader.next(); f !== null; f = reader.next()) got.push(plain(f));
        cut = next;
      }
      expect(got).toEqual(expected);
      expect(reader.buffered).toBe(0);
    }
  });
});
