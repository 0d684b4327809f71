/**
 * The request direction's fast paths (HTTP/1.1 client → header policy → HPACK → HEADERS): text
 * decoded once per head, per-connection memos of checks that depend on one string only, the
 * slot-based header policy, the HPACK block writer and the one-allocation HEADERS framing. Each
 * must give exactly what the plain path gives, however the input is split.
 */
import { describe, expect, test } from "bun:test";
import { bridgeRequest, Refusal } from "../src/http/bridge/client-h1-request.ts";
import type { RequestHead } from "../src/http/bridge/message.ts";
import { detachedString } from "../src/http/detached.ts";
import { H1Error } from "../src/http/h1/errors.ts";
import { parseFieldLines } from "../src/http/h1/fields.ts";
import { HeadScanner } from "../src/http/h1/head-scanner.ts";
import { RequestHeadScanner, type RequestParse } from "../src/http/h1/request-head.ts";
import { asciiLower, latin1 } from "../src/http/h1/syntax.ts";
import { FrameReader } from "../src/http/h2/frame-reader.ts";
import type { Frame } from "../src/http/h2/frame-types.ts";
import { encodeHeaderBlock } from "../src/http/h2/frame-writer.ts";
import { buildUpstreamHeaders } from "../src/http/headers/policy.ts";
import { HpackDecoder } from "../src/http/hpack/decoder.ts";
import { HpackEncoder } from "../src/http/hpack/encoder.ts";
import { HpackError } from "../src/http/hpack/errors.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { parseAuthority } from "../src/proxy/authority.ts";

const octets = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const TARGET = parseAuthority("localhost:8443");

/** Pushes `raw` in pieces of `step` bytes; the first outcome that is not `incomplete`. */
function pushSplit(scanner: RequestHeadScanner, raw: Uint8Array, step: number): RequestParse {
  let r: RequestParse = { kind: "incomplete" };
  for (let at = 0; at < raw.length && r.kind === "incomplete"; at += step) {
    r = scanner.push(raw.subarray(at, Math.min(raw.length, at + step)));
  }
  return r;
}

describe("head text", () => {
  test("latin1 gives one code unit per byte, ASCII or not", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = latin1(bytes, 0, 256);
    expect(text.length).toBe(256);
    for (let i = 0; i < 256; i++) expect(text.charCodeAt(i)).toBe(i);
    expect(latin1(bytes, 65, 68)).toBe("ABC");
    expect(latin1(bytes, 65, 68, true)).toBe("ABC");
    expect(latin1(bytes, 5, 5)).toBe("");
  });

  test("the scanner reports whether a head is ASCII, across splits", () => {
    for (const step of [1, 3, 1000]) {
      const s = new HeadScanner("request", { maxHeadBytes: 1000, maxHeaders: 10, maxStartLineBytes: 100 });
      const plain = octets("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      let got = null;
      for (let at = 0; at < plain.length && got === null; at += step)
        got = s.push(plain.subarray(at, at + step));
      expect(got?.ascii).toBe(true);
      s.reset();
      const high = octets("GET / HTTP/1.1\r\nX-A: caf\u00e9\r\n\r\n");
      got = null;
      for (let at = 0; at < high.length && got === null; at += step)
        got = s.push(high.subarray(at, at + step));
      expect(got?.ascii).toBe(false);
    }
  });

  test("obs-text values come out byte for byte, however the head is split", () => {
    const raw = octets(
      "GET / HTTP/1.1\r\nHost: localhost:8443\r\nX-Text: \u00e9t\u00e9\u00ff \t\r\nCookie: a=1\r\n\r\n",
    );
    for (const step of [1, 2, 7, raw.length]) {
      const r = pushSplit(new RequestHeadScanner(), raw, step);
      if (r.kind !== "head") throw new Error("no head");
      expect(r.head.rawHeaders).toEqual([
        ["Host", "localhost:8443"],
        ["X-Text", "\u00e9t\u00e9\u00ff"],
        ["Cookie", "a=1"],
      ]);
      expect(r.head.lowerNames).toEqual(["host", "x-text", "cookie"]);
    }
  });

  test("field lines parse the same with and without the decoded head text", () => {
    const raw = octets("HTTP/1.1 200 OK\r\nA: 1\r\nB-C :  x y \r\n folded\r\n\r\n");
    const scanned = new HeadScanner("response", {
      maxHeadBytes: 1000,
      maxHeaders: 10,
      maxStartLineBytes: 100,
    }).push(raw);
    if (scanned === null) throw new Error("no head");
    const lines = scanned.lines;
    const text = latin1(raw, 0, raw.length);
    const plain = parseFieldLines(raw, lines, "response", true);
    expect(parseFieldLines(raw, lines, "response", true, text)).toEqual(plain);
    expect(plain).toEqual({
      fields: [
        ["A", "1"],
        ["B-C", "x y folded"],
      ],
      spaceBeforeColon: true,
      obsFold: true,
    });
    expect(() => parseFieldLines(raw, lines, "request", false, text)).toThrow(H1Error);
  });

  test("asciiLower folds A-Z only", () => {
    expect(asciiLower("Content-Type")).toBe("content-type");
    expect(asciiLower("accept")).toBe("accept");
    expect(asciiLower("X-\u00c0\u212a")).toBe("x-\u00c0\u212a");
  });

  test("a detached string is equal", () => {
    const head = `${"x".repeat(5000)}caf\u00e9-value`;
    const cut = head.slice(5000);
    expect(detachedString(cut)).toBe("caf\u00e9-value");
    expect(detachedString("")).toBe("");
    expect(detachedString("a")).toBe("a");
  });
});

describe("per-connection memos", () => {
  const request = (host: string) => octets(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);

  test("a valid Host remembered by the connection does not let another value through", () => {
    const scanner = new RequestHeadScanner();
    for (let i = 0; i < 3; i++) {
      expect(scanner.push(request("localhost:8443")).kind).toBe("head");
      scanner.reset();
    }
    expect(() => scanner.push(request("bad host"))).toThrow(H1Error);
    scanner.reset();
    expect(() => scanner.push(request("localhost:0"))).toThrow(H1Error);
    scanner.reset();
    expect(scanner.push(request("localhost:8443")).kind).toBe("head");
  });

  test("the authority memo answers exactly as the check does", () => {
    const memo = { checkedHost: null };
    const head = (host: string) => {
      const scanner = new RequestHeadScanner();
      const r = scanner.push(request(host));
      if (r.kind !== "head") throw new Error("no head");
      return r.head;
    };
    const ok = bridgeRequest(head("localhost:8443"), TARGET, memo) as RequestHead;
    expect(ok.authority).toBe("localhost:8443");
    expect(memo.checkedHost as string | null).toBe("localhost:8443");
    expect(bridgeRequest(head("LOCALHOST:8443"), TARGET, memo)).not.toBeInstanceOf(Refusal);
    const other = bridgeRequest(head("other.example:8443"), TARGET, memo);
    expect(other).toBeInstanceOf(Refusal);
    expect((other as Refusal).status).toBe(421);
    expect(bridgeRequest(head("localhost:9999"), TARGET, memo)).toBeInstanceOf(Refusal);
    expect(bridgeRequest(head("localhost:8443"), TARGET, memo)).not.toBeInstanceOf(Refusal);
  });
});

describe("header policy", () => {
  const registry = new ProfileRegistry();
  const chrome = registry.get("chrome-142-linux-x64").http;

  test("template fields are shared, frozen and still right for the next request", () => {
    const a = buildUpstreamHeaders(chrome, "navigate", [], { protocol: "h2", authority: "localhost:8443" });
    const b = buildUpstreamHeaders(chrome, "navigate", [], { protocol: "h2", authority: "localhost:8443" });
    expect(b).toEqual(a);
    const ua = a.find(([n]) => n === "user-agent");
    expect(ua && Object.isFrozen(ua)).toBe(true);
    expect(() => {
      (ua as [string, string])[1] = "changed";
    }).toThrow();
    expect(
      buildUpstreamHeaders(chrome, "navigate", [], { protocol: "h2", authority: "localhost:8443" }),
    ).toEqual(a);
  });

  test("client values take their slot, unlisted ones the * slot in client order, cookies joined", () => {
    const out = buildUpstreamHeaders(
      chrome,
      "navigate",
      [
        ["x-b", "1"],
        ["cookie", "a=1"],
        ["x-a", "2"],
        ["referer", "https://localhost:8443/"],
        ["cookie", "b=2"],
        ["x-b", "3"],
        ["user-agent", "curl/8"],
        ["connection", "x-gone"],
        ["x-gone", "no"],
      ],
      { protocol: "h2", authority: "localhost:8443" },
    );
    const names = out.map(([n]) => n);
    expect(names.indexOf("referer")).toBeLessThan(names.indexOf("cookie"));
    expect(names.slice(names.indexOf("cookie"), names.indexOf("priority"))).toEqual([
      "cookie",
      "x-b",
      "x-b",
      "x-a",
    ]);
    expect(out.find(([n]) => n === "cookie")?.[1]).toBe("a=1; b=2");
    expect(out.filter(([n]) => n === "x-b").map(([, v]) => v)).toEqual(["1", "3"]);
    expect(out.find(([n]) => n === "user-agent")?.[1]).toContain("Chrome/142");
    expect(out.find(([n]) => n === "sec-fetch-site")?.[1]).toBe("same-origin");
    expect(names).not.toContain("x-gone");
  });
});

describe("HPACK and HEADERS framing", () => {
  const policy = new ProfileRegistry().get("chrome-142-linux-x64").http.http2.hpack;
  const fields: [string, string][] = [
    [":method", "GET"],
    [":authority", "localhost:8443"],
    [":scheme", "https"],
    [":path", "/a"],
    ["user-agent", "x".repeat(600)],
    ["cookie", "a=1; b=2"],
  ];

  test("blocks decode to the fields, and a block's bytes are its own", () => {
    const enc = new HpackEncoder(policy);
    const dec = new HpackDecoder();
    const first = enc.encode(fields);
    const copy = first.slice();
    const second = enc.encode(fields);
    expect(first).toEqual(copy); // the second block did not write into the first
    expect(dec.decode(first)).toEqual([...fields.slice(0, 5), ["cookie", "a=1"], ["cookie", "b=2"]]);
    expect(dec.decode(second)).toEqual([...fields.slice(0, 5), ["cookie", "a=1"], ["cookie", "b=2"]]);
    expect(second.length).toBeLessThan(first.length);
  });

  test("a field above U+00FF throws before the table changes", () => {
    const enc = new HpackEncoder(policy);
    expect(() =>
      enc.encode([
        ["x-a", "1"],
        ["x-b", "\u0100"],
      ]),
    ).toThrow(HpackError);
    expect(enc.dynamicTableSize).toBe(0);
  });

  test("HEADERS + CONTINUATION split at the frame size, priority in the first frame only", () => {
    const block = Uint8Array.from({ length: 50 }, (_, i) => i);
    const priority = { exclusive: true, dependency: 3, weight: 200 };
    const reader = new FrameReader();
    reader.push(encodeHeaderBlock(5, block, { endStream: true, priority }, 16));
    const frames: Frame[] = [];
    for (let f = reader.next(); f !== null; f = reader.next()) frames.push(f);
    expect(frames.map((f) => f.type)).toEqual(["HEADERS", "CONTINUATION", "CONTINUATION", "CONTINUATION"]);
    const head = frames[0];
    if (head?.type !== "HEADERS") throw new Error("no HEADERS");
    expect([head.streamId, head.endStream, head.endHeaders, head.priority, head.block.length]).toEqual([
      5,
      true,
      false,
      priority,
      11,
    ]);
    const rest = frames
      .slice(1)
      .map((f) => (f.type === "CONTINUATION" ? [f.block.length, f.endHeaders] : []));
    expect(rest).toEqual([
      [16, false],
      [16, false],
      [7, true],
    ]);
    const joined = new Uint8Array(50);
    let at = 0;
    for (const f of frames) {
      const part = f.type === "HEADERS" || f.type === "CONTINUATION" ? f.block : new Uint8Array(0);
      joined.set(part, at);
      at += part.length;
    }
    expect(joined).toEqual(block);
  });

  test("a block that fits is one HEADERS frame with END_HEADERS", () => {
    const reader = new FrameReader();
    reader.push(encodeHeaderBlock(1, Uint8Array.of(0x82), { endStream: false }, 16384));
    const f = reader.next();
    if (f?.type !== "HEADERS") throw new Error("no HEADERS");
    expect([f.endStream, f.endHeaders, f.priority, [...f.block]]).toEqual([false, true, undefined, [0x82]]);
    expect(reader.next()).toBeNull();
  });
});
