import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { BodyReader } from "../src/http/h1/body-reader.ts";
import { ChunkedDecoder, encodeChunk, encodeLastChunk } from "../src/http/h1/chunked.ts";
import { H1Error } from "../src/http/h1/errors.ts";
import { HeadScanner } from "../src/http/h1/head-scanner.ts";
import {
  DEFAULT_REQUEST_LIMITS,
  parseRequestHead,
  type RequestHead,
  RequestHeadScanner,
  type RequestLimits,
} from "../src/http/h1/request-head.ts";
import { parseResponseHead, type ResponseHead } from "../src/http/h1/response-head.ts";
import { writeRequestHead, writeResponseHead } from "../src/http/h1/writer.ts";
import { REQUEST_CASES, RESPONSE_CASES } from "./helpers/h1-cases.ts";
import { bytes, driveRequests, driveResponses, latin1, prng, split } from "./helpers/h1-drive.ts";

function head(raw: string, limits?: RequestLimits): { head: RequestHead; consumed: number } {
  const r = parseRequestHead(bytes(raw), limits);
  if (r.kind !== "head") throw new Error("expected a complete head");
  return r;
}

function resp(raw: string, method = "GET"): { head: ResponseHead; consumed: number } {
  const r = parseResponseHead(bytes(raw), method);
  if (r.kind !== "head") throw new Error("expected a complete head");
  return r;
}

function h1Error(fn: () => unknown): H1Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof H1Error) return err;
    throw err;
  }
  throw new Error("expected an H1Error");
}

const H = "Host: example.com\r\n";

describe("request heads", () => {
  test("fields keep wire order and case; values are trimmed", () => {
    const raw = "GET /p?q HTTP/1.1\r\nHost: example.com\r\nX-Dup: 1\r\nx-dup: 2 \r\nAccept:*/*\r\n\r\nNEXT";
    const { head: h, consumed } = head(raw);
    expect(consumed).toBe(raw.length - "NEXT".length);
    expect(h.method).toBe("GET");
    expect(h.target).toEqual({ form: "origin", raw: "/p?q", path: "/p?q" });
    expect(h.rawHeaders).toEqual([
      ["Host", "example.com"],
      ["X-Dup", "1"],
      ["x-dup", "2"],
      ["Accept", "*/*"],
    ]);
    expect(h.authority).toBe("example.com");
    expect(h.body).toEqual({ kind: "none" });
    expect(h.keepAlive).toBe(true);
  });

  test("incomplete until the final CRLF", () => {
    const raw = `GET / HTTP/1.1\r\n${H}\r\n`;
    for (let n = 0; n < raw.length; n++)
      expect(parseRequestHead(bytes(raw.slice(0, n))).kind).toBe("incomplete");
    expect(parseRequestHead(bytes(raw)).kind).toBe("head");
  });

  test("pipelining: three requests in one buffer, consumed and bodies right", () => {
    const a = `GET /a HTTP/1.1\r\n${H}\r\n`;
    const b = `POST /b HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`;
    const c = `GET /c HTTP/1.1\r\n${H}Connection: close\r\n\r\n`;
    const buf = bytes(a + b + c);
    const first = parseRequestHead(buf);
    expect(first.kind === "head" && first.consumed).toBe(a.length);
    const second = parseRequestHead(buf.subarray(a.length));
    expect(second.kind === "head" && second.consumed).toBe(b.length - 5);
    const third = parseRequestHead(buf.subarray(a.length + b.length));
    expect(third.kind === "head" && third.consumed).toBe(c.length);
    const d = driveRequests([buf]);
    expect(d.error).toBeNull();
    expect(d.messages.map((m) => [m.head.split(" ").slice(0, 2).join(" "), m.body])).toEqual([
      ["GET /a", ""],
      ["POST /b", "hello"],
      ["GET /c", ""],
    ]);
    expect(d.messages[2]?.head).toContain("ka=false");
    for (let seed = 1; seed <= 20; seed++) expect(driveRequests(split(buf, prng(seed), 11))).toEqual(d);
  });

  test("chunked upload with trailers; next request follows", () => {
    const raw = `POST /up HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;name="v"\r\n world\r\n0\r\nX-Sum: abc\r\nx-other: 1\r\n\r\nGET /next HTTP/1.1\r\n${H}\r\n`;
    const d = driveRequests([bytes(raw)]);
    expect(d.error).toBeNull();
    expect(d.messages.length).toBe(2);
    expect(d.messages[0]?.head).toContain("body=chunked");
    expect(d.messages[0]?.body).toBe("hello world");
    expect(d.messages[0]?.trailers).toEqual([
      ["X-Sum", "abc"],
      ["x-other", "1"],
    ]);
    expect(driveRequests(split(bytes(raw), null))).toEqual(d);
  });

  test("one empty line before a pipelined request is tolerated (RFC 9112 §2.2)", () => {
    const d = driveRequests([
      bytes(`POST / HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nok\r\nGET /2 HTTP/1.1\r\n${H}\r\n`),
    ]);
    expect(d.error).toBeNull();
    expect(d.messages.length).toBe(2);
  });

  test("absolute-form: authority from the target, path to send upstream", () => {
    const { head: h } = head(`GET http://Example.com:8080/a/b?c HTTP/1.1\r\nHost: other.example\r\n\r\n`);
    expect(h.target).toEqual({
      form: "absolute",
      raw: "http://Example.com:8080/a/b?c",
      scheme: "http",
      authority: "Example.com:8080",
      path: "/a/b?c",
    });
    expect(h.authority).toBe("Example.com:8080");
    const q = head(`GET HTTPS://example.com?x=1 HTTP/1.1\r\n${H}\r\n`).head.target;
    expect(q.form === "absolute" && [q.scheme, q.path]).toEqual(["https", "/?x=1"]);
  });

  test("authority-form for CONNECT and asterisk-form for OPTIONS", () => {
    const c = head("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").head;
    expect(c.target).toEqual({ form: "authority", raw: "example.com:443", authority: "example.com:443" });
    expect(c.body).toEqual({ kind: "none" });
    expect(c.upgrade).toBeNull();
    expect(
      head("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nContent-Length: 0\r\n\r\n").head.body,
    ).toEqual({ kind: "none" });
    expect(head(`OPTIONS * HTTP/1.1\r\n${H}\r\n`).head.target).toEqual({ form: "asterisk", raw: "*" });
  });

  test("Expect: 100-continue on 1.1 only", () => {
    expect(
      head(`PUT / HTTP/1.1\r\n${H}Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n`).head.expectContinue,
    ).toBe(true);
    expect(head(`PUT / HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\n`).head.expectContinue).toBe(false);
    expect(
      head("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n").head.expectContinue,
    ).toBe(false);
  });

  test("Upgrade: websocket needs Connection: upgrade on 1.1; bytes after the head are the tunnel", () => {
    const raw = `GET /ws HTTP/1.1\r\n${H}Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x85abcde`;
    expect(head(raw).head.upgrade).toBe("websocket");
    const d = driveRequests([bytes(raw)]);
    expect(d.state).toBe("tunnel");
    expect(d.tunnel).toBe("\x81\x85abcde");
    expect(head(`GET / HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\n`).head.upgrade).toBeNull();
    expect(
      head("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n").head.upgrade,
    ).toBeNull();
  });

  test("keep-alive rules (RFC 9112 §9.3)", () => {
    expect(head(`GET / HTTP/1.1\r\n${H}\r\n`).head.keepAlive).toBe(true);
    expect(head(`GET / HTTP/1.1\r\n${H}Connection: Close\r\n\r\n`).head.keepAlive).toBe(false);
    expect(head("GET / HTTP/1.0\r\n\r\n").head.keepAlive).toBe(false);
    expect(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").head.keepAlive).toBe(true);
    expect(head("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").head.keepAlive).toBe(false);
  });

  test("Content-Length bounds: 2^53-1 accepted, 2^53 refused", () => {
    expect(head(`POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740991\r\n\r\n`).head.body).toEqual({
      kind: "length",
      length: Number.MAX_SAFE_INTEGER,
    });
    expect(
      h1Error(() => head(`POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740992\r\n\r\n`)).reason,
    ).toBe("CL_INVALID");
  });

  test("errors are ProxyError HTTP_BAD_REQUEST with a status hint", () => {
    const err = h1Error(() => head(`GET / HTTP/1.1\r\n${H}${H}\r\n`));
    expect(err).toBeInstanceOf(ProxyError);
    expect(err.code).toBe("HTTP_BAD_REQUEST");
    expect(err.side).toBe("request");
    expect(err.status).toBe(400);
  });
});

describe("limits", () => {
  const limits: RequestLimits = { maxHeadBytes: 100, maxHeaders: 3, maxUriBytes: 20 };
  const fill = (n: number) => "x".repeat(n);

  test("maxHeadBytes: a head of exactly the limit passes, one byte more is 431", () => {
    const base = `GET / HTTP/1.1\r\n${H}X: \r\n\r\n`;
    const exact = base.replace("X: ", `X: ${fill(100 - base.length)}`);
    expect(exact.length).toBe(100);
    expect(head(exact, limits).consumed).toBe(100);
    const over = exact.replace("X: ", "X: x");
    const err = h1Error(() => parseRequestHead(bytes(over), limits));
    expect([err.reason, err.status, err.code]).toEqual(["HEAD_TOO_LARGE", 431, "HEADERS_TOO_LARGE"]);
    // Refused as soon as the limit is passed, without waiting for the end of the head.
    expect(
      h1Error(() => parseRequestHead(bytes(`GET / HTTP/1.1\r\n${H}X: ${fill(200)}`), limits)).reason,
    ).toBe("HEAD_TOO_LARGE");
  });

  test("maxHeaders: 431 when the extra field line completes", () => {
    expect(head(`GET / HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\n\r\n`, limits).head.rawHeaders.length).toBe(3);
    const err = h1Error(() =>
      parseRequestHead(bytes(`GET / HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\nC: 3\r\n`), limits),
    );
    expect([err.reason, err.status]).toEqual(["TOO_MANY_FIELDS", 431]);
  });

  test("maxUriBytes: 414 for a long target, early for an endless request line", () => {
    expect(head(`GET /${fill(19)} HTTP/1.1\r\n${H}\r\n`, limits).head.target.raw.length).toBe(20);
    const err = h1Error(() => parseRequestHead(bytes(`GET /${fill(20)} HTTP/1.1\r\n${H}\r\n`), limits));
    expect([err.reason, err.status]).toEqual(["URI_TOO_LONG", 414]);
    const endless = h1Error(() =>
      parseRequestHead(bytes(`GET /${fill(90)}`), { ...limits, maxHeadBytes: 10000 }),
    );
    expect([endless.reason, endless.status]).toEqual(["URI_TOO_LONG", 414]);
  });

  test("trailer limits: 431", () => {
    const dec = new ChunkedDecoder("request", { maxChunkLineBytes: 64, maxTrailerBytes: 40, maxTrailers: 2 });
    const err = h1Error(() => dec.push(bytes(`0\r\nA: ${fill(40)}\r\n\r\n`)));
    expect([err.reason, err.status]).toEqual(["TRAILERS_TOO_LARGE", 431]);
    const dec2 = new ChunkedDecoder("request", {
      maxChunkLineBytes: 64,
      maxTrailerBytes: 400,
      maxTrailers: 2,
    });
    expect(h1Error(() => dec2.push(bytes("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"))).reason).toBe(
      "TRAILERS_TOO_LARGE",
    );
  });

  test("chunk extensions are bounded", () => {
    const dec = new ChunkedDecoder("request", { maxChunkLineBytes: 16, maxTrailerBytes: 64, maxTrailers: 2 });
    expect(dec.push(bytes("5;a=bcdefghijkl\r\nhello\r\n")).data.map(latin1)).toEqual(["hello"]);
    expect(h1Error(() => dec.push(bytes("5;a=bcdefghijklmn\r\n"))).reason).toBe("BAD_CHUNK_EXT");
    const zeros = new ChunkedDecoder("request", {
      maxChunkLineBytes: 16,
      maxTrailerBytes: 64,
      maxTrailers: 2,
    });
    expect(h1Error(() => zeros.push(bytes(`${"0".repeat(17)}5\r\n`))).reason).toBe("BAD_CHUNK_SIZE");
  });
});

describe("response heads", () => {
  test("status line, reason, fields in order", () => {
    const raw =
      "HTTP/1.1 404 Not  Found\r\nContent-Length: 3\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nabc";
    const { head: h, consumed } = resp(raw);
    expect([h.version, h.status, h.reason]).toEqual(["1.1", 404, "Not  Found"]);
    expect(h.rawHeaders).toEqual([
      ["Content-Length", "3"],
      ["Set-Cookie", "a=1"],
      ["set-cookie", "b=2"],
    ]);
    expect(h.body).toEqual({ kind: "length", length: 3 });
    expect(h.keepAlive).toBe(true);
    expect(h.quirks).toEqual([]);
    expect(consumed).toBe(raw.length - 3);
  });

  test("framing per RFC 9112 §6.3", () => {
    expect(resp("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD").head.body).toEqual({ kind: "none" });
    expect(resp("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n").head.body).toEqual({ kind: "none" });
    expect(resp("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n").head.body).toEqual({
      kind: "none",
    });
    const info = resp("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n").head;
    expect([info.interim, info.body.kind]).toEqual([true, "none"]);
    const sw = resp(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ).head;
    expect([sw.interim, sw.upgraded, sw.body.kind]).toEqual([false, true, "none"]);
    const tunnel = resp("HTTP/1.1 200 Connection Established\r\n\r\n", "CONNECT").head;
    expect([tunnel.upgraded, tunnel.body.kind]).toEqual([true, "none"]);
    expect(resp("HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n", "CONNECT").head.upgraded).toBe(false);
    const chunked = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").head;
    expect([chunked.body.kind, chunked.transferCodings]).toEqual(["chunked", ["gzip", "chunked"]]);
    const gz = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").head;
    expect([gz.body.kind, gz.keepAlive]).toEqual(["close", false]);
    const close = resp("HTTP/1.1 200 OK\r\n\r\n").head;
    expect([close.body.kind, close.keepAlive]).toEqual(["close", false]);
    expect(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n").head.keepAlive).toBe(false);
    expect(
      resp("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n").head.keepAlive,
    ).toBe(true);
  });

  test("each tolerance is reported as a quirk", () => {
    expect(resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").head.quirks).toEqual(["no-reason"]);
    const sp = resp("HTTP/1.1 200 OK\r\nContent-Type \t: text/html\r\nContent-Length: 0\r\n\r\n").head;
    expect([sp.quirks, sp.rawHeaders[0]]).toEqual([["space-before-colon"], ["Content-Type", "text/html"]]);
    const fold = resp("HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\tthree\r\nContent-Length: 0\r\n\r\n").head;
    expect([fold.quirks, fold.rawHeaders[0]]).toEqual([["obs-fold"], ["X-A", "one two three"]]);
    const dup = resp("HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\n").head;
    expect([dup.quirks, dup.body]).toEqual([["repeated-content-length"], { kind: "length", length: 4 }]);
    const both = resp("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n").head;
    expect([both.quirks, both.body.kind, both.keepAlive]).toEqual([
      ["content-length-with-transfer-encoding"],
      "chunked",
      false,
    ]);
  });

  test("refusals are HTTP_PROTOCOL (502)", () => {
    const cases: [string, string][] = [
      ["HTTP/1.1 200 OK\r\n X: a\r\n\r\n", "OBS_FOLD"],
      ["HTTP/1.1 20 OK\r\n\r\n", "BAD_STATUS"],
      ["HTTP/1.1 099 OK\r\n\r\n", "BAD_STATUS"],
      ["HTTP/1.1 200OK\r\n\r\n", "BAD_STATUS"],
      ["HTTP/2.0 200 OK\r\n\r\n", "UNSUPPORTED_VERSION"],
      ["HTTP/1.1 200 OK\r\nX A: b\r\n\r\n", "BAD_FIELD_NAME"],
      ["HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "CL_INVALID"],
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", "TE_NOT_CHUNKED"],
      ["HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "BARE_CR"],
    ];
    for (const [raw, reason] of cases) {
      const err = h1Error(() => resp(raw));
      expect([err.code, err.reason, err.status]).toEqual<unknown[]>(["HTTP_PROTOCOL", reason, 502]);
    }
  });

  test("response table: same outcome whole, byte by byte and at random splits", () => {
    for (const [i, c] of RESPONSE_CASES.entries()) {
      const raw = bytes(c.raw);
      const whole = driveResponses([raw], [c.method], true);
      if (c.expect === "ok") expect(whole.error).toBeNull();
      else expect(whole.error).toBe(`HTTP_PROTOCOL/${c.expect}/502`);
      expect(driveResponses(split(raw, null), [c.method], true)).toEqual(whole);
      for (let seed = 1; seed <= 5; seed++) {
        expect(driveResponses(split(raw, prng(seed * 31 + i), 9), [c.method], true)).toEqual(whole);
      }
    }
  });

  test("keep-alive responses in sequence, with an interim 100", () => {
    const raw = bytes(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
    );
    const d = driveResponses([raw], ["POST", "GET", "HEAD"], false);
    expect(d.error).toBeNull();
    expect(d.messages.map((m) => [m.head.split(" ")[1], m.body])).toEqual([
      ["100", ""],
      ["201", "ok"],
      ["200", "x"],
      ["200", ""],
    ]);
    expect(driveResponses(split(raw, null), ["POST", "GET", "HEAD"], false)).toEqual(d);
  });
});

describe("response head limits: what Chromium takes (256 KiB, lines not counted)", () => {
  test("a 250 KiB head and 1500 Set-Cookie lines parse; past 256 KiB is HEAD_TOO_LARGE", () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${"v".repeat(250 * 1024)}\r\nContent-Length: 0\r\n\r\n`;
    expect(resp(big).head.status).toBe(200);
    const cookies = Array.from({ length: 1500 }, (_, i) => `Set-Cookie: c${i}=1`).join("\r\n");
    expect(resp(`HTTP/1.1 200 OK\r\n${cookies}\r\nContent-Length: 0\r\n\r\n`).head.status).toBe(200);
    const over = `HTTP/1.1 200 OK\r\nX-Big: ${"v".repeat(257 * 1024)}\r\n\r\n`;
    expect(h1Error(() => parseResponseHead(bytes(over), "GET")).reason).toBe("HEAD_TOO_LARGE");
  });
});

describe("chunked coding", () => {
  test("decoder returns data views, trailers and the rest", () => {
    const dec = new ChunkedDecoder("response");
    const step = dec.push(bytes("3\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nHTTP/1.1"));
    expect(step.data.map(latin1)).toEqual(["abc", "0123456789"]);
    expect([step.done, step.trailers, latin1(step.rest)]).toEqual([true, [["X-T", "1"]], "HTTP/1.1"]);
    expect(() => dec.finish()).not.toThrow();
    const open = new ChunkedDecoder("response");
    open.push(bytes("3\r\nab"));
    expect(h1Error(() => open.finish()).reason).toBe("TRUNCATED_BODY");
  });

  test("encoder round-trips through the decoder", () => {
    const rand = prng(42);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 30; i++)
      parts.push(Uint8Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
    const wire = [
      ...parts.map(encodeChunk),
      encodeLastChunk(
        [
          ["X-Check", "a b"],
          ["grpc-status", "0"],
        ],
        "response",
      ),
    ];
    expect(latin1(encodeChunk(new Uint8Array(0)))).toBe("");
    expect(latin1(encodeChunk(bytes("hello")))).toBe("5\r\nhello\r\n");
    expect(latin1(encodeLastChunk())).toBe("0\r\n\r\n");
    const joined = bytes(wire.map(latin1).join(""));
    for (const chunks of [[joined], split(joined, null), split(joined, prng(7), 50)]) {
      const dec = new ChunkedDecoder("response");
      let body = "";
      let trailers = null;
      for (const c of chunks) {
        const s = dec.push(c);
        body += s.data.map(latin1).join("");
        if (s.done) trailers = s.trailers;
      }
      expect(body).toBe(parts.map(latin1).join(""));
      expect(trailers).toEqual([
        ["X-Check", "a b"],
        ["grpc-status", "0"],
      ]);
    }
    expect(h1Error(() => encodeLastChunk([["X", "a\r\nInjected: 1"]])).reason).toBe("INVALID_OUTPUT");
  });

  test("body reader: length, none, close, truncation", () => {
    const len = new BodyReader({ kind: "length", length: 4 }, "request");
    const a = len.push(bytes("ab"));
    const b = len.push(bytes("cdGET"));
    expect([a.data.map(latin1), a.done, b.data.map(latin1), b.done, latin1(b.rest)]).toEqual([
      ["ab"],
      false,
      ["cd"],
      true,
      "GET",
    ]);
    const none = new BodyReader({ kind: "none" }, "request");
    expect([none.done, latin1(none.push(bytes("x")).rest)]).toEqual([true, "x"]);
    const close = new BodyReader({ kind: "close" }, "response");
    expect(close.push(bytes("abc")).data.map(latin1)).toEqual(["abc"]);
    close.finish();
    expect(close.done).toBe(true);
    const short = new BodyReader({ kind: "length", length: 4 }, "response");
    short.push(bytes("ab"));
    const err = h1Error(() => short.finish());
    expect([err.code, err.reason]).toEqual(["HTTP_PROTOCOL", "TRUNCATED_BODY"]);
  });
});

describe("writer", () => {
  test("request head: exact bytes, order and case as given", () => {
    const out = writeRequestHead("GET", "/a?b=c", [
      ["Host", "example.com"],
      ["sec-ch-ua", '"Chromium";v="130"'],
      ["User-Agent", "Mozilla/5.0"],
      ["accept-language", "en-US,en;q=0.9"],
      ["X-Empty", ""],
    ]);
    expect(latin1(out)).toBe(
      'GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nsec-ch-ua: "Chromium";v="130"\r\nUser-Agent: Mozilla/5.0\r\naccept-language: en-US,en;q=0.9\r\nX-Empty: \r\n\r\n',
    );
    const back = parseRequestHead(out);
    expect(back.kind === "head" && back.head.rawHeaders).toEqual([
      ["Host", "example.com"],
      ["sec-ch-ua", '"Chromium";v="130"'],
      ["User-Agent", "Mozilla/5.0"],
      ["accept-language", "en-US,en;q=0.9"],
      ["X-Empty", ""],
    ]);
    expect(latin1(writeRequestHead("GET", "/", [], "1.0"))).toBe("GET / HTTP/1.0\r\n\r\n");
  });

  test("response head: exact bytes, obs-text kept as one byte", () => {
    const out = writeResponseHead(200, "OK", [
      ["Content-Type", "text/plain; charset=iso-8859-1"],
      ["X-Caf", "caf\u00e9"],
      ["content-length", "0"],
    ]);
    expect(latin1(out)).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=iso-8859-1\r\nX-Caf: caf\xe9\r\ncontent-length: 0\r\n\r\n",
    );
    expect(out.length).toBe(latin1(out).length);
    expect(latin1(writeResponseHead(103, "Early Hints", [["Link", "</a.css>; rel=preload"]]))).toBe(
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
    );
    const back = parseResponseHead(out, "GET");
    expect(back.kind === "head" && back.head.rawHeaders[1]).toEqual(["X-Caf", "caf\u00e9"]);
  });

  test("refuses anything that is not exact, safe HTTP/1.1", () => {
    const bad: [() => unknown, string][] = [
      [() => writeRequestHead("GET", "/", [["X", "a\r\nInjected: 1"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["X", "a\nb"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["X", "a\rb"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["X", "a\0b"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["X", "a\x7f"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["X", " padded"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["X", "\u0100"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["X-A\r\n", "b"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["X A", "b"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["", "b"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/", [["X:", "b"]]), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("G ET", "/", []), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/a b", []), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/a\r\nX: y", []), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "/a#f", []), "HTTP_BAD_REQUEST"],
      [() => writeRequestHead("GET", "", []), "HTTP_BAD_REQUEST"],
      [() => writeResponseHead(200, "OK\r\nX: y", []), "HTTP_PROTOCOL"],
      [() => writeResponseHead(99, "Low", []), "HTTP_PROTOCOL"],
      [() => writeResponseHead(200.5, "OK", []), "HTTP_PROTOCOL"],
      [() => writeResponseHead(200, "OK", [["Set-Cookie", "a\0"]]), "HTTP_PROTOCOL"],
    ];
    for (const [fn, code] of bad) {
      const err = h1Error(fn);
      expect([err.code, err.reason]).toEqual<unknown[]>([code, "INVALID_OUTPUT"]);
    }
  });
});

describe("robustness", () => {
  /** Random edits biased toward the bytes that matter to framing. */
  const INTERESTING = [0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x00, 0x2c, 0x3b, 0x30, 0x35, 0x66, 0x7f, 0xff, 0x0b];
  function mutate(src: Uint8Array, rand: () => number): Uint8Array {
    let b = Array.from(src);
    const edits = 1 + Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * (b.length + 1));
      const pick = () =>
        rand() < 0.7 ? (INTERESTING[Math.floor(rand() * INTERESTING.length)] ?? 0) : Math.floor(rand() * 256);
      const op = Math.floor(rand() * 5);
      if (op === 0) b[at] = pick();
      else if (op === 1) b.splice(at, 0, pick());
      else if (op === 2) b.splice(at, 1 + Math.floor(rand() * 3));
      else if (op === 3)
        b.splice(at, 0, ...b.slice(Math.floor(rand() * b.length), Math.floor(rand() * b.length)));
      else b = b.slice(0, at);
    }
    return Uint8Array.from(b);
  }

  test("20k mutated requests and 5k mutated responses: only H1Error, same outcome when split", () => {
    const rand = prng(0x5eed);
    const seeds = REQUEST_CASES.map((c) => bytes(c.raw));
    let errors = 0;
    for (let i = 0; i < 20000; i++) {
      const src = seeds[Math.floor(rand() * seeds.length)] ?? new Uint8Array(0);
      const input = mutate(src, rand);
      const whole = driveRequests([input]); // rethrows anything that is not an H1Error
      if (whole.error !== null) errors++;
      if (i % 10 === 0) expect(driveRequests(split(input, rand, 13))).toEqual(whole);
    }
    expect(errors).toBeGreaterThan(1000);
    const rseeds = RESPONSE_CASES.map((c) => [bytes(c.raw), c.method] as const);
    for (let i = 0; i < 5000; i++) {
      const [src, method] = rseeds[Math.floor(rand() * rseeds.length)] ?? [new Uint8Array(0), "GET"];
      const input = mutate(src, rand);
      const whole = driveResponses([input], [method], true);
      if (i % 10 === 0) expect(driveResponses(split(input, rand, 13), [method], true)).toEqual(whole);
    }
  });

  test("a 1 MiB head pushed in 1-3 byte pieces costs linear work", () => {
    const line = `X-Filler: ${"v".repeat(88)}\r\n`; // 100 bytes
    const count = 10486; // lines; ~1 MiB
    const raw = bytes(`GET / HTTP/1.1\r\n${H}${line.repeat(count)}\r\n`);
    expect(raw.length).toBeGreaterThan(1 << 20);
    const scanner = new RequestHeadScanner({ maxHeadBytes: 2 << 20, maxHeaders: 20000, maxUriBytes: 1024 });
    const rand = prng(9);
    let result = null;
    for (let off = 0; off < raw.length; ) {
      const n = 1 + Math.floor(rand() * 3);
      const r = scanner.push(raw.subarray(off, off + n));
      off += n;
      if (r.kind === "head") {
        result = r;
        break;
      }
    }
    expect(result?.head.rawHeaders.length).toBe(count + 1);
    expect(scanner.scanner.bytesExamined).toBe(raw.length);
    expect(scanner.scanner.bytesCopied).toBeLessThan(3 * raw.length);
  });

  test("a 1 MiB chunked body pushed byte by byte costs linear work", () => {
    const body = `${"400\r\n"}${"y".repeat(1024)}\r\n`.repeat(1024);
    const raw = bytes(`${body}0\r\n\r\n`);
    const dec = new ChunkedDecoder("request");
    let n = 0;
    for (let i = 0; i < raw.length; i++) {
      for (const d of dec.push(raw.subarray(i, i + 1)).data) n += d.length;
    }
    expect([dec.done, n]).toEqual([true, 1 << 20]);
    expect(dec.bytesExamined).toBe(raw.length);
  });

  test("the head scanner examines each byte once and refuses reuse without reset", () => {
    const s = new HeadScanner("request", { maxHeadBytes: 1000, maxHeaders: 10, maxStartLineBytes: 100 });
    const raw = bytes(`GET / HTTP/1.1\r\n${H}\r\nBODY`);
    expect(s.push(raw.subarray(0, 10))).toBeNull();
    const done = s.push(raw.subarray(10));
    expect([done?.consumed, s.bytesExamined]).toEqual([raw.length - 4 - 10, raw.length - 4]);
    expect(() => s.push(bytes("x"))).toThrow(ProxyError);
    s.reset();
    expect(s.push(raw)?.lines).toEqual([0, 16, 35]);
    s.reset();
    const first = h1Error(() => s.push(bytes("GET / HTTP/1.1\n")));
    expect(h1Error(() => s.push(bytes("Host: x\r\n\r\n")))).toBe(first);
    const dec = new ChunkedDecoder("request");
    const bad = h1Error(() => dec.push(bytes("zz\r\n")));
    expect(h1Error(() => dec.push(bytes("0\r\n\r\n")))).toBe(bad);
    expect(DEFAULT_REQUEST_LIMITS.maxHeadBytes).toBeGreaterThan(0);
  });
});
