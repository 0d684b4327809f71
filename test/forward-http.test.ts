/**
 * Plain HTTP proxying with real clients (curl, python3 urllib, Bun fetch, a Node 20 child) through
 * the running proxy to origins that are not ours (node:http under Node 20 and under Bun): GET and
 * POST, keep-alive on both sides, several origins on one client connection, and the profile's
 * HTTP/1.1 headers (order, case, identity fields) as the origin sees them.
 */
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "bun:test";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CHROME,
  FIREFOX,
  type ForwardEnv,
  type ForwardProxy,
  headerValue,
  names,
  rawExchange,
  rawSequence,
  records,
  startForwardEnv,
} from "./helpers/forward-env.ts";
import { run } from "./helpers/hop-env.ts";
import { removeTempTree } from "./helpers/temp-tree.ts";
import { LineReader, waitUntil } from "./helpers/wait.ts";

/** Chrome 143's HTTP/1.1 navigation as the profile describes it (profiles/chrome-143-macos-arm64.toml). */
const CHROME_NAVIGATE = [
  "Host",
  "Connection",
  "sec-ch-ua",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
  "Upgrade-Insecure-Requests",
  "User-Agent",
  "Accept",
  "Sec-Fetch-Site",
  "Sec-Fetch-Mode",
  "Sec-Fetch-User",
  "Sec-Fetch-Dest",
  "Accept-Encoding",
  "Accept-Language",
];
/** Firefox 145's (h1_order in profiles/firefox-145-macos-arm64.toml: Connection after Sec-GPC). */
const FIREFOX_NAVIGATE = [
  "Host",
  "User-Agent",
  "Accept",
  "Accept-Language",
  "Accept-Encoding",
  "Sec-GPC",
  "Connection",
  "Upgrade-Insecure-Requests",
  "Sec-Fetch-Dest",
  "Sec-Fetch-Mode",
  "Sec-Fetch-Site",
  "Sec-Fetch-User",
  "Priority",
];

let env: ForwardEnv;
let p: ForwardProxy;

beforeAll(async () => {
  env = await startForwardEnv();
  p = await env.polytls();
});
afterAll(async () => {
  await env.close();
});

const proxyUrl = () => `http://127.0.0.1:${p.port}`;

async function curl(args: string[]) {
  const ran = await run("curl", ["-sS", "--max-time", "20", "-w", "\n%{http_code}", ...args]);
  const cut = ran.stdout.lastIndexOf("\n");
  return { status: Number(ran.stdout.slice(cut + 1)), body: ran.stdout.slice(0, cut), ran };
}

/** The origin's record of the request whose path is `path` (exactly one). */
async function recordOf(origin: ForwardEnv["bun"], path: string) {
  const found = (await origin.records()).filter((r) => r.path === path);
  expect(found).toHaveLength(1);
  return found[0] as NonNullable<(typeof found)[number]>;
}

describe("curl -x", () => {
  test("GET: the origin sees Chrome's HTTP/1.1 navigation, Host first, nothing of curl or the proxy", async () => {
    const r = await curl(["-x", proxyUrl(), `http://127.0.0.1:${env.node.port}/get-1?q=a`]);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).path).toBe("/get-1?q=a");
    const rec = await recordOf(env.node, "/get-1?q=a");
    expect(names(rec.rawHeaders)).toEqual(CHROME_NAVIGATE);
    expect(headerValue(rec.rawHeaders, "host")).toBe(`127.0.0.1:${env.node.port}`);
    expect(headerValue(rec.rawHeaders, "user-agent")).toContain("Chrome/143.0.0.0");
    expect(headerValue(rec.rawHeaders, "connection")).toBe("keep-alive");
    // Over plain http a browser advertises neither br nor zstd.
    expect(headerValue(rec.rawHeaders, "accept-encoding")).toBe("gzip, deflate");
  });

  test("POST --data-binary: the body arrives whole, framed by Content-Length", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polytls-fwd-post-"));
    onTestFinished(() => removeTempTree(dir));
    const file = join(dir, "body.bin");
    const body = randomBytes(300_000);
    writeFileSync(file, body);
    const r = await curl([
      "-x",
      proxyUrl(),
      "--data-binary",
      `@${file}`,
      `http://127.0.0.1:${env.bun.port}/post-1`,
    ]);
    expect(r.status).toBe(200);
    const rec = await recordOf(env.bun, "/post-1");
    expect(rec.method).toBe("POST");
    expect(rec.bodyLength).toBe(body.length);
    expect(headerValue(rec.rawHeaders, "content-length")).toBe(String(body.length));
    expect(names(rec.rawHeaders)[0]).toBe("Host");
    // The browser's Origin for a POST, http:// here, and a same-origin Sec-Fetch-Site with it
    // (127.0.0.1 is potentially trustworthy: it keeps its Sec-Fetch-*).
    expect(headerValue(rec.rawHeaders, "origin")).toBe(`http://127.0.0.1:${env.bun.port}`);
    expect(headerValue(rec.rawHeaders, "sec-fetch-site")).toBe("same-origin");
  });

  test("two URLs on one command line: one client connection, one upstream connection", async () => {
    const before = records(p.logs).length;
    const r = await run("curl", [
      "-sS",
      "-v",
      "-x",
      proxyUrl(),
      `http://127.0.0.1:${env.node.port}/ka-1`,
      `http://127.0.0.1:${env.node.port}/ka-2`,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Re-using existing connection");
    const a = await recordOf(env.node, "/ka-1");
    const b = await recordOf(env.node, "/ka-2");
    expect(b.conn).toBe(a.conn);
    // One `tunnel closed` record for the connection, with both requests.
    const mine = () =>
      records(p.logs)
        .slice(before)
        .filter((x) => x.requests === 2);
    for (let i = 0; i < 100 && mine().length === 0; i++) await Bun.sleep(20);
    expect(mine()).toHaveLength(1);
    expect(mine()[0]).toMatchObject({
      mode: "forward",
      host: `127.0.0.1:${env.node.port}`,
      statuses: "200:2",
      profile: CHROME,
      errorCode: null,
    });
  });

  test("the profile in the proxy user name (curl -x http://firefox@…)", async () => {
    const r = await curl([
      "-x",
      `http://firefox@127.0.0.1:${p.port}`,
      `http://127.0.0.1:${env.bun.port}/user-1`,
    ]);
    expect(r.status).toBe(200);
    const rec = await recordOf(env.bun, "/user-1");
    expect(headerValue(rec.rawHeaders, "user-agent")).toContain("Firefox/");
    expect(headerValue(rec.rawHeaders, "proxy-authorization")).toBeUndefined();
  });
});

test("malformed Basic credentials choosing the profile are 400, sent nowhere; the connection goes on", async () => {
  const noColon = Buffer.from("firefox").toString("base64");
  const req = (path: string, auth: string, last = false) =>
    `GET http://127.0.0.1:${env.bun.port}${path} HTTP/1.1\r\nHost: x\r\nProxy-Authorization: ${auth}\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
  const text = await rawSequence(p.port, [
    { send: req("/basic-1", `Basic ${noColon}`), until: "the name selects the profile)\n" },
    { send: req("/basic-2", "Basic %%%"), until: "not base64 (" },
    {
      send: req("/basic-3", `Basic ${Buffer.from("firefox:x").toString("base64")}`, true),
      until: '"path":"/basic-3"',
    },
  ]);
  expect(text).toStartWith("HTTP/1.1 400 Bad Request\r\n");
  expect(text).toContain(
    "400 Bad Request: BAD_REQUEST: malformed Basic proxy credentials: no ':' after base64 decoding (expected the base64 of name:password; the name selects the profile)\n",
  );
  expect(text).toContain("400 Bad Request: BAD_REQUEST: malformed Basic proxy credentials: not base64 (");
  expect(text).toContain('"path":"/basic-3"');
  const sent = (await env.bun.records()).filter((r) => r.path.startsWith("/basic-"));
  expect(sent.map((r) => r.path)).toEqual(["/basic-3"]);
  expect(headerValue(sent[0]?.rawHeaders ?? [], "user-agent")).toContain("Firefox/");
});

test("one client connection, requests to two different origins (raw socket)", async () => {
  const req = (port: number, path: string, last = false) =>
    `GET http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
  const text = await rawSequence(p.port, [
    { send: req(env.bun.port, "/two-1"), until: '"path":"/two-1"' },
    { send: req(env.node.port, "/two-2"), until: '"path":"/two-2"' },
    { send: req(env.bun.port, "/two-3", true), until: '"path":"/two-3"' },
  ]);
  expect(text.match(/HTTP\/1\.1 200 /g)).toHaveLength(3);
  expect(text).toContain('"path":"/two-3"');
  await recordOf(env.node, "/two-2");
  const one = await recordOf(env.bun, "/two-1");
  const three = await recordOf(env.bun, "/two-3");
  expect(three.conn).toBe(one.conn); // the bun origin's connection was kept for the third request
});

test("X-PolyTLS-Request-Kind naming no kind is 400 (the header and the valid values), sent nowhere; the connection goes on", async () => {
  const req = (path: string, kind: string, last = false) =>
    `GET http://127.0.0.1:${env.bun.port}${path} HTTP/1.1\r\nHost: x\r\nX-PolyTLS-Request-Kind: ${kind}\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
  const text = await rawSequence(p.port, [
    { send: req("/kind-bogus", "bogus"), until: "websocket\n" },
    { send: req("/kind-ok", "image", true), until: '"path":"/kind-ok"' },
  ]);
  expect(text).toStartWith("HTTP/1.1 400 Bad Request\r\n");
  expect(text).toContain(
    '400 Bad Request: HTTP_BAD_REQUEST: X-PolyTLS-Request-Kind: unknown request kind "bogus"; valid values: navigate, fetch, xhr, image, script, style, favicon, websocket\n',
  );
  expect(text).toContain('"path":"/kind-ok"');
  expect((await env.bun.records()).filter((r) => r.path.startsWith("/kind-")).map((r) => r.path)).toEqual([
    "/kind-ok",
  ]);
  // The connection's line counts the proxy's own answer by its code.
  const mine = () => records(p.logs).filter((x) => x.statuses === "200:1,400:1");
  for (let i = 0; i < 100 && mine().length === 0; i++) await Bun.sleep(20);
  expect(mine().at(-1)).toMatchObject({ exchangeErrors: "HTTP_BAD_REQUEST:1" });
});

test("two profiles on one client connection get two upstream connections; each profile keeps its own", async () => {
  const req = (path: string, profile: string, last = false) =>
    `GET http://127.0.0.1:${env.node.port}${path} HTTP/1.1\r\nHost: x\r\nX-PolyTLS-Upstream-Profile: ${profile}\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
  const text = await rawSequence(p.port, [
    { send: req("/prof-1", CHROME), until: '"path":"/prof-1"' },
    { send: req("/prof-2", FIREFOX), until: '"path":"/prof-2"' },
    { send: req("/prof-3", CHROME), until: '"path":"/prof-3"' },
    { send: req("/prof-4", FIREFOX, true), until: '"path":"/prof-4"' },
  ]);
  expect(text.match(/HTTP\/1\.1 200 /g)).toHaveLength(4);
  const [one, two, three, four] = await Promise.all(
    ["/prof-1", "/prof-2", "/prof-3", "/prof-4"].map((path) => recordOf(env.node, path)),
  );
  expect(headerValue(one!.rawHeaders, "user-agent")).toContain("Chrome/");
  expect(headerValue(two!.rawHeaders, "user-agent")).toContain("Firefox/");
  expect(two!.conn).not.toBe(one!.conn);
  expect(three!.conn).toBe(one!.conn);
  expect(four!.conn).toBe(two!.conn);
});

test("pipelined requests to one origin are all answered, in order", async () => {
  const req = (path: string, last = false) =>
    `GET http://127.0.0.1:${env.node.port}${path} HTTP/1.1\r\nHost: x\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
  const r = await rawExchange(p.port, req("/pipe-1") + req("/pipe-2") + req("/pipe-3", true));
  const order = [...r.text.matchAll(/"path":"(\/pipe-\d)"/g)].map((m) => m[1]);
  expect(order).toEqual(["/pipe-1", "/pipe-2", "/pipe-3"]);
  expect(r.reset).toBe(false);
});

test("python3 urllib with http_proxy", async () => {
  const url = `http://127.0.0.1:${env.node.port}/py-1`;
  const script = [
    "import os, urllib.request",
    `os.environ['http_proxy'] = '${proxyUrl()}'`,
    `r = urllib.request.urlopen('${url}', timeout=20)`,
    "print(r.status, len(r.read()))",
  ].join("\n");
  const ran = await run("python3", ["-c", script]);
  expect(ran.stderr).toBe("");
  expect(ran.stdout.trim()).toMatch(/^200 \d+$/);
  const rec = await recordOf(env.node, "/py-1");
  expect(headerValue(rec.rawHeaders, "user-agent")).toContain("Chrome/143.0.0.0");
  expect(names(rec.rawHeaders)[0]).toBe("Host");
});

test("Bun fetch with `proxy`, choosing Firefox by header (stripped before upstream)", async () => {
  const res = await fetch(`http://127.0.0.1:${env.bun.port}/bun-1`, {
    proxy: proxyUrl(),
    headers: { "X-PolyTLS-Upstream-Profile": FIREFOX },
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { path: string }).path).toBe("/bun-1");
  const rec = await recordOf(env.bun, "/bun-1");
  expect(names(rec.rawHeaders)).toEqual(FIREFOX_NAVIGATE);
  expect(headerValue(rec.rawHeaders, "x-polytls-upstream-profile")).toBeUndefined();
});

test("Node 20 http.request to the proxy with an absolute-form path", async () => {
  const target = `http://127.0.0.1:${env.node.port}/node-1`;
  const script = `
const http = require("node:http");
const req = http.request({ host: "127.0.0.1", port: ${p.port}, method: "PUT", path: "${target}",
  headers: { Host: "127.0.0.1:${env.node.port}", "content-type": "text/plain" } }, (res) => {
  let n = 0; res.on("data", (d) => { n += d.length; });
  res.on("end", () => { console.log(res.statusCode, n); });
});
req.end("from node");`;
  const ran = await run("node", ["-e", script]);
  expect(ran.stdout.trim()).toMatch(/^200 \d+$/);
  const rec = await recordOf(env.node, "/node-1");
  expect(rec.method).toBe("PUT");
  expect(rec.bodyLength).toBe("from node".length);
  expect(headerValue(rec.rawHeaders, "content-type")).toBe("text/plain");
});

test("stop: a client that never reads again (Python, a pool) is closed and counted drained, not reset", async () => {
  const q = await env.polytls((c) => {
    c.proxy.limits.drainTimeoutMs = 10_000; // a connection left to the drain's end would show as reset
  });
  const target = `127.0.0.1:${env.node.port}`;
  const script = [
    "import socket, time",
    `s = socket.create_connection(("127.0.0.1", ${q.port}))`,
    `s.sendall(b"GET http://${target}/drain-pooled HTTP/1.1\\r\\nHost: ${target}\\r\\n\\r\\n")`,
    "print(s.recv(1000).split(b'\\r\\n')[0].decode(), flush=True)",
    "time.sleep(3)", // no read meanwhile: the proxy's end waits in the socket
    "while s.recv(65536) != b'': pass", // the rest of the answer, then the proxy's FIN
    "print('end', flush=True)",
    "time.sleep(20)",
  ].join("\n");
  const child = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
  const out = new LineReader();
  const lines = out.lines;
  child.stdout.on("data", (d: Buffer) => out.push(d));
  try {
    await waitUntil(() => lines.length > 0, "the answer");
    expect(lines[0]).toStartWith("HTTP/1.1 200");
    const report = await q.proxy.stop();
    expect(report).toMatchObject({ drained: 1, reset: 0 });
    await waitUntil(() => lines.length > 1, "the client's late read", 10_000);
    expect(lines[1]).toBe("end"); // a FIN, not a reset
  } finally {
    child.kill();
  }
}, 30_000);

test("stop: a plain-HTTP keep-alive connection idle between requests is closed when the drain begins (drained, not reset)", async () => {
  const q = await env.polytls((c) => {
    c.proxy.limits.drainTimeoutMs = 10_000; // a connection left to the drain's end would show as reset
  });
  const s = net.connect(q.port, "127.0.0.1");
  let text = "";
  let ended = false;
  s.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  s.on("end", () => {
    ended = true;
  });
  s.on("error", () => {});
  await new Promise<void>((r) => s.once("connect", () => r()));
  const target = `127.0.0.1:${env.node.port}`;
  s.write(`GET http://${target}/drain-idle HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  await waitUntil(() => /\r\n\r\n[\s\S]*"\/drain-idle"/.test(text), "the answer");
  expect(text).toStartWith("HTTP/1.1 200 OK");
  const report = await q.proxy.stop();
  expect(report).toMatchObject({ drained: 1, reset: 0 });
  await waitUntil(() => ended, "the proxy's clean close"); // a FIN, not a reset
  s.destroy();
}, 30_000);
