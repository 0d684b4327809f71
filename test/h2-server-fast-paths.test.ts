/**
 * The per-request shortcuts of the HTTP/2 client path keep every check: the authority accepted
 * once per connection (client-h2.ts), field names remembered once valid (server-request.ts), the
 * byte-by-byte copy of small frame payloads (byte-queue.ts), a whole field block in one HEADERS
 * frame decoded without collecting it (server-frames.ts).
 */
import { describe, expect, test } from "bun:test";
import { ByteQueue } from "../src/http/h2/byte-queue.ts";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { checkRequestFields } from "../src/http/h2/server-request.ts";
import type { HeaderField } from "../src/http/h2/session-types.ts";
import { Bridge, req } from "./helpers/h2-server-bridge.ts";

const status = (b: Bridge, id: number) => b.of("HEADERS", id)[0]?.fields?.[0]?.[1];

describe("authority checked per request", () => {
  test("after an accepted authority, another one, a missing one and the accepted one again", () => {
    const b = new Bridge();
    b.headers(1, req("GET", "/a"), true);
    b.headers(3, req("GET", "/b", [], "other.test"), true);
    b.headers(
      5,
      [
        [":method", "GET"],
        [":scheme", "https"],
        [":path", "/c"],
      ],
      true,
    );
    b.headers(7, req("GET", "/d"), true);
    expect([status(b, 3), status(b, 5)]).toEqual(["421", "421"]);
    expect(b.seen.map((s) => s.head.path)).toEqual(["/a", "/d"]);
  });
});

describe("request fields checked on every request", () => {
  const head: HeaderField[] = [
    [":method", "GET"],
    [":scheme", "https"],
    [":authority", "example.test"],
    [":path", "/"],
  ];
  const check = (fields: HeaderField[]) => () => checkRequestFields([...head, ...fields], 1);

  test("a name seen valid before still has its value checked", () => {
    expect(check([["x-fast-path", "ok"]])).not.toThrow();
    expect(check([["x-fast-path", "bad\r\nvalue"]])).toThrow(/invalid value/);
    expect(check([["x-fast-path", " leading"]])).toThrow(/invalid value/);
  });

  test("te, connection-specific and invalid names are refused every time", () => {
    for (let i = 0; i < 3; i++) {
      expect(check([["te", "trailers"]])).not.toThrow();
      expect(check([["te", "gzip"]])).toThrow(/te other than trailers/);
      expect(check([["connection", "close"]])).toThrow(/connection-specific/);
      expect(check([["X-Upper", "1"]])).toThrow(/invalid field name/);
    }
  });

  test("the errors are stream errors PROTOCOL_ERROR", () => {
    try {
      check([["x-fast-path", "a\0b"]])();
      throw new Error("accepted");
    } catch (err) {
      expect(err).toMatchObject({ h2Code: H2ErrorCode.PROTOCOL_ERROR, streamId: 1 });
    }
  });
});

describe("ByteQueue small copies", () => {
  test("a small piece is a copy, independent of the chunk it came from", () => {
    const chunk = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const q = new ByteQueue();
    q.push(chunk);
    const piece = q.take(3);
    expect([...piece]).toEqual([1, 2, 3]);
    chunk[0] = 99;
    expect(piece[0]).toBe(1);
    expect([...q.take(5)]).toEqual([4, 5, 6, 7, 8]);
  });

  test("pieces across the copy thresholds keep their bytes", () => {
    const src = new Uint8Array(3000).map((_, i) => i & 0xff);
    for (const n of [1, 127, 128, 129, 1024, 1025]) {
      const q = new ByteQueue();
      q.push(src.slice());
      q.skip(5);
      expect([...q.take(n)]).toEqual([...src.subarray(5, 5 + n)]);
      expect(q.length).toBe(3000 - 5 - n);
    }
  });
});
