/**
 * The HTTP/1.1 sides of the bridge over real loopback sockets. Client side: serveClientH1 driven
 * by real clients (curl, Python's http.client, Bun's node:http and fetch, raw sockets) against a
 * scripted dispatcher. Upstream side: UpstreamH1 against origins that are not ours (a Node.js
 * child, Bun's node:http server, a raw socket that records and scripts bytes), and both adapters
 * end to end (uploads, downloads, truncation, WebSocket).
 */
import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import { join } from "node:path";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { PIPELINE_DEPTH } from "../src/http/bridge/client-h1.ts";
import { type BodySink, type ByteSink, canUpgrade, type Responder } from "../src/http/bridge/message.ts";
import { UpstreamH1 } from "../src/http/bridge/upstream-h1.ts";
import { BodyReader } from "../src/http/h1/body-reader.ts";
import { parseRequestHead } from "../src/http/h1/request-head.ts";
import { ResponseHeadScanner } from "../src/http/h1/response-head.ts";
import { socketEndpoint } from "../src/proxy/endpoint.ts";
import {
  forwardingDispatcher,
  type Recorded,
  rawExchange,
  recorder,
  run,
  type Seen,
  scriptedDispatcher,
  sha256,
  startBridge,
  startNodeOrigin,
} from "./helpers/bridge-h1-harness.ts";
import { patternBytes, startOrigin } from "./helpers/bridge-h1-origin.mjs";
import { REQUEST_CASES } from "./helpers/h1-cases.ts";
import { waitUntil } from "./helpers/wait.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Writes `n` pattern bytes into `out` honouring backpressure, then ends it. */
function sendPattern(out: BodySink, n: number): void {
  const data = patternBytes(n);
  let off = 0;
  const pump = () => {
    while (off < n) {
      const c = data.subarray(off, Math.min(n, off + 65536));
      off += c.length;
      if (!out.write(c)) return;
    }
    out.end(null);
  };
  out.onDrain = pump;
  pump();
}

/**
 * The test application behind the client side: /bytes/N (N pattern bytes, `?cl=1` with a
 * Content-Length), /echo (the request body streamed back with backpressure; same length framing,
 * the trailers echoed), /status/N (an empty response with that status), /hints (103 then 200),
 * anything else: 200 "ok:<path>".
 */
function appDispatcher() {
  return scriptedDispatcher({
    onHead(seen: Seen, r: Responder) {
      const url = new URL(seen.head.path, "https://x");
      if (url.pathname === "/echo") {
        const len = seen.head.bodyLength;
        const out = r.head(200, len !== null && len >= 0 ? [["content-length", String(len)]] : [], false);
        const sink: BodySink = {
          write: (c) => out.write(c),
          end(t) {
            seen.ended = true;
            seen.trailers = t;
            out.end(t ? t.map(([n, v]) => [`echo-${n}`, v]) : null);
          },
          abort(e) {
            seen.aborted = e;
            out.abort(e);
          },
          onDrain: null,
        };
        out.onDrain = () => sink.onDrain?.();
        return sink;
      }
      return undefined;
    },
    onEnd(seen, r) {
      const url = new URL(seen.head.path, "https://x");
      const p = url.pathname;
      if (p.startsWith("/bytes/")) {
        const n = Number(p.slice(7));
        const out = r.head(200, url.searchParams.get("cl") ? [["content-length", String(n)]] : [], false);
        sendPattern(out, n);
      } else if (p.startsWith("/status/")) {
        const status = Number(p.slice(8));
        const bodyless = seen.head.method === "HEAD" || status === 204 || status === 304;
        r.head(
          status,
          [["content-length", status === 304 || seen.head.method === "HEAD" ? "1000" : "0"]],
          bodyless,
        ).end(null);
      } else if (p === "/hints") {
        r.interim(103, [["link", "</s.css>; rel=preload"]]);
        const out = r.head(200, [["content-type", "text/plain"]], false);
        out.write(new TextEncoder().encode("hinted"));
        out.end(null);
      } else {
        const text = new TextEncoder().encode(`ok:${seen.head.path}`);
        const out = r.head(
          200,
          [
            ["content-type", "text/plain"],
            ["content-length", String(text.length)],
          ],
          seen.head.method === "HEAD",
        );
        if (seen.head.method !== "HEAD") out.write(text);
        out.end(null);
      }
    },
  });
}

async function appBridge(target?: string) {
  const dispatcher = appDispatcher();
  const bridge = await startBridge(dispatcher, target);
  cleanups.push(() => bridge.close());
  return { bridge, seen: dispatcher.seen, url: `http://127.0.0.1:${bridge.port}` };
}

/** Splits a byte stream into HTTP/1.1 responses with our codec (statuses, heads, bodies). */
function splitResponses(
  buf: Uint8Array,
  methods: string[],
): { status: number; head: string; body: Buffer }[] {
  const out: { status: number; head: string; body: Buffer }[] = [];
  let rest = buf;
  let i = 0;
  while (rest.length > 0 && i < 64) {
    const method = methods[out.length] ?? "GET";
    const parsed = new ResponseHeadScanner(method).push(rest);
    if (parsed.kind !== "head") break;
    const headText = Buffer.from(rest.subarray(0, parsed.consumed)).toString("latin1");
    rest = rest.subarray(parsed.consumed);
    if (parsed.head.interim) {
      out.push({ status: parsed.head.status, head: headText, body: Buffer.alloc(0) });
      i++;
      continue;
    }
    const reader = new BodyReader(parsed.head.body, "response");
    const step = reader.push(rest);
    out.push({ status: parsed.head.status, head: headText, body: Buffer.concat(step.data) });
    rest = step.rest;
    i++;
  }
  return out;
}

const HOST = "Host: example.com\r\n";

/** Whether a refused case's head is itself valid (the fault is in its body). */
function headIsValid(raw: string): boolean {
  try {
    return parseRequestHead(Buffer.from(raw, "latin1")).kind === "head";
  } catch {
    return false;
  }
}
const REFUSED_HEADS = REQUEST_CASES.filter((c) => c.expect !== "ok" && !headIsValid(c.raw));
const REFUSED_BODIES = REQUEST_CASES.filter((c) => c.expect !== "ok" && headIsValid(c.raw));

describe("client side over HTTP/1.1: real clients", () => {
  test("curl reuses one connection for several requests (keep-alive)", async () => {
    const { bridge, seen, url } = await appBridge();
    const r = await run([
      "curl",
      "--http1.1",
      "-sS",
      "-H",
      "Host: example.com",
      `${url}/a`,
      `${url}/b`,
      `${url}/c`,
    ]);
    expect(r.code).toBe(0);
    expect(r.out.toString()).toBe("ok:/aok:/bok:/c");
    expect(bridge.connections).toBe(1);
    expect(seen.map((s) => s.head.path)).toEqual(["/a", "/b", "/c"]);
    expect(seen[0]?.head.clientProtocol).toBe("h1");
    expect(seen[0]?.head.authority).toBe("example.com");
    expect(seen[0]?.head.fields.map(([n]) => n)).toEqual(["user-agent", "accept"]);
  });

  test("Python http.client: keep-alive, bodies of 0 B / 1 B / 64 KiB both ways, HEAD / 204 / 304 on one connection", async () => {
    const { bridge } = await appBridge();
    const script = `
import http.client, hashlib, json, sys
c = http.client.HTTPConnection("127.0.0.1", ${bridge.port})
out = []
def req(method, path, body=None):
    c.request(method, path, body=body, headers={"Host": "example.com"})
    r = c.getresponse()
    data = r.read()
    out.append([r.status, len(data), hashlib.sha256(data).hexdigest(), r.getheader("content-length")])
for n in (0, 1, 65536):
    body = bytes(((i * 31 + 7) & 255) for i in range(n))
    req("POST", "/echo", body)
    req("GET", "/bytes/%d?cl=1" % n)
    req("GET", "/bytes/%d" % n)
req("HEAD", "/status/200")
req("GET", "/status/204")
req("GET", "/status/304")
req("GET", "/after")
print(json.dumps(out))
`;
    const r = await run(["python3", "-c", script]);
    expect(r.err).toBe("");
    const rows = JSON.parse(r.out.toString()) as [number, number, string, string | null][];
    let k = 0;
    for (const n of [0, 1, 65536]) {
      const sum = sha256(patternBytes(n));
      expect(rows[k++]).toEqual([200, n, sum, String(n)]);
      expect(rows[k++]).toEqual([200, n, sum, String(n)]);
      expect(rows[k++]).toEqual([200, n, sum, null]);
    }
    expect(rows[k++]).toEqual([200, 0, sha256(new Uint8Array(0)), "1000"]);
    expect(rows[k++]?.slice(0, 2)).toEqual([204, 0]);
    expect(rows[k++]?.slice(0, 2)).toEqual([304, 0]);
    expect(rows[k++]?.slice(0, 2)).toEqual([200, 9]);
    expect(bridge.connections).toBe(1);
  });

  test("Bun's node:http client with a keep-alive agent: one connection, bodies intact", async () => {
    const { bridge } = await appBridge();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const get = (path: string, body?: Buffer) =>
      new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const req = http.request(
          {
            host: "127.0.0.1",
            port: bridge.port,
            path,
            method: body ? "POST" : "GET",
            agent,
            headers: { Host: "example.com" },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (d: Buffer) => chunks.push(d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const payload = patternBytes(100_000);
    for (let i = 0; i < 3; i++) {
      const r = await get("/echo", payload);
      expect(sha256(r.body)).toBe(sha256(payload));
    }
    expect((await get("/x")).body.toString()).toBe("ok:/x");
    expect(bridge.connections).toBe(1);
  });

  test("fetch (Bun) gets a streamed download and a chunked response intact", async () => {
    const { url } = await appBridge();
    const res = await fetch(`${url}/bytes/300000`, { headers: { Host: "example.com" } });
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(patternBytes(300_000)));
  });

  test("20 MiB both ways through curl, checksummed (Content-Length and chunked uploads)", async () => {
    const { url, seen } = await appBridge();
    const dir = fs.mkdtempSync(join(os.tmpdir(), "polytls-bridge-h1-"));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const big = patternBytes(20 * 1024 * 1024);
    fs.writeFileSync(join(dir, "up.bin"), big);
    const down = await run([
      "curl",
      "--http1.1",
      "-sS",
      "-H",
      "Host: example.com",
      `${url}/bytes/${big.length}?cl=1`,
    ]);
    expect(down.code).toBe(0);
    expect(sha256(down.out)).toBe(sha256(big));
    const upCl = await run([
      "curl",
      "--http1.1",
      "-sS",
      "-H",
      "Host: example.com",
      "-H",
      "Expect:",
      "--data-binary",
      `@${join(dir, "up.bin")}`,
      `${url}/echo`,
    ]);
    expect(upCl.code).toBe(0);
    expect(sha256(upCl.out)).toBe(sha256(big));
    const upChunked = await run([
      "curl",
      "--http1.1",
      "-sS",
      "-H",
      "Host: example.com",
      "-H",
      "Transfer-Encoding: chunked",
      "--data-binary",
      `@${join(dir, "up.bin")}`,
      `${url}/echo`,
    ]);
    expect(upChunked.code).toBe(0);
    expect(sha256(upChunked.out)).toBe(sha256(big));
    expect(seen.map((s) => s.head.bodyLength)).toEqual([null, big.length, -1]);
    expect(seen[2]?.head.fields.some(([n]) => n === "transfer-encoding")).toBe(false);
  });

  test("Expect: 100-continue is answered locally before the body, and not passed on", async () => {
    const { url, seen } = await appBridge();
    const dir = fs.mkdtempSync(join(os.tmpdir(), "polytls-bridge-h1-"));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const body = patternBytes(2 * 1024 * 1024);
    fs.writeFileSync(join(dir, "up.bin"), body);
    const r = await run([
      "curl",
      "--http1.1",
      "-sS",
      "-v",
      "-H",
      "Host: example.com",
      "-H",
      "Expect: 100-continue",
      "--expect100-timeout",
      "30",
      "--data-binary",
      `@${join(dir, "up.bin")}`,
      `${url}/echo`,
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toContain("HTTP/1.1 100 Continue");
    expect(sha256(r.out)).toBe(sha256(body));
    expect(seen[0]?.head.fields.some(([n]) => n === "expect")).toBe(false);
  });

  test("a 103 Early Hints interim head reaches curl before the final response", async () => {
    const { url } = await appBridge();
    const r = await run(["curl", "--http1.1", "-sS", "-i", "-H", "Host: example.com", `${url}/hints`]);
    expect(r.code).toBe(0);
    const text = r.out.toString("latin1");
    expect(text).toMatch(
      /^HTTP\/1\.1 103 Early Hints\r\nlink: <\/s\.css>; rel=preload\r\n\r\nHTTP\/1\.1 200 OK\r\n/,
    );
    expect(text.endsWith("hinted")).toBe(true);
  });

  test("an HTTP/1.0 client gets a close-delimited body, no interim heads, and the connection closed", async () => {
    const { url } = await appBridge();
    const r = await run(["curl", "--http1.0", "-sS", "-i", "-H", "Host: example.com", `${url}/hints`]);
    expect(r.code).toBe(0);
    const text = r.out.toString("latin1");
    expect(text.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
    expect(text).toContain("connection: close\r\n");
    expect(text).not.toContain("transfer-encoding");
    expect(text.endsWith("\r\n\r\nhinted")).toBe(true);
  });
});

describe("client side over HTTP/1.1: raw bytes", () => {
  test("three pipelined requests in one write are answered in request order, even when answered out of order", async () => {
    const held: Responder[] = [];
    const dispatcher = scriptedDispatcher({
      onEnd(_s, r) {
        held.push(r);
        if (held.length < 3) return;
        for (const [i, resp] of [...held.entries()].reverse()) {
          const text = new TextEncoder().encode(`response-${i}`);
          const out = resp.head(200, [["content-length", String(text.length)]], false);
          out.write(text);
          out.end(null);
        }
      },
    });
    const bridge = await startBridge(dispatcher);
    cleanups.push(() => bridge.close());
    const req = (p: string) => `GET ${p} HTTP/1.1\r\n${HOST}\r\n`;
    const bytes = await rawExchange(
      bridge.port,
      `${req("/0")}${req("/1")}GET /2 HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    );
    const res = splitResponses(bytes, ["GET", "GET", "GET"]);
    expect(res.map((r) => r.body.toString())).toEqual(["response-0", "response-1", "response-2"]);
    expect(res[2]?.head).toContain("connection: close");
    expect(bridge.statuses).toEqual([200, 200, 200]);
  });

  test("HEAD, 204 and 304 carry no body: a pipelined GET after them parses cleanly", async () => {
    const { bridge } = await appBridge();
    const raw =
      `HEAD /status/200 HTTP/1.1\r\n${HOST}\r\n` +
      `GET /status/204 HTTP/1.1\r\n${HOST}\r\n` +
      `GET /status/304 HTTP/1.1\r\n${HOST}\r\n` +
      `GET /last HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`;
    const res = splitResponses(await rawExchange(bridge.port, raw), ["HEAD", "GET", "GET", "GET"]);
    expect(res.map((r) => r.status)).toEqual([200, 204, 304, 200]);
    expect(res[0]?.head).toContain("content-length: 1000");
    expect(res[1]?.head).not.toContain("content-length");
    expect(res[2]?.head).toContain("content-length: 1000");
    expect(res[3]?.body.toString()).toBe("ok:/last");
  });

  test("a chunked upload with trailers reaches the dispatcher whole, trailers lowercased", async () => {
    const { bridge, seen } = await appBridge();
    const raw =
      `POST /echo HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\nConnection: close\r\n\r\n` +
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: abc\r\n\r\n";
    const res = splitResponses(await rawExchange(bridge.port, raw), ["POST"]);
    expect(res[0]?.body.toString()).toBe("hello world");
    expect(res[0]?.head).toContain("transfer-encoding: chunked");
    expect(seen[0]?.head.bodyLength).toBe(-1);
    expect(seen[0]?.trailers).toEqual([["x-sum", "abc"]]);
    expect(seen[0]?.head.fields).toEqual([["trailer", "X-Sum"]]);
  });

  test("the response trailers go in the last chunk", async () => {
    const { bridge } = await appBridge();
    const raw = `POST /echo HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\nX-T: 1\r\n\r\n`;
    const text = (await rawExchange(bridge.port, raw)).toString("latin1");
    expect(text.endsWith("\r\n\r\n2\r\nhi\r\n0\r\necho-x-t: 1\r\n\r\n")).toBe(true);
  });

  test("Expect: 100-continue from a raw client: 100 first, then the body is read and answered", async () => {
    const { bridge } = await appBridge();
    const s = net.connect({ host: "127.0.0.1", port: bridge.port });
    cleanups.push(() => {
      s.destroy();
    });
    const got: Buffer[] = [];
    s.on("data", (d: Buffer) => got.push(d));
    s.write(
      `POST /echo HTTP/1.1\r\n${HOST}Content-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    await waitUntil(() => Buffer.concat(got).includes("\r\n\r\n"), "100 Continue");
    expect(Buffer.concat(got).toString("latin1").startsWith("HTTP/1.1 100 Continue\r\n\r\n")).toBe(true);
    s.write("ping");
    await new Promise<void>((r) => s.once("close", () => r()));
    const res = splitResponses(Buffer.concat(got), ["POST", "POST"]);
    expect(res.map((r) => r.status)).toEqual([100, 200]);
    expect(res[1]?.body.toString()).toBe("ping");
  });

  test("Host naming another origin, another port, or an absolute-form target elsewhere is 421; http:// 400; CONNECT 405; nothing is dispatched", async () => {
    const { bridge, seen } = await appBridge();
    const cases: [string, number][] = [
      ["GET / HTTP/1.1\r\nHost: other.test\r\n\r\n", 421],
      ["GET / HTTP/1.1\r\nHost: example.com:8443\r\n\r\n", 421],
      ["GET https://other.test/ HTTP/1.1\r\nHost: example.com\r\n\r\n", 421],
      ["GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", 400], // http:// inside TLS
      ["CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405],
    ];
    for (const [raw, status] of cases) {
      const text = (await rawExchange(bridge.port, raw)).toString("latin1");
      expect(text.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      expect(text).toContain("Connection: close\r\n");
    }
    expect(seen).toHaveLength(0);
    const ok = await rawExchange(
      bridge.port,
      `GET https://example.com/abs?q=1 HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    );
    expect(ok.toString("latin1")).toContain("ok:/abs?q=1");
  });

  test("every malformed or smuggling request head is refused with its status and Connection: close; nothing is dispatched", async () => {
    const { bridge, seen } = await appBridge();
    expect(REFUSED_HEADS.length).toBeGreaterThan(50);
    for (const c of REFUSED_HEADS) {
      const text = (await rawExchange(bridge.port, c.raw)).toString("latin1");
      const status = c.status ?? 400;
      if (!text.startsWith(`HTTP/1.1 ${status} `))
        throw new Error(`${c.name}: got ${JSON.stringify(text.slice(0, 40))}`);
      expect(text).toContain("Connection: close\r\n");
    }
    expect(seen.map((s) => s.head.path)).toEqual([]);
  });

  test("a malformed request body that came with its head is refused before anything is dispatched", async () => {
    const { bridge, seen } = await appBridge();
    expect(REFUSED_BODIES.length).toBeGreaterThan(3);
    for (const c of REFUSED_BODIES) {
      const raw = c.raw.replace(/^(POST|PUT|GET) \/[^ ]* /, "$1 /sink ");
      const text = (await rawExchange(bridge.port, raw, true)).toString("latin1");
      expect(text.startsWith("HTTP/1.1 400 ")).toBe(true);
    }
    expect(seen.length).toBe(0);
  });

  test("a request body that turns malformed (or is cut) after dispatch: the sink is aborted, never ended", async () => {
    const { bridge, seen } = await appBridge();
    for (const c of REFUSED_BODIES) {
      const raw = c.raw.replace(/^(POST|PUT|GET) \/[^ ]* /, "$1 /sink ");
      const end = raw.indexOf("\r\n\r\n") + 4;
      const before = seen.length;
      const s = net.connect({ host: "127.0.0.1", port: bridge.port });
      s.on("error", () => {});
      let text = "";
      s.on("data", (d: Buffer) => {
        text += d.toString("latin1");
      });
      const closed = new Promise((r) => s.on("close", r));
      s.write(Buffer.from(raw.slice(0, end), "latin1"));
      await waitUntil(() => seen.length > before, `${c.name}: dispatched`);
      s.write(Buffer.from(raw.slice(end), "latin1"));
      s.end();
      await closed;
      expect(text.startsWith("HTTP/1.1 400 ")).toBe(true);
    }
    expect(seen.length).toBe(REFUSED_BODIES.length);
    for (const s of seen) {
      expect(s.ended).toBe(false);
      expect(s.aborted).toBeInstanceOf(ProxyError);
    }
  });

  test("a failure before the head is an error status; after it the connection is cut without a last chunk", async () => {
    let mode: "before" | "after" = "before";
    const dispatcher = scriptedDispatcher({
      onEnd(_s, r) {
        if (mode === "before") {
          r.fail(new ProxyError("UPSTREAM_UNREACHABLE", "origin refused"));
          return;
        }
        const out = r.head(200, [], false);
        out.write(new TextEncoder().encode("partial"));
        out.abort(new ProxyError("UPSTREAM_TRUNCATED", "origin died"));
      },
    });
    const bridge = await startBridge(dispatcher);
    cleanups.push(() => bridge.close());
    const before = (
      await rawExchange(
        bridge.port,
        `GET / HTTP/1.1\r\n${HOST}\r\nGET /next HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
      )
    ).toString("latin1");
    expect(before.startsWith("HTTP/1.1 502 Bad Gateway\r\n")).toBe(true);
    expect(before).toContain("UPSTREAM_UNREACHABLE");
    mode = "after";
    const r = await run([
      "curl",
      "--http1.1",
      "-sS",
      "-H",
      "Host: example.com",
      `http://127.0.0.1:${bridge.port}/`,
    ]);
    expect(r.code).not.toBe(0);
    const raw = (await rawExchange(bridge.port, `GET / HTTP/1.1\r\n${HOST}\r\n`)).toString("latin1");
    expect(raw).toContain("7\r\npartial\r\n");
    expect(raw).not.toContain("0\r\n\r\n");
    expect(bridge.statuses).toContain(0);
  });
});

describe("client side over HTTP/1.1: bounds", () => {
  test("at most PIPELINE_DEPTH requests are outstanding; each answer lets one more in, all answered in order", async () => {
    const held: Responder[] = [];
    const dispatcher = scriptedDispatcher({ onEnd: (_s, r) => held.push(r) });
    const bridge = await startBridge(dispatcher);
    cleanups.push(() => bridge.close());
    const n = 40;
    let raw = "";
    for (let i = 0; i < n; i++)
      raw += `GET /${i} HTTP/1.1\r\n${HOST}${i === n - 1 ? "Connection: close\r\n" : ""}\r\n`;
    const done = rawExchange(bridge.port, raw);
    await waitUntil(() => held.length === PIPELINE_DEPTH, "the pipeline fills");
    const answer = (i: number) => {
      const text = new TextEncoder().encode(`r${i}`);
      const out = held[i]?.head(200, [["content-length", String(text.length)]], false);
      out?.write(text);
      out?.end(null);
    };
    answer(0);
    await waitUntil(() => held.length === PIPELINE_DEPTH + 1, "one more request read");
    expect(held.length).toBe(PIPELINE_DEPTH + 1);
    for (let i = 1; i < n; i++) {
      await waitUntil(() => held.length > i, `request ${i} dispatched`);
      answer(i);
    }
    const res = splitResponses(await done, new Array(n).fill("GET"));
    expect(res.map((r) => r.body.toString())).toEqual(Array.from({ length: n }, (_, i) => `r${i}`));
  });

  test("a request sink saying false pauses the upload until its onDrain; the body still arrives whole", async () => {
    let sink: (BodySink & { got: Buffer[]; sinceFalse: number; blocked: boolean }) | null = null;
    const dispatcher = scriptedDispatcher({
      onHead(seen, r) {
        const s = {
          got: [] as Buffer[],
          sinceFalse: 0,
          blocked: false,
          write(c: Uint8Array) {
            s.got.push(Buffer.from(c));
            if (s.blocked) s.sinceFalse += c.length;
            s.blocked = true;
            return false;
          },
          end() {
            seen.ended = true;
            const body = Buffer.concat(s.got);
            const out = r.head(200, [["content-length", "64"]], false);
            out.write(new TextEncoder().encode(sha256(body)));
            out.end(null);
          },
          abort() {},
          onDrain: null as (() => void) | null,
        };
        sink = s;
        return s;
      },
    });
    const bridge = await startBridge(dispatcher);
    cleanups.push(() => bridge.close());
    const body = patternBytes(4 * 1024 * 1024);
    const reply = rawExchange(
      bridge.port,
      Buffer.concat([
        Buffer.from(
          `POST /up HTTP/1.1\r\n${HOST}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        ),
        body,
      ]),
    );
    await waitUntil(() => sink !== null && sink.got.length > 0, "first body bytes");
    await Bun.sleep(50); // let the client push more: none of it may reach the sink before onDrain
    const s = sink as unknown as {
      got: Buffer[];
      sinceFalse: number;
      blocked: boolean;
      onDrain: (() => void) | null;
    };
    expect(s.sinceFalse).toBeLessThanOrEqual(64 * 1024);
    const received = () => s.got.reduce((a, b) => a + b.length, 0);
    for (let i = 0; i < 100_000 && received() < body.length; i++) {
      s.blocked = false;
      s.sinceFalse = 0;
      s.onDrain?.();
      await Bun.sleep(0);
      expect(s.sinceFalse).toBeLessThanOrEqual(64 * 1024);
    }
    const text = (await reply).toString("latin1");
    expect(text.endsWith(sha256(body))).toBe(true);
  });
});

/** A raw TCP origin: `script` gets each connection and the bytes read so far. */
async function rawOrigin(script: (s: net.Socket, got: Buffer[]) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    const got: Buffer[] = [];
    s.on("data", (d: Buffer) => got.push(d));
    script(s, got);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

/** Runs `f` once `got` holds a complete request head (and `extra` more bytes after it). */
function onRequest(s: net.Socket, got: Buffer[], f: (all: Buffer) => void, until = "\r\n\r\n"): void {
  const check = () => {
    const all = Buffer.concat(got);
    if (all.includes(until)) {
      s.off("data", check);
      f(all);
    }
  };
  s.on("data", check);
}

async function upstreamTo(port: number): Promise<UpstreamH1> {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await new Promise<void>((r) => socket.once("connect", () => r()));
  const conn = new UpstreamH1(socketEndpoint(socket));
  cleanups.push(() => conn.close());
  return conn;
}

function get(
  conn: UpstreamH1,
  target: string,
  fields: [string, string][] = [["Host", "example.com"]],
  method = "GET",
) {
  const rec = recorder();
  conn.request({ method, target, fields, hasBody: false, bodyLength: null }, rec.responder, { attach() {} });
  return rec.done;
}

function post(
  conn: UpstreamH1,
  target: string,
  body: Uint8Array,
  opts: { chunked?: boolean; trailers?: [string, string][]; fields?: [string, string][] } = {},
) {
  const rec = recorder();
  const fields = opts.fields ?? [["Host", "example.com"]];
  conn.request(
    { method: "POST", target, fields, hasBody: true, bodyLength: opts.chunked ? -1 : body.length },
    rec.responder,
    {
      attach(sink) {
        let off = 0;
        const pump = () => {
          while (off < body.length) {
            const c = body.subarray(off, off + 100_000);
            off += c.length;
            if (!sink.write(c)) return;
          }
          sink.end(opts.trailers ?? null);
        };
        sink.onDrain = pump;
        pump();
      },
    },
  );
  return rec.done;
}

const field = (r: Recorded, name: string) => r.fields.find(([n]) => n === name)?.[1];

describe("upstream side over HTTP/1.1: exact bytes (raw origin)", () => {
  test("the head is written exactly as given (order, case); no framing field is added without a body", async () => {
    let head = "";
    const port = await rawOrigin((s, got) =>
      onRequest(s, got, (all) => {
        head = all.toString("latin1");
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }),
    );
    const conn = await upstreamTo(port);
    const r = await get(conn, "/p?q=1", [
      ["Host", "example.com"],
      ["sec-ch-ua", '"Chromium";v="130"'],
      ["User-Agent", "UA/1"],
      ["accept", "*/*"],
      ["X-Mixed-CASE", "v"],
    ]);
    expect(head).toBe(
      'GET /p?q=1 HTTP/1.1\r\nHost: example.com\r\nsec-ch-ua: "Chromium";v="130"\r\nUser-Agent: UA/1\r\naccept: */*\r\nX-Mixed-CASE: v\r\n\r\n',
    );
    expect(r.outcome).toBe("end");
    expect(r.body.toString()).toBe("ok");
    expect(r.fields).toEqual([["content-length", "2"]]);
  });

  test("a body of unknown length goes chunked (Transfer-Encoding added last) with trailers in the last chunk; a known one gets Content-Length", async () => {
    const heads: string[] = [];
    const port = await rawOrigin((s, got) => {
      const next = () =>
        onRequest(
          s,
          got,
          (all) => {
            heads.push(all.toString("latin1"));
            got.length = 0;
            s.write("HTTP/1.1 204 No Content\r\n\r\n");
            next();
          },
          heads.length === 0 ? "0\r\nx-t: 1\r\n\r\n" : "hello",
        );
      next();
    });
    const conn = await upstreamTo(port);
    const r1 = await post(conn, "/up", new TextEncoder().encode("hello"), {
      chunked: true,
      trailers: [["x-t", "1"]],
    });
    expect(r1.status).toBe(204);
    expect(heads[0]).toBe(
      "POST /up HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n",
    );
    await waitUntil(() => !conn.busy, "connection idle");
    const r2 = await post(conn, "/up", new TextEncoder().encode("hello"));
    expect(r2.status).toBe(204);
    expect(heads[1]).toBe("POST /up HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello");
  });

  test("framing fields that contradict the body, or values HTTP/1.1 cannot carry, are refused before anything is sent", async () => {
    const port = await rawOrigin(() => {});
    const conn = await upstreamTo(port);
    const bad = recorder();
    conn.request(
      {
        method: "POST",
        target: "/",
        fields: [
          ["Host", "a"],
          ["Content-Length", "9"],
        ],
        hasBody: true,
        bodyLength: 5,
      },
      bad.responder,
      { attach() {} },
    );
    expect((await bad.done).error?.code).toBe("HTTP_BAD_REQUEST");
    const crlf = await get(conn, "/", [
      ["Host", "a"],
      ["X-Evil", "a\r\nInjected: 1"],
    ]);
    expect(crlf.outcome).toBe("fail");
    const te = recorder();
    conn.request(
      {
        method: "GET",
        target: "/",
        fields: [
          ["Host", "a"],
          ["Transfer-Encoding", "chunked"],
        ],
        hasBody: false,
        bodyLength: null,
      },
      te.responder,
      { attach() {} },
    );
    expect((await te.done).outcome).toBe("fail");
    expect(conn.usable).toBe(true);
    expect(conn.busy).toBe(false);
  });

  test("a close-delimited body ends cleanly at EOF; with both Transfer-Encoding and Content-Length the latter is dropped", async () => {
    const port = await rawOrigin((s, got) =>
      onRequest(s, got, (all) => {
        if (all.includes("/close")) s.end("HTTP/1.1 200 OK\r\n\r\nuntil-close");
        else
          s.write(
            "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
          );
      }),
    );
    const closeDelimited = await get(await upstreamTo(port), "/close");
    expect(closeDelimited.outcome).toBe("end");
    expect(closeDelimited.body.toString()).toBe("until-close");
    const conn = await upstreamTo(port);
    const both = await get(conn, "/both");
    expect(both.body.toString()).toBe("hi");
    expect(field(both, "content-length")).toBeUndefined();
    expect(conn.usable).toBe(false);
  });

  test("an upstream dying mid-body, or before answering, is a truncation, never a clean end", async () => {
    const port = await rawOrigin((s, got) =>
      onRequest(s, got, (all) => {
        if (all.includes("/cl")) s.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
        else if (all.includes("/chunked"))
          s.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        else if (all.includes("/reset")) {
          s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
          setTimeout(() => s.resetAndDestroy(), 10);
        } else s.end();
      }),
    );
    for (const path of ["/cl", "/chunked", "/reset"]) {
      const r = await get(await upstreamTo(port), path);
      expect(r.outcome).toBe("abort");
      expect(r.error?.code).toBe("UPSTREAM_TRUNCATED");
    }
    const none = await get(await upstreamTo(port), "/nothing");
    expect(none.outcome).toBe("fail");
    expect(none.error?.code).toBe("UPSTREAM_TRUNCATED");
  });

  test("malformed responses and transfer codings other than chunked fail the exchange (HTTP_PROTOCOL)", async () => {
    const port = await rawOrigin((s, got) =>
      onRequest(s, got, (all) => {
        if (all.includes("/gzip"))
          s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
        else if (all.includes("/cl2"))
          s.write("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
        else s.write("HTTP/1.1 200 OK\nX: y\n\n");
      }),
    );
    for (const path of ["/gzip", "/cl2", "/bare-lf"]) {
      const conn = await upstreamTo(port);
      const r = await get(conn, path);
      expect(r.outcome).toBe("fail");
      expect(r.error?.code).toBe("HTTP_PROTOCOL");
      expect(conn.usable).toBe(false);
    }
  });
});

/** The same behaviour against two node:http servers that are not ours. */
for (const [name, start] of [
  ["a Node.js 20 child process", startNodeOrigin],
  [
    "Bun's node:http server",
    async () => {
      const o = await startOrigin();
      return { port: o.port, stop: async () => o.close() };
    },
  ],
] as const) {
  describe(`upstream side over HTTP/1.1 against ${name}`, () => {
    async function origin(): Promise<number> {
      const o = await start();
      cleanups.push(() => o.stop());
      return o.port;
    }

    test("raw header lines arrive in the order and case given", async () => {
      const conn = await upstreamTo(await origin());
      const fields: [string, string][] = [
        ["Host", "example.com"],
        ["Connection", "keep-alive"],
        ["sec-ch-ua-mobile", "?0"],
        ["User-Agent", "UA"],
        ["Accept-Language", "en"],
      ];
      const r = await get(conn, "/raw-headers", fields);
      expect(JSON.parse(r.body.toString())).toEqual(fields.flat());
    });

    test("Content-Length, chunked and trailer bodies both ways, checksummed", async () => {
      const conn = await upstreamTo(await origin());
      for (const n of [0, 1, 65536, 1_000_000]) {
        const body = patternBytes(n);
        const cl = await post(conn, "/echo", body);
        expect(cl.outcome).toBe("end");
        expect(cl.status).toBe(200);
        expect(field(cl, "content-length")).toBe(String(n));
        expect(sha256(cl.body)).toBe(sha256(body));
        const chunked = await post(conn, "/echo", body, {
          chunked: true,
          trailers: [["x-up", "1"]],
          fields: [
            ["Host", "example.com"],
            ["x-want-trailers", "1"],
          ],
        });
        expect(chunked.outcome).toBe("end");
        expect(field(chunked, "x-req-sum")).toBe(sha256(body));
        expect(JSON.parse(field(chunked, "x-req-trailers") ?? "{}")).toEqual({ "x-up": "1" });
        expect(sha256(chunked.body)).toBe(sha256(body));
        expect(chunked.trailers).toEqual([["x-sum", sha256(body)]]);
        const down = await get(conn, `/bytes/${n}`);
        expect(sha256(down.body)).toBe(sha256(body));
      }
    });

    test("interim 103 and 100 heads reach the responder before the final one", async () => {
      const conn = await upstreamTo(await origin());
      const hints = await get(conn, "/hints");
      expect(hints.interim.map(([s]) => s)).toEqual([103]);
      expect(hints.interim[0]?.[1]).toContainEqual(["link", "</style.css>; rel=preload; as=style"]);
      expect(hints.body.toString()).toBe("hinted");
      const cont = await get(conn, "/continue");
      expect(cont.interim.map(([s]) => s)).toEqual([100]);
      expect(cont.body.toString()).toBe("done");
    });

    test("keep-alive: one connection carries sequential requests; Connection: close makes it unusable", async () => {
      const conn = await upstreamTo(await origin());
      let idle = 0;
      conn.onIdle = () => idle++;
      const a = await get(conn, "/peer");
      await waitUntil(() => !conn.busy, "idle after the first response");
      const b = await get(conn, "/peer");
      expect(a.body.toString()).toBe(b.body.toString());
      await waitUntil(() => idle === 2, "onIdle after each exchange");
      expect(conn.usable).toBe(true);
      let gone = false;
      conn.onGone = () => {
        gone = true;
      };
      const c = await get(conn, "/close");
      expect(c.body.toString()).toBe("closed");
      await waitUntil(() => gone, "onGone after Connection: close");
      expect(conn.usable).toBe(false);
    });

    test("HEAD gets no body even with a Content-Length", async () => {
      const conn = await upstreamTo(await origin());
      const r = await get(conn, "/bytes/500?cl=1", [["Host", "example.com"]], "HEAD");
      expect(r.status).toBe(200);
      expect(field(r, "content-length")).toBe("500");
      expect(r.body.length).toBe(0);
      await waitUntil(() => !conn.busy, "idle after HEAD");
      expect((await get(conn, "/peer")).status).toBe(200);
    });

    test("dying mid-body aborts the response sink with UPSTREAM_TRUNCATED", async () => {
      const port = await origin();
      for (const path of ["/die", "/die-chunked"]) {
        const r = await get(await upstreamTo(port), path);
        expect(r.outcome).toBe("abort");
        expect(r.error?.code).toBe("UPSTREAM_TRUNCATED");
      }
    });
  });
}

describe("both HTTP/1.1 adapters end to end (client → serveClientH1 → UpstreamH1 → Node.js origin)", () => {
  async function chain(target?: (port: number) => string) {
    const o = await startNodeOrigin();
    cleanups.push(() => o.stop());
    const dispatcher = forwardingDispatcher(o.port);
    cleanups.push(() => dispatcher.close());
    const bridge = await startBridge(dispatcher, target);
    cleanups.push(() => bridge.close());
    return { dispatcher, bridge, url: `http://127.0.0.1:${bridge.port}` };
  }

  test("curl's keep-alive requests share one pooled upstream connection; 103 passes through", async () => {
    const { dispatcher, url } = await chain();
    const r = await run([
      "curl",
      "--http1.1",
      "-sS",
      "-H",
      "Host: example.com",
      `${url}/peer`,
      `${url}/peer`,
      `${url}/peer`,
    ]);
    expect(r.code).toBe(0);
    const text = r.out.toString();
    expect(text).toMatch(/^[0-9]+$/);
    expect(text).toBe(text.slice(0, text.length / 3).repeat(3));
    expect(dispatcher.opened).toBe(1);
    const hints = await run(["curl", "--http1.1", "-sS", "-i", "-H", "Host: example.com", `${url}/hints`]);
    expect(hints.out.toString("latin1")).toMatch(
      /^HTTP\/1\.1 103 Early Hints\r\nlink: <\/style\.css>; rel=preload; as=style\r\n\r\nHTTP\/1\.1 200 OK\r\n/,
    );
  });

  test("20 MiB up (Content-Length and chunked) and down (chunked and Content-Length), checksummed", async () => {
    const { url } = await chain();
    const dir = fs.mkdtempSync(join(os.tmpdir(), "polytls-bridge-h1-"));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const big = patternBytes(20 * 1024 * 1024);
    const sum = sha256(big);
    fs.writeFileSync(join(dir, "up.bin"), big);
    const curl = (...args: string[]) =>
      run([
        "curl",
        "--http1.1",
        "-sS",
        "-H",
        "Host: example.com",
        "-D",
        "-",
        "-o",
        join(dir, "out.bin"),
        ...args,
      ]);
    for (const extra of [[], ["-H", "Transfer-Encoding: chunked"]]) {
      const up = await curl(...extra, "--data-binary", `@${join(dir, "up.bin")}`, `${url}/echo`);
      expect(up.code).toBe(0);
      expect(up.out.toString()).toContain(`x-req-sum: ${sum}`);
      expect(sha256(fs.readFileSync(join(dir, "out.bin")))).toBe(sum);
    }
    for (const q of ["", "?cl=1"]) {
      const down = await curl(`${url}/bytes/${big.length}${q}`);
      expect(down.code).toBe(0);
      expect(down.out.toString()).toContain(
        q ? `content-length: ${big.length}` : "transfer-encoding: chunked",
      );
      expect(sha256(fs.readFileSync(join(dir, "out.bin")))).toBe(sum);
    }
  });

  test("an origin dying mid-body reaches the client as a truncation (no last chunk, short body, connection cut)", async () => {
    const { url, bridge } = await chain();
    const cl = await run(["curl", "--http1.1", "-sS", "-H", "Host: example.com", `${url}/die`]);
    expect(cl.code).not.toBe(0);
    expect(cl.out.length).toBeLessThan(100_000);
    const raw = (await rawExchange(bridge.port, `GET /die-chunked HTTP/1.1\r\n${HOST}\r\n`)).toString(
      "latin1",
    );
    expect(raw.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
    expect(raw).toContain("transfer-encoding: chunked");
    expect(raw.endsWith("0\r\n\r\n")).toBe(false);
    expect(bridge.statuses).toContain(0);
  });

  test("a WebSocket (Bun's client) is switched with 101 and its frames relayed both ways", async () => {
    const { bridge } = await chain((port) => `127.0.0.1:${port}`);
    const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/ws`);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => {
        ws.send("hello");
        ws.send("x".repeat(5000));
      };
      ws.onmessage = (m) => {
        got.push(String(m.data));
        if (got.length === 2) ws.close(1000, "done");
      };
      ws.onclose = () => resolve();
      ws.onerror = () => reject(new Error("websocket error"));
    });
    expect(got).toEqual(["hello", "x".repeat(5000)]);
    expect(bridge.statuses).toContain(101);
  });
});

describe("backpressure does not outlive its message", () => {
  /** A sink that says false to every write and wakes its producer only while the body is open. */
  function stingySink(onEnd: (body: Buffer) => void): BodySink {
    const chunks: Buffer[] = [];
    let ended = false;
    const sink: BodySink = {
      write(c) {
        chunks.push(Buffer.from(c));
        queueMicrotask(() => {
          if (!ended) sink.onDrain?.();
        });
        return false;
      },
      end() {
        ended = true;
        onEnd(Buffer.concat(chunks));
      },
      abort() {},
      onDrain: null,
    };
    return sink;
  }

  test("client side: a request body ending on a `false` does not stall the next request's body", async () => {
    const dispatcher = scriptedDispatcher({
      onHead: (_seen, r) =>
        stingySink((body) => {
          const out = r.head(200, [["content-length", String(body.length)]], false);
          out.write(body);
          out.end(null);
        }),
    });
    const bridge = await startBridge(dispatcher);
    cleanups.push(() => bridge.close());
    const s = net.connect({ host: "127.0.0.1", port: bridge.port });
    cleanups.push(() => {
      s.destroy();
    });
    const got: Buffer[] = [];
    s.on("data", (d: Buffer) => got.push(d));
    s.write(`POST /1 HTTP/1.1\r\n${HOST}Content-Length: 3\r\n\r\none`);
    await waitUntil(() => Buffer.concat(got).toString().endsWith("one"), "first response");
    s.write(`POST /2 HTTP/1.1\r\n${HOST}Content-Length: 3\r\nConnection: close\r\n\r\ntwo`);
    await new Promise<void>((r) => s.once("close", () => r()));
    expect(splitResponses(Buffer.concat(got), ["POST", "POST"]).map((r) => r.body.toString())).toEqual([
      "one",
      "two",
    ]);
  });

  test("upstream side: a response ending on a `false` does not stall the next response on the connection", async () => {
    const port = await rawOrigin((s, got) => {
      let served = 0;
      s.on("data", () => {
        const requests = Buffer.concat(got).toString("latin1").split("\r\n\r\n").length - 1;
        for (; served < requests; served++)
          s.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nbody${served}`);
      });
    });
    const conn = await upstreamTo(port);
    for (let i = 0; i < 2; i++) {
      const body = await new Promise<Buffer>((resolve) => {
        conn.request(
          {
            method: "GET",
            target: `/${i}`,
            fields: [["Host", "example.com"]],
            hasBody: false,
            bodyLength: null,
          },
          { interim() {}, head: () => stingySink(resolve), fail: () => resolve(Buffer.from("failed")) },
          { attach() {} },
        );
      });
      expect(body.toString()).toBe(`body${i}`);
      await waitUntil(() => !conn.busy, "idle");
    }
  });
});

describe("client side over HTTP/1.1: protocol switch", () => {
  const UPGRADE = `GET /ws HTTP/1.1\r\n${HOST}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`;

  test("a 101 turns the connection into a byte relay, bytes sent right after the request included", async () => {
    const dispatcher = scriptedDispatcher({
      onEnd(_seen, r) {
        if (!canUpgrade(r)) throw new Error("the HTTP/1.1 responder must offer upgrade");
        let toClient: ByteSink | null = null;
        const toUpstream: ByteSink = {
          write: (c) =>
            toClient?.write(new TextEncoder().encode(new TextDecoder().decode(c).toUpperCase())) ?? true,
          end: () => toClient?.end(),
          abort: () => {},
          onDrain: null,
        };
        toClient = r.upgrade(
          [
            ["upgrade", "websocket"],
            ["connection", "Upgrade"],
            ["x-a", "1"],
          ],
          toUpstream,
        );
      },
    });
    const bridge = await startBridge(dispatcher);
    cleanups.push(() => bridge.close());
    const text = (await rawExchange(bridge.port, `${UPGRADE}early bytes`, true)).toString("latin1");
    expect(text).toBe(
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nx-a: 1\r\n\r\nEARLY BYTES",
    );
    const fields = dispatcher.seen[0]?.head.fields ?? [];
    expect(fields).toEqual([
      ["connection", "Upgrade"],
      ["upgrade", "websocket"],
      ["sec-websocket-version", "13"],
    ]);
    expect(bridge.statuses).toEqual([101]);
  });

  test("an upgrade the origin declines leaves an ordinary HTTP/1.1 connection", async () => {
    const { bridge } = await appBridge();
    const raw = `${UPGRADE}GET /after HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`;
    const res = splitResponses(await rawExchange(bridge.port, raw), ["GET", "GET"]);
    expect(res.map((r) => r.body.toString())).toEqual(["ok:/ws", "ok:/after"]);
  });
});
