/**
 * WebSockets over the tunnel's HTTP/2 connection (RFC 8441), as Chromium and Firefox send them when
 * the origin's SETTINGS enable extended CONNECT: an HTTP/1.1 client's `Upgrade: websocket` goes out
 * as `:method CONNECT` + `:protocol websocket` on the connection the tunnel already has, in the
 * profile's pseudo-header and header order (checked against the browsers' own extended CONNECT,
 * test/fixtures/http/headers-*.json, from local-debian-http/{chromium,firefox}-h2/cap-conn1.json),
 * and the client gets its 101 with the Sec-WebSocket-Accept its key asks for. Against a Node
 * (nghttp2, OpenSSL) origin: frames echo both ways, a refusal is the origin's status, a reset is a
 * reset, and an origin that does not enable it gets the WebSocket on a connection of its own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type * as tls from "node:tls";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { type ProxyHandle, startProxy, tlsThroughProxy, tunnelRecords } from "./helpers/proxy-env.ts";
import { type RecordedFrame, recordFrame, startRawH2Origin } from "./helpers/raw-h2-origin.ts";
import { makeTestPki, type Origin, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

const FIXTURES = join(import.meta.dir, "fixtures", "http");
const captured = (file: string): string[] =>
  (JSON.parse(readFileSync(join(FIXTURES, file), "utf8")).h2.websocket as [string, string][]).map(([n]) => n);
const CHROMIUM = captured("headers-chromium-156.json");
const FIREFOX = captured("headers-firefox-esr-153.json");

interface WsOrigin {
  port: number;
  stats(
    clear?: boolean,
  ): Promise<{ conns: number; reqs: { conn: number; version: string; raw: string[] }[] }>;
  close(): void;
}

let pki: TestPki;
let proxy: ProxyHandle;
let ca: string;
let ext: WsOrigin;
let plain: WsOrigin;
const children: ChildProcess[] = [];
const rawOrigins: Origin[] = [];

async function origin(enable: boolean): Promise<WsOrigin> {
  const leaf = await pki.leaf("localhost");
  const dir = mkdtempSync(join(pki.dir, "ws-h2-"));
  writeFileSync(join(dir, "key.pem"), leaf.keyPem);
  writeFileSync(join(dir, "cert.pem"), leaf.chainPem);
  const child = spawn(
    "node",
    [
      join(import.meta.dir, "helpers", "ws-h2-origin.mjs"),
      join(dir, "key.pem"),
      join(dir, "cert.pem"),
      enable ? "1" : "0",
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0] as string);
    });
    child.once("exit", (c) => reject(new Error(`origin exited ${c}`)));
  });
  const { port, stats } = JSON.parse(line) as { port: number; stats: number };
  return {
    port,
    stats: async (clear = false) =>
      (await fetch(`http://127.0.0.1:${stats}/`, { method: clear ? "POST" : "GET" })).json() as ReturnType<
        WsOrigin["stats"]
      >,
    close: () => child.kill(),
  };
}

beforeAll(async () => {
  pki = await makeTestPki();
  ca = await Bun.file(pki.caCertPath).text();
  [ext, plain] = await Promise.all([origin(true), origin(false)]);
  proxy = await startProxy({
    pki,
    engine: new NativeEngine(),
    profiles: new ProfileRegistry(),
    defaultProfile: "chromium-156-linux-x64",
    caFile: pki.caCertPath,
    deps: {
      http: { mode: "full", keepClient: new Set(), maxConcurrentStreams: 100, maxRequestHeadBytes: 65_536 },
    },
  });
});

afterAll(async () => {
  await proxy?.stop();
  for (const c of children) c.kill();
  for (const o of rawOrigins) await o.close();
  pki?.remove();
});

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = createHash("sha1").update(`${KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");

/** A masked client frame (RFC 6455 §5.2), payload under 126 bytes. */
function frame(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i & 3] as number)));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

/** A raw WebSocket client through the proxy: the handshake written by hand, every byte kept. */
async function wsClient(
  o: WsOrigin,
  path: string,
  headers: Record<string, string> = {},
  connectHeaders: Record<string, string> = {},
  halfOpen = false,
) {
  const authority = `localhost:${o.port}`;
  const t: tls.TLSSocket = await tlsThroughProxy(proxy.port, authority, {
    ca,
    servername: "localhost",
    headers: connectHeaders,
    ...(halfOpen ? { allowHalfOpen: true } : {}),
  });
  let bytes = Buffer.alloc(0);
  let how = "";
  t.on("data", (d: Buffer) => {
    bytes = Buffer.concat([bytes, d]);
  });
  t.on("end", () => {
    how ||= "end";
  });
  t.on("error", (e: NodeJS.ErrnoException) => {
    how ||= e.code ?? "error";
  });
  const extra = Object.entries(headers)
    .map(([n, v]) => `${n}: ${v}\r\n`)
    .join("");
  t.write(
    `GET ${path} HTTP/1.1\r\nHost: ${authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Origin: https://${authority}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n` +
      `Cookie: sid=abc123\r\n${extra}\r\n`,
  );
  const headEnd = () => bytes.indexOf("\r\n\r\n");
  await waitUntil(() => headEnd() >= 0 || how !== "", "the handshake answer");
  const head = bytes.subarray(0, headEnd()).toString("latin1");
  return {
    t,
    head,
    /** Bytes after the head. */
    rest: () => bytes.subarray(headEnd() + 4),
    how: () => how,
  };
}

/** The origin's one request with its connection, and the raw field names in wire order. */
async function onlyRequest(o: WsOrigin) {
  const s = await o.stats();
  expect(s.reqs).toHaveLength(1);
  const req = s.reqs[0] as { conn: number; version: string; raw: string[] };
  return {
    ...s,
    req,
    names: req.raw.filter((_, i) => i % 2 === 0),
    value: (n: string) => req.raw[req.raw.indexOf(n) + 1],
  };
}

/**
 * A WebSocket echo through the proxy that must go on a connection of its own over HTTP/1.1: the
 * origin sees a second TLS connection (the tunnel's first one stays unused) and an HTTP/1.1 upgrade.
 */
async function expectOwnConnection(o: WsOrigin, connectHeaders: Record<string, string> = {}) {
  await o.stats(true);
  const c = await wsClient(o, "/ws", {}, connectHeaders);
  expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
  c.t.write(frame(0x1, Buffer.from("hi")));
  await waitUntil(() => c.rest().length >= 4, "the echo");
  c.t.destroy();
  const { conns, req } = await onlyRequest(o);
  expect(conns).toBe(2);
  expect(req.version).toBe("1.1");
}

describe("an origin that enables extended CONNECT", () => {
  test("Chromium: the WebSocket rides the tunnel's HTTP/2 connection, in Chromium's order; frames echo; a clean close", async () => {
    await ext.stats(true);
    const c = await wsClient(ext, "/ws", {
      "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
    });
    expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
    const lines = c.head.split("\r\n");
    expect(lines.map((l) => l.toLowerCase())).toContain("upgrade: websocket");
    expect(lines.find((l) => /^sec-websocket-accept:/i.test(l))?.split(": ")[1]).toBe(ACCEPT);
    c.t.write(frame(0x1, Buffer.from("hello")));
    await waitUntil(() => c.rest().length >= 7, "the echo");
    expect([...c.rest().subarray(0, 7)]).toEqual([0x81, 5, ...Buffer.from("hello")]);
    c.t.write(frame(0x8, Buffer.from([0x03, 0xe8])));
    await waitUntil(() => c.how() !== "", "the close");
    expect(c.how()).toBe("end");
    expect([...c.rest().subarray(7)]).toEqual([0x88, 2, 0x03, 0xe8]);
    const { conns, req, names, value } = await onlyRequest(ext);
    expect(conns).toBe(1); // the tunnel's first connection: no WebSocket connection of its own
    expect(req.version).toBe("2.0");
    expect(names).toEqual(CHROMIUM);
    expect(value(":protocol")).toBe("websocket");
    expect(value(":method")).toBe("CONNECT");
    expect(names).not.toContain("sec-websocket-key");
  });

  test("Firefox (the tunnel's profile): its own pseudo-header and header order", async () => {
    await ext.stats(true);
    const c = await wsClient(
      ext,
      "/ws",
      { "Sec-WebSocket-Extensions": "permessage-deflate" },
      { "X-PolyTLS-Upstream-Profile": "firefox-esr-153-linux-x64" },
    );
    expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
    c.t.write(frame(0x2, Buffer.from([0, 255, 7])));
    await waitUntil(() => c.rest().length >= 5, "the echo");
    expect([...c.rest().subarray(0, 5)]).toEqual([0x82, 3, 0, 255, 7]);
    c.t.destroy();
    const { req, names } = await onlyRequest(ext);
    expect(req.version).toBe("2.0");
    expect(names).toEqual(FIREFOX);
  });

  test("Safari (over_h2 = false: not known from a capture): a connection of its own, over HTTP/1.1", async () => {
    await expectOwnConnection(ext, { "X-PolyTLS-Upstream-Profile": "safari-26.2-macos-arm64" });
  });

  test("a refusal (403) is the origin's answer; the tunnel serves on", async () => {
    await ext.stats(true);
    const c = await wsClient(ext, "/deny");
    expect(c.head).toMatch(/^HTTP\/1\.1 403 /);
    await waitUntil(() => c.rest().toString().includes("denied"), "the body");
    c.t.write(`GET /after HTTP/1.1\r\nHost: localhost:${ext.port}\r\n\r\n`);
    await waitUntil(() => c.rest().toString().endsWith("ok"), "the next answer");
    c.t.destroy();
  });

  test("the origin ends its direction first: the client still sends, and the origin gets it", async () => {
    await ext.stats(true);
    const c = await wsClient(ext, "/half", {}, {}, true);
    expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
    await waitUntil(() => c.how() === "end", "the origin's end");
    expect(c.rest().toString()).toBe("bye");
    c.t.write("after the origin's end");
    await Bun.sleep(50);
    c.t.end();
    let half: number | undefined;
    for (let i = 0; i < 100 && half === undefined; i++) {
      half = ((await ext.stats()) as { half?: number }).half;
      if (half === undefined) await Bun.sleep(10);
    }
    expect(half).toBe("after the origin's end".length);
  });

  test("END_STREAM then RST_STREAM(NO_ERROR), the origin's 'stop sending': a clean end, no error", async () => {
    const c = await wsClient(ext, "/end-no-read", {}, {}, true);
    expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
    await waitUntil(() => c.how() === "end", "the origin's end");
    expect(c.rest().toString()).toBe("bye");
    c.t.end();
    await new Promise((resolve) => c.t.once("close", resolve));
    const line = () => tunnelRecords(proxy.logs).findLast((r) => r.host === `localhost:${ext.port}`);
    await waitUntil(() => line()?.statuses === "101:1", "the tunnel record");
    expect(line()).toMatchObject({ level: "info", errorCode: null });
  });

  test("END_STREAM then a reset while the client's direction is open: the client is reset, not left half-open", async () => {
    const c = await wsClient(ext, "/end-then-rst", {}, {}, true);
    expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
    await waitUntil(() => c.how() === "end", "the origin's end");
    let reset = "";
    c.t.on("error", (e: NodeJS.ErrnoException) => {
      reset ||= e.code ?? "error";
    });
    c.t.on("close", () => {
      reset ||= "close";
    });
    await waitUntil(() => reset !== "", "the reset");
    expect(["ECONNRESET", "EPIPE"]).toContain(reset); // a reset (EPIPE: found while writing)
    const line = () => tunnelRecords(proxy.logs).find((r) => r.errorCode === "UPSTREAM_TRUNCATED");
    await waitUntil(() => line() !== undefined, "the tunnel record");
    expect(line()?.reason).toContain("upstream reset the WebSocket stream (HTTP/2 error 8)");
  });

  test("an origin that resets the stream mid-frame: the client's connection is reset, not closed", async () => {
    const c = await wsClient(ext, "/cut");
    expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
    await waitUntil(() => c.how() !== "", "the end");
    expect(c.how()).toBe("ECONNRESET");
    const line = () => tunnelRecords(proxy.logs).find((r) => r.statuses === "101:1" && r.errorCode !== null);
    await waitUntil(() => line() !== undefined, "the tunnel record");
    expect(line()?.level).toBe("warn");
  });
});

describe("the extended CONNECT's frames, against the browsers' own (fixtures/http/ws-h2-frames.json)", () => {
  const FRAMES = JSON.parse(readFileSync(join(FIXTURES, "ws-h2-frames.json"), "utf8")) as Record<
    "chromium" | "firefox",
    {
      type: string;
      flags: number;
      priority?: { exclusive: number; depends_on: number; weight: number };
      increment?: number;
    }[]
  >;

  /** A raw HTTP/2 origin that allows extended CONNECT, answers 200 and records every frame. */
  async function recordingOrigin() {
    const frames: RecordedFrame[] = [];
    const origin = await startRawH2Origin(await pki.leaf("localhost"), [[8, 1]], (s, f) => {
      const seen = recordFrame(f);
      if (seen !== null) frames.push(seen);
      if (f.type === "HEADERS")
        // :status 200 (static index 8), the stream left open.
        s.write(
          encodeFrame({
            type: "HEADERS",
            streamId: f.streamId,
            endStream: false,
            endHeaders: true,
            block: Buffer.from([0x88]),
          }),
        );
    });
    return { origin, frames };
  }

  for (const [browser, profile] of [
    ["chromium", "chromium-156-linux-x64"],
    ["firefox", "firefox-esr-153-linux-x64"],
  ] as const) {
    test(`${browser}: the HEADERS frame's flags and priority${browser === "firefox" ? ", then the stream's WINDOW_UPDATE" : ""}`, async () => {
      const { origin, frames } = await recordingOrigin();
      rawOrigins.push(origin); // closed after the proxy (its tunnels hold their connections)
      {
        const o = { port: origin.port } as WsOrigin;
        const c = await wsClient(o, "/ws", {}, { "X-PolyTLS-Upstream-Profile": profile });
        expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
        await waitUntil(() => frames.some((f) => f.type === "HEADERS"), "the extended CONNECT");
        c.t.destroy();
        const want = FRAMES[browser];
        const head = frames.find((f) => f.type === "HEADERS");
        expect(head?.flags).toBe(want[0]?.flags);
        const p = want[0]?.priority;
        expect(head?.priority).toEqual({
          exclusive: p?.exclusive === 1,
          dependency: p?.depends_on ?? -1,
          weight: p?.weight ?? -1,
        });
        const update = frames.find((f) => f.type === "WINDOW_UPDATE" && f.streamId === head?.streamId);
        const wantUpdate = want.find((f) => f.type === "WINDOW_UPDATE");
        expect(update?.increment).toBe(wantUpdate?.increment);
      }
    });
  }
});

describe("a real WebSocket client (Bun's)", () => {
  test("echoes through the proxy over the origin's HTTP/2 connection", async () => {
    await ext.stats(true);
    const ws = new WebSocket(`wss://localhost:${ext.port}/ws`, {
      proxy: `http://127.0.0.1:${proxy.port}`,
      tls: { ca },
    } as unknown as string[]);
    const got = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send("through h2");
      ws.onmessage = (m) => {
        resolve(String(m.data));
        ws.close(1000, "done");
      };
      ws.onerror = () => reject(new Error("websocket error"));
    });
    expect(got).toBe("through h2");
    const { req } = await onlyRequest(ext);
    expect(req.version).toBe("2.0");
  });
});

describe("an origin that does not enable it", () => {
  test("an origin that ends its WebSocket cleanly first: the client gets a clean end, never a reset", async () => {
    const c = await wsClient(plain, "/bye", {}, {}, true);
    expect(c.head).toMatch(/^HTTP\/1\.1 101 /);
    await waitUntil(() => c.how() !== "", "the origin's end");
    expect(c.how()).toBe("end");
    expect([...c.rest()]).toEqual([0x88, 0x02, 0x03, 0xe8]);
    const errors: string[] = [];
    c.t.on("error", (e: NodeJS.ErrnoException) => errors.push(e.code ?? "error"));
    await Bun.sleep(100); // the origin's socket closes meanwhile: not a failure of the relay
    c.t.end();
    await new Promise((resolve) => c.t.once("close", resolve));
    expect(errors).toEqual([]); // no reset after the clean end
    const line = () => tunnelRecords(proxy.logs).findLast((r) => r.host === `localhost:${plain.port}`);
    await waitUntil(() => line()?.statuses === "101:1", "the tunnel record");
    expect(line()).toMatchObject({ level: "info", errorCode: null });
  });

  test("the WebSocket goes on a connection of its own, over HTTP/1.1", async () => {
    await expectOwnConnection(plain);
  });
});
