import { describe, expect, test } from "bun:test";
import { type ErrorCode, ProxyError } from "../src/errors/proxy-error.ts";
import { statusFor } from "../src/errors/wire.ts";
import { formatAuthority, hostsEqual, parseAuthority } from "../src/proxy/authority.ts";
import {
  type ConnectLimits,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADERS,
  type ParseResult,
  parseConnect,
} from "../src/proxy/connect-parser.ts";
import { prng } from "./helpers/prng.ts";

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

function done(r: ParseResult) {
  if (r.kind !== "done") throw new Error(`expected done, got ${r.kind}`);
  return r;
}

function codeOf(fn: () => unknown): ErrorCode | "none" {
  try {
    fn();
    return "none";
  } catch (err) {
    if (err instanceof ProxyError) return err.code;
    throw err;
  }
}

/** Outcome as comparable data: result kind/consumed or the error code. */
function outcome(buf: Uint8Array, limits?: ConnectLimits): string {
  try {
    const r = parseConnect(buf, limits);
    return r.kind === "done" ? `done:${r.consumed}` : "incomplete";
  } catch (err) {
    if (err instanceof ProxyError) return `error:${err.code}`;
    throw err;
  }
}

/** What the listener does: append each chunk, re-parse the whole buffer, stop at done/error. */
function feedInChunks(buf: Uint8Array, rand: () => number, maxChunk: number, limits?: ConnectLimits): string {
  let acc = new Uint8Array(0);
  let off = 0;
  let last = "incomplete";
  while (off < buf.length) {
    const n = 1 + Math.floor(rand() * maxChunk);
    const next = new Uint8Array(acc.length + Math.min(n, buf.length - off));
    next.set(acc);
    next.set(buf.subarray(off, off + (next.length - acc.length)), acc.length);
    off += next.length - acc.length;
    acc = next;
    last = outcome(acc, limits);
    if (last !== "incomplete") return last;
  }
  return last;
}

const CURL_CONNECT =
  "CONNECT example.com:443 HTTP/1.1\r\n" +
  "Host: example.com:443\r\n" +
  "User-Agent: curl/8.11.0\r\n" +
  "Proxy-Connection: Keep-Alive\r\n" +
  "X-PolyTLS-Upstream-Profile: chrome-143-macos-arm64\r\n" +
  "\r\n";

describe("parseConnect: valid requests", () => {
  test("DNS target with curl-like headers", () => {
    const r = done(parseConnect(bytes(CURL_CONNECT)));
    expect(r.consumed).toBe(CURL_CONNECT.length);
    expect(r.request.method).toBe("CONNECT");
    expect(r.request.target).toEqual({ host: "example.com", port: 443, kind: "dns" });
    expect(r.request.profile).toBe("chrome-143-macos-arm64");
    expect(r.request.proxyAuthorization).toBeNull();
    expect(r.request.headers).toEqual([
      ["Host", "example.com:443"],
      ["User-Agent", "curl/8.11.0"],
      ["Proxy-Connection", "Keep-Alive"],
      ["X-PolyTLS-Upstream-Profile", "chrome-143-macos-arm64"],
    ]);
    expect(r.request.leftover.length).toBe(0);
  });

  test("IPv4 and IPv6 targets; Host header does not affect routing; HTTP/1.0", () => {
    const v4 = done(parseConnect(bytes("CONNECT 192.0.2.7:8443 HTTP/1.0\r\nHost: evil.test:1\r\n\r\n")));
    expect(v4.request.target).toEqual({ host: "192.0.2.7", port: 8443, kind: "ipv4" });
    const v6 = done(parseConnect(bytes("CONNECT [2001:DB8::0:1]:443 HTTP/1.1\r\n\r\n")));
    expect(v6.request.target).toEqual({ host: "2001:db8::1", port: 443, kind: "ipv6" });
    expect(v6.request.headers).toEqual([]);
  });

  test("header names keep case, values are trimmed, lookups are case-insensitive", () => {
    const req =
      "CONNECT a.test:443 HTTP/1.1\r\n" +
      "x-polytls-UPSTREAM-profile: \t firefox  \t\r\n" +
      "proxy-AUTHORIZATION:Basic dXNlcjpwYXNz \r\n" +
      "X-Empty:\r\n" +
      "X-Obs: caf\xe9\r\n" +
      "\r\n";
    const buf = Uint8Array.from(req, (c) => c.charCodeAt(0));
    const r = done(parseConnect(buf));
    expect(r.request.profile).toBe("firefox");
    expect(r.request.proxyAuthorization).toBe("Basic dXNlcjpwYXNz");
    expect(r.request.headers).toEqual([
      ["x-polytls-UPSTREAM-profile", "firefox"],
      ["proxy-AUTHORIZATION", "Basic dXNlcjpwYXNz"],
      ["X-Empty", ""],
      ["X-Obs", "caf\u00e9"],
    ]);
  });

  test("empty profile value is null; repeated identical profile is accepted", () => {
    const empty = done(
      parseConnect(bytes("CONNECT a.test:1 HTTP/1.1\r\nX-PolyTLS-Upstream-Profile:   \r\n\r\n")),
    );
    expect(empty.request.profile).toBeNull();
    const twice = done(
      parseConnect(
        bytes(
          "CONNECT a.test:1 HTTP/1.1\r\nX-PolyTLS-Upstream-Profile: safari\r\n" +
            "x-polytls-upstream-profile:safari \r\n\r\n",
        ),
      ),
    );
    expect(twice.request.profile).toBe("safari");
  });

  test("conflicting duplicate profile or Proxy-Authorization headers are BAD_REQUEST", () => {
    const profiles =
      "CONNECT a.test:1 HTTP/1.1\r\nX-PolyTLS-Upstream-Profile: chrome\r\nx-polytls-upstream-profile: firefox\r\n\r\n";
    expect(codeOf(() => parseConnect(bytes(profiles)))).toBe("BAD_REQUEST");
    const auth =
      "CONNECT a.test:1 HTTP/1.1\r\nProxy-Authorization: Basic YQ==\r\nProxy-Authorization: Basic Yg==\r\n\r\n";
    expect(codeOf(() => parseConnect(bytes(auth)))).toBe("BAD_REQUEST");
  });

  test("more than one Host line, or a list in one, is BAD_REQUEST, even with the same value (RFC 9112 §3.2)", () => {
    for (const second of ["Host: b.test:1", "host: a.test:1"]) {
      const head = `CONNECT a.test:1 HTTP/1.1\r\nHost: a.test:1\r\n${second}\r\n\r\n`;
      expect(codeOf(() => parseConnect(bytes(head)))).toBe("BAD_REQUEST");
    }
    const list = "CONNECT a.test:1 HTTP/1.1\r\nHost: a.test:1, b.test:1\r\n\r\n";
    expect(codeOf(() => parseConnect(bytes(list)))).toBe("BAD_REQUEST");
    expect(parseConnect(bytes("CONNECT a.test:1 HTTP/1.1\r\nHost: a.test:1\r\n\r\n")).kind).toBe("done");
    expect(parseConnect(bytes("CONNECT a.test:1 HTTP/1.1\r\n\r\n")).kind).toBe("done");
  });

  test("leading empty lines are skipped and counted in consumed", () => {
    const r = done(parseConnect(bytes("\r\n\r\nCONNECT a.test:1 HTTP/1.1\r\n\r\n")));
    expect(r.consumed).toBe(4 + 29);
  });

  test("leftover bytes (a TLS record after the head) are returned exactly, as a copy", () => {
    const head = bytes(CURL_CONNECT);
    const record = Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x02, 0x0d, 0x0a]);
    const buf = new Uint8Array(head.length + record.length);
    buf.set(head);
    buf.set(record, head.length);
    const r = done(parseConnect(buf));
    expect(r.consumed).toBe(head.length);
    expect(Array.from(r.request.leftover)).toEqual(Array.from(record));
    expect(Array.from(buf.subarray(r.consumed))).toEqual(Array.from(record));
    buf.fill(0);
    expect(Array.from(r.request.leftover)).toEqual(Array.from(record));
  });

  test("Content-Length: 0 is accepted; other Content-Length or Transfer-Encoding is not", () => {
    expect(parseConnect(bytes("CONNECT a.test:1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n")).kind).toBe("done");
    expect(
      codeOf(() => parseConnect(bytes("CONNECT a.test:1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"))),
    ).toBe("BAD_REQUEST");
    expect(
      codeOf(() =>
        parseConnect(bytes("CONNECT a.test:1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
      ),
    ).toBe("BAD_REQUEST");
  });
});

describe("parseConnect: incremental input", () => {
  test("every strict prefix of a valid request is incomplete", () => {
    const buf = bytes(CURL_CONNECT);
    for (let n = 0; n < buf.length; n++) {
      expect(parseConnect(buf.subarray(0, n)).kind).toBe("incomplete");
    }
    expect(done(parseConnect(buf)).consumed).toBe(buf.length);
  });

  test("500 random chunkings give the same result as one-shot parsing", () => {
    const head = bytes(CURL_CONNECT);
    const full = new Uint8Array(head.length + 40);
    full.set(head);
    for (let i = 0; i < 40; i++) full[head.length + i] = (i * 37 + 5) & 0xff;
    const reference = done(parseConnect(full));
    const rand = prng(0x5eed);
    for (let run = 0; run < 500; run++) {
      let acc = new Uint8Array(0);
      let off = 0;
      let result: ParseResult = { kind: "incomplete" };
      while (result.kind === "incomplete") {
        const n = Math.min(1 + Math.floor(rand() * 48), full.length - off);
        const next = new Uint8Array(acc.length + n);
        next.set(acc);
        next.set(full.subarray(off, off + n), acc.length);
        off += n;
        acc = next;
        result = parseConnect(acc);
        if (result.kind === "incomplete") expect(acc.length).toBeLessThan(head.length);
      }
      const r = done(result);
      expect(r.consumed).toBe(reference.consumed);
      expect(r.request.target).toEqual(reference.request.target);
      expect(r.request.headers).toEqual(reference.request.headers);
      expect(r.request.profile).toBe(reference.request.profile);
      expect(Array.from(r.request.leftover)).toEqual(Array.from(acc.subarray(head.length)));
    }
  });
});

describe("parseConnect: errors", () => {
  test("non-CONNECT method is 405, but only once the request line is complete", () => {
    expect(parseConnect(bytes("GET / HTTP/1.1")).kind).toBe("incomplete");
    expect(parseConnect(bytes("GET / HTTP/1.1\r")).kind).toBe("incomplete");
    let err: unknown;
    try {
      parseConnect(bytes("GET / HTTP/1.1\r\n"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).code).toBe("BAD_METHOD");
    expect(statusFor(err)).toBe(405);
    expect(codeOf(() => parseConnect(bytes("connect a.test:1 HTTP/1.1\r\n")))).toBe("BAD_METHOD");
    // An absolute-form http:// request is plain HTTP proxying (src/proxy/forward-http.ts).
    expect(parseConnect(bytes("POST http://a.test/ HTTP/1.0\r\n\r\n")).kind).toBe("forward");
  });

  const badRequests: [string, string][] = [
    ["bare LF after request line", "CONNECT a.test:1 HTTP/1.1\nHost: a\r\n\r\n"],
    ["bare LF terminator", "CONNECT a.test:1 HTTP/1.1\r\nHost: a\n\n"],
    ["bare CR", "CONNECT a.test:1 HTTP/1.1\rX"],
    ["double space", "CONNECT  a.test:1 HTTP/1.1\r\n\r\n"],
    ["tab separator", "CONNECT\ta.test:1 HTTP/1.1\r\n\r\n"],
    ["missing version", "CONNECT a.test:1\r\n\r\n"],
    ["extra token", "CONNECT a.test:1 HTTP/1.1 x\r\n\r\n"],
    ["HTTP/2.0", "CONNECT a.test:1 HTTP/2.0\r\n\r\n"],
    ["HTTP/1.2", "CONNECT a.test:1 HTTP/1.2\r\n\r\n"],
    ["lowercase version", "CONNECT a.test:1 http/1.1\r\n\r\n"],
    ["invalid method token", "CON(NECT a.test:1 HTTP/1.1\r\n\r\n"],
    ["NUL in request line", "CONNECT a.test:1\0 HTTP/1.1\r\n\r\n"],
    ["non-ASCII in request line", "CONNECT \u00e9.test:1 HTTP/1.1\r\n\r\n"],
    ["header without colon", "CONNECT a.test:1 HTTP/1.1\r\nHost a.test\r\n\r\n"],
    ["whitespace before colon", "CONNECT a.test:1 HTTP/1.1\r\nHost : a.test\r\n\r\n"],
    ["obs-fold", "CONNECT a.test:1 HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n"],
    ["empty header name", "CONNECT a.test:1 HTTP/1.1\r\n: v\r\n\r\n"],
    ["invalid name char", "CONNECT a.test:1 HTTP/1.1\r\nX@Y: v\r\n\r\n"],
    ["control char in value", "CONNECT a.test:1 HTTP/1.1\r\nX-A: a\x01b\r\n\r\n"],
    ["DEL in value", "CONNECT a.test:1 HTTP/1.1\r\nX-A: a\x7fb\r\n\r\n"],
    ["TLS ClientHello sent to the proxy", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"],
  ];
  for (const [name, req] of badRequests) {
    test(`400: ${name}`, () => {
      const buf = Uint8Array.from(req, (c) => c.charCodeAt(0) & 0xff);
      expect(codeOf(() => parseConnect(buf))).toBe("BAD_REQUEST");
    });
  }

  test("bad targets are BAD_AUTHORITY, detected when the request line completes", () => {
    for (const t of ["a.test", "a.test:0", "user@a.test:443", "http://a.test:443", "[::1%25lo]:443", "/x"]) {
      expect(codeOf(() => parseConnect(bytes(`CONNECT ${t} HTTP/1.1\r\n`)))).toBe("BAD_AUTHORITY");
    }
  });

  test("431 for a 17 KiB header, before the terminator arrives", () => {
    expect(DEFAULT_MAX_HEADER_BYTES).toBe(16 * 1024);
    const head = `CONNECT a.test:443 HTTP/1.1\r\nX-Big: ${"a".repeat(17 * 1024)}`;
    const buf = bytes(head);
    // Exactly the limit buffered without a terminator → still incomplete; one byte more → 431.
    expect(parseConnect(buf.subarray(0, DEFAULT_MAX_HEADER_BYTES)).kind).toBe("incomplete");
    expect(codeOf(() => parseConnect(buf.subarray(0, DEFAULT_MAX_HEADER_BYTES + 1)))).toBe(
      "HEADERS_TOO_LARGE",
    );
    expect(codeOf(() => parseConnect(buf))).toBe("HEADERS_TOO_LARGE");
    // The same head completed is still 431: the limit is on the head, not on the chunking.
    expect(codeOf(() => parseConnect(bytes(`${head}\r\n\r\n`)))).toBe("HEADERS_TOO_LARGE");
  });

  test("a head of exactly the byte limit is accepted", () => {
    const base = "CONNECT a.test:443 HTTP/1.1\r\nX-Pad: \r\n\r\n";
    const head = base.replace("X-Pad: ", `X-Pad: ${"p".repeat(100 - base.length)}`);
    expect(head.length).toBe(100);
    expect(done(parseConnect(bytes(head), { maxHeaderBytes: 100, maxHeaders: 4 })).consumed).toBe(100);
    expect(codeOf(() => parseConnect(bytes(head), { maxHeaderBytes: 99, maxHeaders: 4 }))).toBe(
      "HEADERS_TOO_LARGE",
    );
  });

  test("431 for 65 headers before the terminator; 64 are accepted", () => {
    expect(DEFAULT_MAX_HEADERS).toBe(64);
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: ${i}\r\n`).join("");
    const ok = done(parseConnect(bytes(`CONNECT a.test:443 HTTP/1.1\r\n${lines(64)}\r\n`)));
    expect(ok.request.headers.length).toBe(64);
    expect(parseConnect(bytes(`CONNECT a.test:443 HTTP/1.1\r\n${lines(64)}X-H64: 6`)).kind).toBe(
      "incomplete",
    );
    expect(codeOf(() => parseConnect(bytes(`CONNECT a.test:443 HTTP/1.1\r\n${lines(65)}`)))).toBe(
      "HEADERS_TOO_LARGE",
    );
  });
});

describe("parseConnect: robustness", () => {
  test("2000 random garbage inputs only give incomplete, done or a ProxyError", () => {
    const rand = prng(0xbadc0de);
    const alphabet = bytes("CONNECT GET HTTP/1.1 :[]\r\n\r\n\t a.test 443 X-PolyTLS-Upstream-Profile@%0x");
    const base = bytes(`${CURL_CONNECT}\x16\x03\x01`);
    const limits = { maxHeaderBytes: 160, maxHeaders: 3 };
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rand() * 300);
      let buf: Uint8Array;
      switch (i % 3) {
        case 0:
          buf = Uint8Array.from({ length: len }, () => Math.floor(rand() * 256));
          break;
        case 1:
          buf = Uint8Array.from({ length: len }, () => alphabet[Math.floor(rand() * alphabet.length)] ?? 0);
          break;
        default: {
          buf = base.slice(0, Math.max(1, Math.floor(rand() * base.length)) + 1);
          for (let k = Math.floor(rand() * 4); k >= 0; k--)
            buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
        }
      }
      const lim = i % 2 === 0 ? undefined : limits;
      const whole = outcome(buf, lim); // throws (failing the test) on anything but a ProxyError
      seen.add(whole.split(":")[0] === "error" ? whole : whole.split(":")[0]!);
      // Chunking never changes the outcome: the first non-incomplete answer is the one-shot answer.
      expect(feedInChunks(buf, rand, 24, lim)).toBe(whole);
    }
    expect(seen.has("error:BAD_REQUEST")).toBe(true);
    expect(seen.has("incomplete")).toBe(true);
    expect(seen.has("done")).toBe(true);
  });
});

describe("parseAuthority", () => {
  const good: [string, string, number, string][] = [
    ["example.com:443", "example.com", 443, "dns"],
    ["EXAMPLE.Com.:8443", "example.com", 8443, "dns"],
    ["localhost:1", "localhost", 1, "dns"],
    ["under_score.example:65535", "under_score.example", 65535, "dns"],
    ["xn--bcher-kva.example:443", "xn--bcher-kva.example", 443, "dns"],
    ["123.example.com:80", "123.example.com", 80, "dns"],
    [`${"a".repeat(63)}.test:1`, `${"a".repeat(63)}.test`, 1, "dns"],
    ["1.2.3.4:443", "1.2.3.4", 443, "ipv4"],
    ["0.0.0.0:1", "0.0.0.0", 1, "ipv4"],
    ["255.255.255.255:8080", "255.255.255.255", 8080, "ipv4"],
    ["[::1]:443", "::1", 443, "ipv6"],
    ["[::]:443", "::", 443, "ipv6"],
    ["[2001:DB8:0:0:0:0:0:1]:443", "2001:db8::1", 443, "ipv6"],
    ["[2001:db8:0:0:1:0:0:1]:1", "2001:db8::1:0:0:1", 1, "ipv6"],
    ["[1:0:0:2:0:0:0:3]:1", "1:0:0:2::3", 1, "ipv6"],
    ["[1:2:3:4:5:6:7:8]:1", "1:2:3:4:5:6:7:8", 1, "ipv6"],
    ["[1:2:3:4:5:6:7::]:1", "1:2:3:4:5:6:7:0", 1, "ipv6"],
    ["[::ffff:192.0.2.1]:443", "::ffff:c000:201", 443, "ipv6"],
    ["[0001:0db8::0001]:443", "1:db8::1", 443, "ipv6"],
  ];
  for (const [input, host, port, kind] of good) {
    test(`accepts ${input.length > 40 ? `${input.slice(0, 40)}…` : input}`, () => {
      const a = parseAuthority(input);
      expect(a).toEqual({ host, port, kind: kind as "dns" | "ipv4" | "ipv6" });
      expect(parseAuthority(formatAuthority(a))).toEqual(a);
    });
  }

  test("253-byte names are accepted, 254 are not", () => {
    const name253 = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    expect(name253.length).toBe(253);
    expect(parseAuthority(`${name253}:1`).host).toBe(name253);
    expect(parseAuthority(`${name253}.:1`).host).toBe(name253);
    expect(codeOf(() => parseAuthority(`${name253}e:1`))).toBe("BAD_AUTHORITY");
  });

  const bad = [
    "",
    "example.com",
    "example.com:",
    ":443",
    ".:443",
    "example.com:0",
    "example.com:65536",
    "example.com:0443",
    "example.com:+1",
    "example.com:1e3",
    "user@example.com:443",
    "user:pw@example.com:443",
    "example.com:443/path",
    "http://example.com:443",
    "example.com:443?q",
    "*.example.com:443",
    "exa mple.com:443",
    "ex\u212Aample.com:443",
    "bücher.example:443",
    "-a.example:443",
    "a-.example:443",
    "a..example:443",
    `${"a".repeat(64)}.test:1`,
    "01.2.3.4:1",
    "1.2.3:1",
    "1.2.3.4.5:1",
    "256.1.1.1:1",
    "0x7f.0.0.1:1",
    "127.1:1",
    "2130706433:80",
    "foo.0x10:80",
    "::1:443",
    "[::1]",
    "[::1]:",
    "[::1]443",
    "[::1:443",
    "[]:443",
    "[fe80::1%25eth0]:443",
    "[fe80::1%eth0]:443",
    "[v1.fe]:443",
    "[1:2:3:4:5:6:7:8:9]:1",
    "[1:2:3:4:5:6:7]:1",
    "[1:2:3:4:5:6:7:8::]:1",
    "[1::2::3]:1",
    "[12345::]:1",
    "[::g]:1",
    "[:1::]:1",
    "[1.2.3.4::]:1",
    "[::1.2.3]:1",
    "[1.2.3.4]:1",
  ];
  for (const input of bad) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      expect(codeOf(() => parseAuthority(input))).toBe("BAD_AUTHORITY");
    });
  }

  test("formatAuthority brackets IPv6 only", () => {
    expect(formatAuthority({ host: "::1", port: 443, kind: "ipv6" })).toBe("[::1]:443");
    expect(formatAuthority({ host: "1.2.3.4", port: 80, kind: "ipv4" })).toBe("1.2.3.4:80");
    expect(formatAuthority({ host: "a.test", port: 8443, kind: "dns" })).toBe("a.test:8443");
  });

  test("hostsEqual: ASCII case-insensitive, trailing dot ignored", () => {
    expect(hostsEqual("Example.COM", "example.com")).toBe(true);
    expect(hostsEqual("example.com.", "example.com")).toBe(true);
    expect(hostsEqual("example.com", "example.com.")).toBe(true);
    expect(hostsEqual("www.example.com", "example.com")).toBe(false);
    expect(hostsEqual("example.co", "example.com")).toBe(false);
    expect(hostsEqual("", "")).toBe(false);
    expect(hostsEqual(".", "")).toBe(false);
    expect(hostsEqual("\u212Aa.test", "ka.test")).toBe(false);
  });
});
