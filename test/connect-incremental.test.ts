/**
 * The incremental CONNECT parser: the same outcome however the head is split, and O(n) work for a
 * head pushed one byte at a time (counted in bytes scanned, never timed).
 */
import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { type ConnectLimits, ConnectParser, parseConnect } from "../src/proxy/connect-parser.ts";

const enc = new TextEncoder();
const LIMITS: ConnectLimits = { maxHeaderBytes: 64 * 1024, maxHeaders: 64 };

/** The result as text; the leftover is whatever the completing piece carried past the head. */
function outcome(run: () => { kind: string; consumed?: number }): string {
  try {
    const r = run();
    return r.kind === "done" ? `done:${r.consumed}` : r.kind;
  } catch (err) {
    if (err instanceof ProxyError) return `error:${err.code}`;
    throw err;
  }
}

function pushInPieces(buf: Uint8Array, sizes: (i: number) => number, limits = LIMITS) {
  const p = new ConnectParser(limits);
  let off = 0;
  let last = outcome(() => p.push(new Uint8Array(0)));
  for (let i = 0; off < buf.length && last === "incomplete"; i++) {
    const n = Math.max(1, sizes(i));
    last = outcome(() => p.push(buf.subarray(off, off + n)));
    off += n;
  }
  return { parser: p, last };
}

describe("ConnectParser", () => {
  test("a head pushed one byte at a time costs O(n) bytes scanned", () => {
    for (const padBytes of [1_000, 10_000, 60_000]) {
      const head = enc.encode(
        `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nX-Pad: ${"a".repeat(padBytes)}\r\n\r\n`,
      );
      const { parser, last } = pushInPieces(head, () => 1);
      expect(last).toBe(`done:${head.length}`);
      // Every byte is examined a bounded number of times (search, partial check, line parse).
      expect(parser.scanned).toBeLessThanOrEqual(4 * head.length);
    }
  });

  test("a long header line never completed stops at the byte limit with linear work", () => {
    const limits = { maxHeaderBytes: 32 * 1024, maxHeaders: 64 };
    const body = enc.encode(`CONNECT example.com:443 HTTP/1.1\r\nX-Pad: ${"a".repeat(40 * 1024)}`);
    const { parser, last } = pushInPieces(body, () => 7, limits);
    expect(last).toBe("error:HEADERS_TOO_LARGE");
    expect(parser.scanned).toBeLessThanOrEqual(4 * limits.maxHeaderBytes);
  });

  test("any split gives the outcome of the whole buffer (valid, errors, leftover)", () => {
    const cases = [
      "CONNECT a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n\x16\x03\x01hello",
      "\r\n\r\nCONNECT a.example:443 HTTP/1.1\r\n\r\n",
      "CONNECT a.example:443 HTTP/1.1\r\nX: a\rb\r\n\r\n",
      "CONNECT a.example:443 HTTP/1.1\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n",
      "CONNECT a.example:443 HTTP/1.1\r\nBad Name: v\r\n\r\n",
      "CONNECT a.example:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
      "CONNECT a.example:443 HTTP/1.1\r\nX: \x01\r\n\r\n",
      "CONNECT a.example:443 HTTP/1.1\r\nX: v\r\r\n\r\n",
      `CONNECT a.example:443 HTTP/1.1\r\nX: ${"v".repeat(300)}\r\n\r\n`,
      `CONNECT a.example:443 HTTP/1.1\r\n${"X: v\r\n".repeat(5)}\r\n`,
    ];
    const small = { maxHeaderBytes: 256, maxHeaders: 4 };
    for (const text of cases) {
      const buf = Uint8Array.from(text, (c) => c.charCodeAt(0));
      for (const limits of [LIMITS, small]) {
        const whole = outcome(() => parseConnect(buf, limits));
        for (const size of [1, 2, 3, 5, 13]) {
          expect(`${text}|${size}|${pushInPieces(buf, () => size, limits).last}`).toBe(
            `${text}|${size}|${whole}`,
          );
        }
      }
    }
  });

  test("the bytes after the head are the leftover, however the head was split", () => {
    const head = "CONNECT a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n";
    const buf = enc.encode(`${head}\x16\x03\x01hello`);
    for (const cut of [1, 20, head.length - 1]) {
      const p = new ConnectParser(LIMITS);
      expect(p.push(buf.subarray(0, cut)).kind).toBe("incomplete");
      const r = p.push(buf.subarray(cut));
      if (r.kind !== "done") throw new Error("expected done");
      expect(new TextDecoder().decode(r.request.leftover)).toBe("\x16\x03\x01hello");
    }
  });

  test("after an error every later push throws the same code", () => {
    const p = new ConnectParser(LIMITS);
    expect(outcome(() => p.push(enc.encode("CONNECT a:1 HTTP/1.1\n")))).toBe("error:BAD_REQUEST");
    expect(outcome(() => p.push(enc.encode("\r\n")))).toBe("error:BAD_REQUEST");
  });
});
