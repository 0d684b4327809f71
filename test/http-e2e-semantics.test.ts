/**
 * HTTP semantics across the protocol switch, through the running proxy in the full HTTP mode
 * with Node 20 origins: gRPC-style trailers, bodyless responses, 103 Early Hints, content
 * decoding for clients that asked for none, cookies between HTTP/2 crumbs and one HTTP/1.1
 * Cookie, 100 concurrent streams on one upstream connection, and HTTP/1.1 pipelining spread over
 * at most six upstream connections.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { curl, DECODED_TEXT, type E2eEnv, h2Client, h2Request, startE2e } from "./helpers/e2e-env.ts";
import { rawText } from "./helpers/e2e-raw.ts";

let env: E2eEnv;
let ca: string;
beforeAll(async () => {
  env = await startE2e();
  ca = await Bun.file(env.pki.caCertPath).text();
});
afterAll(async () => {
  await env?.close();
});

/** Writes `bytes` on a fresh HTTP/1.1 tunnel and reads until `done(text)` or the close. */
async function h1Raw(authority: string, bytes: string, done: (t: string) => boolean): Promise<string> {
  const c = await rawText(env.proxy.port, authority, ca);
  const text = await c.send(bytes, done);
  c.t.destroy();
  return text;
}

const status = (h: Record<string, unknown>) => Number(h[":status"]);

describe("trailers, bodyless responses, interim responses", () => {
  test("gRPC-style trailers: an h2 client gets them as trailers; an h1 client in the last chunk", async () => {
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      const s = await h2Client(env, o);
      const r = await h2Request(
        s,
        { ":method": "POST", ":path": "/grpc", te: "trailers" },
        new Uint8Array(5),
      );
      expect(status(r.headers)).toBe(200);
      expect(r.body.toString()).toBe("grpc-body");
      expect(r.trailers["grpc-status"]).toBe("0");
      expect(r.trailers["grpc-message"]).toBe("ok");
      s.close();
      const text = await h1Raw(
        o.authority,
        "GET /grpc HTTP/1.1\r\nHost: localhost\r\nTE: trailers\r\nConnection: close\r\n\r\n",
        (t) => t.endsWith("\r\n\r\n") && t.includes("grpc-message"),
      );
      expect(text).toContain("\r\ntransfer-encoding: chunked\r\n");
      expect(text).toEndWith("9\r\ngrpc-body\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n");
    }
  });

  test("an HTTP/1.1 client's TE: trailers (as curl sends it, not named in Connection) reaches an h2 origin as te: trailers", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    const text = await h1Raw(
      o.authority,
      "GET /bytes?n=2&cl=1 HTTP/1.1\r\nHost: localhost\r\nTE: trailers\r\nConnection: close\r\n\r\n",
      (t) => /\r\n\r\n[\s\S]{2}$/.test(t), // the head and the 2-byte body
    );
    expect(text).toStartWith("HTTP/1.1 200 OK");
    const raw = (await o.stats()).reqs.at(-1)?.raw ?? [];
    const te = raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === "te" ? [raw[i + 1]] : []));
    expect(te).toEqual(["trailers"]); // the Chrome profile sends none of its own
  });

  test("request trailers: only the message's own fields go upstream, to either origin protocol", async () => {
    const trailer =
      "X-Sum: 5\r\nProxy-Authorization: Basic c2VjcmV0\r\nX-PolyTLS-Upstream-Profile: firefox\r\n" +
      "Connection: close\r\nTE: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\nHost: evil\r\nTrailer: X\r\n" +
      "Authorization: Bearer t\r\nContent-Type: text/x\r\nContent-Encoding: gzip\r\n";
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      const text = await h1Raw(
        o.authority,
        `POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n${trailer}\r\n`,
        (t) => t.includes("\r\n\r\n") && t.trimEnd().endsWith("}"),
      );
      expect(text).toStartWith("HTTP/1.1 200 OK");
      const echo = JSON.parse(text.slice(text.indexOf("{"))) as {
        n: number;
        trailers: Record<string, string>;
      };
      expect(echo.n).toBe(5);
      expect(echo.trailers).toEqual({ "x-sum": "5" });
    }
    // From an HTTP/2 client too.
    const s = await h2Client(env, env.origins.nodeH2);
    const r = await new Promise<string>((resolve) => {
      const req = s.request({ ":method": "POST", ":path": "/echo" }, { waitForTrailers: true });
      req.on("wantTrailers", () =>
        req.sendTrailers({
          "x-sum": "5",
          "proxy-authorization": "Basic c2VjcmV0",
          "x-polytls-request-kind": "fetch",
        }),
      );
      let body = "";
      req.on("data", (d: Buffer) => {
        body += d.toString();
      });
      req.on("end", () => resolve(body));
      req.end("hello");
    });
    s.close();
    expect((JSON.parse(r) as { trailers: Record<string, string> }).trailers).toEqual({ "x-sum": "5" });
  });

  test("a response with Content-Length and trailers reaches an HTTP/1.1 client chunked, trailers and all", async () => {
    const text = await h1Raw(
      env.origins.nodeH2.authority,
      "GET /trailers-cl HTTP/1.1\r\nHost: localhost\r\nTE: trailers\r\nConnection: close\r\n\r\n",
      (t) => t.endsWith("\r\n\r\n") && t.includes("x-sum: 42"),
    );
    const head = text.slice(0, text.indexOf("\r\n\r\n")).toLowerCase();
    expect(head).toContain("\r\ntransfer-encoding: chunked");
    expect(head).toContain("\r\ntrailer: x-sum");
    expect(head).not.toContain("content-length");
    expect(text).toEndWith("\r\n\r\n3\r\nabc\r\n0\r\nx-sum: 42\r\n\r\n");
    // An HTTP/1.0 client cannot take trailers: no Trailer field promises them.
    const old = await h1Raw(
      env.origins.nodeH2.authority,
      "GET /trailers-cl HTTP/1.0\r\nHost: localhost\r\n\r\n",
      (t) => t.endsWith("abc"),
    );
    expect(old.toLowerCase()).not.toContain("\r\ntrailer:");
    expect(old.toLowerCase()).toContain("\r\ncontent-length: 3\r\n");
  });

  test("HEAD, 204 and 304 carry no body to either client protocol", async () => {
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      for (const flag of ["--http1.1", "--http2"]) {
        const head = await curl(env, [flag, "-sI", `https://${o.authority}/bytes?n=1000&cl=1`]);
        expect(head.out).toMatch(/^HTTP\/[12](\.1)? 200/m);
        expect(head.out.toLowerCase()).toContain("content-length: 1000");
        for (const code of [204, 304]) {
          const r = await curl(env, [flag, "-i", `https://${o.authority}/status/${code}`]);
          expect(r.err).toBe("");
          expect(r.out).toMatch(new RegExp(`^HTTP/[12](\\.1)? ${code}`));
          expect(r.out.endsWith("\r\n\r\n")).toBe(true);
          expect(r.out.toLowerCase()).not.toContain("transfer-encoding");
        }
      }
    }
    // The raw bytes of an HTTP/1.1 client: the next response follows right after the 204 head.
    const text = await h1Raw(
      env.origins.nodeH2.authority,
      "GET /status/204 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /bytes?n=3&cl=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      (t) => (t.match(/HTTP\/1\.1 /g) ?? []).length === 2 && t.endsWith("\r\n\r\n\x07&E"),
    );
    expect(text.startsWith("HTTP/1.1 204 No Content\r\n")).toBe(true);
    expect(text.split("HTTP/1.1 ")).toHaveLength(3);
  });

  test("103 Early Hints reach HTTP/1.1 and HTTP/2 clients before the 200", async () => {
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      for (const flag of ["--http1.1", "--http2"]) {
        const r = await curl(env, [flag, "-i", `https://${o.authority}/hints`]);
        expect(r.out).toMatch(
          /^HTTP\/[12](\.1)? 103[^\n]*\r\nlink: <\/style\.css>; rel=preload; as=style\r\n\r\nHTTP\/[12](\.1)? 200/,
        );
        expect(r.out.endsWith("hinted")).toBe(true);
      }
    }
  });
});

describe("content decoding and cookies", () => {
  test("br, gzip and zstd answers are decoded for a client that sent no Accept-Encoding", async () => {
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      for (const flag of ["--http1.1", "--http2"]) {
        for (const coding of ["br", "gzip", "zstd"]) {
          const r = await curl(env, [flag, "-i", `https://${o.authority}/enc/${coding}`]);
          const [head, body] = r.out.split("\r\n\r\n") as [string, string];
          expect(head.toLowerCase()).not.toContain("content-encoding");
          expect(head).toContain('etag: W/"enc"');
          expect(body).toBe(DECODED_TEXT);
        }
      }
      // A client that accepts the coding gets it as it is (curl --compressed decodes it itself).
      const r = await curl(env, ["-i", "--compressed", `https://${o.authority}/enc/gzip`]);
      expect(r.out.toLowerCase()).toContain("content-encoding: gzip");
      expect(r.out.endsWith(DECODED_TEXT)).toBe(true);
      // HEAD describes what the GET would bring: the decoded representation's fields.
      for (const flag of ["--http1.1", "--http2"]) {
        const head = (await curl(env, [flag, "-sI", `https://${o.authority}/enc/gzip`])).out.toLowerCase();
        expect(head).toMatch(/^http\/[12](\.1)? 200/);
        expect(head).not.toContain("content-encoding");
        expect(head).not.toContain("content-length");
        expect(head).toContain('etag: w/"enc"');
      }
      const asked = await curl(env, ["-sI", "--compressed", `https://${o.authority}/enc/gzip`]);
      expect(asked.out.toLowerCase()).toContain("content-encoding: gzip");
    }
  });

  test("Range: the client's own Accept-Encoding goes upstream (identity when it sent none); a coded 206 is not decoded", async () => {
    // The ranges count the bytes of the coding: a part of a gzip body cannot be decoded alone.
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      for (const flag of ["--http1.1", "--http2"]) {
        const plain = await curl(env, [flag, "-i", "-r", "100-199", `https://${o.authority}/range`]);
        const [head, body] = plain.out.split("\r\n\r\n") as [string, string];
        expect(head).toMatch(/^HTTP\/[12](\.1)? 206/);
        expect(head.toLowerCase()).toContain("x-seen-accept-encoding: identity");
        expect(body).toBe(DECODED_TEXT.slice(100, 200));
        // An origin that codes the part anyway: passed on as it came, Content-Encoding and all.
        const forced = await curl(env, [flag, "-i", "-r", "0-9", `https://${o.authority}/range?force=1`]);
        expect(forced.code).toBe(0);
        expect(forced.out.toLowerCase()).toContain("content-encoding: gzip");
        expect(forced.out.toLowerCase()).toContain("content-range: bytes 0-9/");
      }
      const asked = await curl(env, ["-i", "--compressed", "-r", "0-9", `https://${o.authority}/range`]);
      expect(asked.out.toLowerCase()).toMatch(/x-seen-accept-encoding: [^\r\n]*gzip/); // curl's own list
    }
  });

  test("a coded body cut short (its HTTP framing whole) is an error, never a clean shorter answer", async () => {
    // zstd included: the runtime's decoder ends quietly on a cut frame (see zstd-framing.ts).
    for (const o of [env.origins.nodeH2, env.origins.nodeH1]) {
      for (const flag of ["--http1.1", "--http2"]) {
        for (const coding of ["br", "gzip", "zstd"]) {
          const r = await curl(env, [flag, "-o", "/dev/null", `https://${o.authority}/enc/${coding}?cut=1`]);
          expect([coding, flag, r.code]).not.toEqual([coding, flag, 0]);
        }
      }
    }
  });

  test("cookies: h2 crumbs become one Cookie for an h1 origin; an h1 Cookie becomes Chrome's crumbs for h2", async () => {
    const s = await h2Client(env, env.origins.nodeH1);
    const r = await h2Request(s, { ":path": "/headers", cookie: ["a=1", "b=2", "c=3"] });
    const seen = JSON.parse(r.body.toString()) as string[];
    const cookies = seen.filter((_, i) => i % 2 === 1 && seen[i - 1]?.toLowerCase() === "cookie");
    expect(cookies).toEqual(["a=1; b=2; c=3"]);
    s.close();
    const h2 = await curl(env, [
      "--http1.1",
      "-H",
      "Cookie: a=1; b=2; c=3",
      `https://${env.origins.nodeH2.authority}/headers`,
    ]);
    const raw = JSON.parse(h2.out) as string[];
    const crumbs = raw.filter((_, i) => i % 2 === 1 && raw[i - 1] === "cookie");
    expect(crumbs).toEqual(["a=1", "b=2", "c=3"]);
  });
});

describe("concurrency", () => {
  test("100 concurrent streams from one h2 client all complete, on ONE upstream connection", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    const s = await h2Client(env, o);
    const all = await Promise.all(
      Array.from({ length: 100 }, (_, i) => h2Request(s, { ":path": `/bytes?n=${1000 + i}&cl=1` })),
    );
    expect(all.map((r) => status(r.headers))).toEqual(Array(100).fill(200));
    expect(all.map((r) => r.body.length)).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i));
    const stats = await o.stats();
    expect(stats.reqs).toHaveLength(100);
    expect(new Set(stats.reqs.map((r) => r.conn)).size).toBe(1);
    expect(stats.conns).toHaveLength(1);
    s.close();
  });

  test("an HTTP/1.1 client pipelining 12 requests to an h1-only origin gets 6 upstream connections, answers in order", async () => {
    const o = env.origins.nodeH1;
    await o.clear();
    const n = 300_000;
    const reqs = Array.from(
      { length: 12 },
      (_, i) =>
        `GET /bytes?n=${n + i}&cl=1 HTTP/1.1\r\nHost: localhost\r\n${i === 11 ? "Connection: close\r\n" : ""}\r\n`,
    ).join("");
    const text = await h1Raw(o.authority, reqs, () => false);
    const lengths = [...text.matchAll(/content-length: (\d+)/g)].map((m) => Number(m[1]));
    expect(lengths).toEqual(Array.from({ length: 12 }, (_, i) => n + i));
    const stats = await o.stats();
    expect(stats.reqs).toHaveLength(12);
    expect(new Set(stats.reqs.map((r) => r.conn)).size).toBe(6);
    expect(stats.conns).toHaveLength(6);
  });
});
