/**
 * The TLS hello of a WebSocket's own upstream connection is the profile's WebSocket hello
 * (`[websocket]`, issue 9 item 7), through the running proxy in the full HTTP mode: Node 20 origins
 * (test/helpers/e2e-origin.mjs: h2 without extended CONNECT, and HTTP/1.1 only), each behind a
 * ClientHello recorder, and a raw RFC 6455 client. Compared with the Chromium 156 / Firefox ESR
 * 153 captures of the same situation (test/fixtures/http/ws-*), component by component; the
 * tunnel's normal connection keeps the profile's hello. Plus the `[websocket]` key validation.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type * as tls from "node:tls";
import { parse as parseToml } from "smol-toml";
import { Issues } from "../src/config/fields.ts";
import { parseClientHello } from "../src/fingerprint/clienthello.ts";
import { compareFingerprints, formatDiff } from "../src/fingerprint/compare.ts";
import { EXT } from "../src/fingerprint/extensions.ts";
import { ja4 } from "../src/fingerprint/ja4.ts";
import { type RecordedHello, type Recorder, startRecorder } from "../src/fingerprint/recorder.ts";
import type { ClientHelloFingerprint } from "../src/fingerprint/types.ts";
import { buildProfiles, ProfileRegistry } from "../src/profiles/registry-store.ts";
import { parseProfileTable, profileToToml } from "../src/profiles/schema.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { ORIGIN_SCRIPT } from "./helpers/e2e-env.ts";
import { type ProxyHandle, startProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

const FIX = join(import.meta.dir, "fixtures");
const FIREFOX = "firefox-esr-153-linux-x64";
const CHROMIUM = "chromium-156-linux-x64"; // the test fixture profile (a user profile here)
const CHROMIUM_SHUFFLED = "chromium-156-shuffled-anchors";
const PSK = EXT.PRE_SHARED_KEY;

interface CaptureFacts {
  capture: string;
  alpn: string[];
  ja4: string;
  resumed: boolean;
  sni: string;
}
const FACTS = JSON.parse(readFileSync(join(FIX, "http/ws-hellos.json"), "utf8")) as Record<
  "firefox-page" | "firefox-ws" | "chromium-ws",
  CaptureFacts
>;
const captured = (file: string): ClientHelloFingerprint =>
  parseClientHello(Buffer.from(readFileSync(join(FIX, "http", file), "utf8").trim(), "hex"));

const userProfiles = (): Record<string, unknown> => {
  const fixture = parseToml(readFileSync(join(FIX, "profiles/chromium-156-linux-x64.toml"), "utf8")) as {
    profiles: Record<string, unknown>;
  };
  return {
    [CHROMIUM]: fixture.profiles[CHROMIUM],
    [CHROMIUM_SHUFFLED]: { extends: CHROMIUM, trust_anchors_order: "shuffled-per-process" },
  };
};

interface NodeOrigin {
  port: number;
  child: ChildProcess;
}

async function nodeOrigin(kind: "h2" | "h1", key: string, cert: string, dir: string): Promise<NodeOrigin> {
  const child = spawn("node", [ORIGIN_SCRIPT, "--serve", kind, key, cert, dir], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0] as string);
    });
    child.once("error", reject);
    child.once("exit", (c) => reject(new Error(`node origin exited ${c}`)));
  });
  return { port: (JSON.parse(line) as { port: number }).port, child };
}

let pki: TestPki;
let ca: string;
let proxy: ProxyHandle;
const origins: NodeOrigin[] = [];
const recorders: { h2: Recorder; h1: Recorder } = {} as never;

beforeAll(async () => {
  pki = await makeTestPki();
  ca = await Bun.file(pki.caCertPath).text();
  const leaf = await pki.leaf("localhost");
  const dir = mkdtempSync(join(pki.dir, "ws-"));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  writeFileSync(key, leaf.keyPem);
  writeFileSync(cert, leaf.chainPem);
  const [h2, h1] = await Promise.all([nodeOrigin("h2", key, cert, dir), nodeOrigin("h1", key, cert, dir)]);
  origins.push(h2, h1);
  recorders.h2 = await startRecorder(h2.port);
  recorders.h1 = await startRecorder(h1.port);
  proxy = await startProxy({
    pki,
    engine: new NativeEngine(),
    profiles: new ProfileRegistry(userProfiles()),
    defaultProfile: FIREFOX,
    deps: {
      http: { mode: "full", keepClient: new Set(), maxConcurrentStreams: 100, maxRequestHeadBytes: 65_536 },
    },
  });
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await proxy?.stop();
  for (const r of Object.values(recorders)) await r.close();
  for (const o of origins) o.child.kill();
});

async function tunnel(profile: string, rec: Recorder): Promise<tls.TLSSocket> {
  return await tlsThroughProxy(proxy.port, `localhost:${rec.port}`, {
    ca,
    servername: "localhost",
    headers: { "X-PolyTLS-Upstream-Profile": profile },
  });
}

/** Reads from `t` until `done(bytes so far)` holds. */
function readUntil(t: tls.TLSSocket, done: (b: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!done(buf)) return;
      t.off("data", onData);
      resolve(buf);
    };
    t.on("data", onData);
    t.once("error", reject);
  });
}

/** One GET through a fresh tunnel: leaves a session of `profile` for this origin in the cache. */
async function prime(profile: string, rec: Recorder): Promise<void> {
  const t = await tunnel(profile, rec);
  t.write(`GET /bytes?n=3&cl=1 HTTP/1.1\r\nHost: localhost:${rec.port}\r\n\r\n`);
  const res = await readUntil(t, (b) => b.includes("\r\n\r\n") && b.length >= b.indexOf("\r\n\r\n") + 7);
  expect(res.toString("latin1")).toStartWith("HTTP/1.1 200");
  t.destroy();
}

/** A masked client frame (RFC 6455 §5.2), payload under 126 bytes. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, body]);
}

/**
 * A WebSocket through a new tunnel: handshake, one text message echoed, close. Returns the
 * tunnel's hellos in order: its normal (first) connection, then the WebSocket's own.
 */
async function websocketHellos(
  profile: string,
  rec: Recorder,
): Promise<{ normal: RecordedHello; ws: RecordedHello }> {
  const before = rec.hellos.length;
  const t = await tunnel(profile, rec);
  const key = randomBytes(16).toString("base64");
  t.write(
    `GET /ws HTTP/1.1\r\nHost: localhost:${rec.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: https://localhost:${rec.port}\r\n\r\n`,
  );
  const head = await readUntil(t, (b) => b.includes("\r\n\r\n"));
  expect(head.toString("latin1")).toStartWith("HTTP/1.1 101");
  const rest = head.subarray(head.indexOf("\r\n\r\n") + 4);
  const echoed = readUntil(t, (b) => Buffer.concat([rest, b]).length >= 2 + 5);
  t.write(clientFrame(0x1, Buffer.from("hello")));
  const frame = Buffer.concat([rest, await echoed]);
  expect(frame.subarray(0, 7)).toEqual(Buffer.from([0x81, 5, ...Buffer.from("hello")]));
  t.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
  t.destroy();
  await waitUntil(() => rec.hellos.length >= before + 2, "the tunnel's two upstream hellos");
  const [normal, ws, ...more] = rec.hellos.slice(before);
  expect(more).toEqual([]);
  return { normal: normal!, ws: ws! };
}

const has = (fp: ClientHelloFingerprint, id: number) => fp.extensions.includes(id);
const expectSame = (actual: ClientHelloFingerprint, expected: ClientHelloFingerprint, opts = {}) => {
  const d = compareFingerprints(actual, expected, opts);
  expect(formatDiff(d)).toBe("fingerprints match");
};

describe("Firefox ESR 153 (Firefox's [websocket]: h2 origins only)", () => {
  test("h2 origin without extended CONNECT: the WebSocket hello is the capture's, component by component", async () => {
    await prime(FIREFOX, recorders.h2);
    const { normal, ws } = await websocketHellos(FIREFOX, recorders.h2);
    const cap = captured("ws-firefox-esr153-h2noext-conn2.hello.hex");
    const facts = FACTS["firefox-ws"];
    expect(facts.resumed).toBe(true);
    expect(has(ws.fingerprint, PSK)).toBe(true); // resumed, as in the capture
    expectSame(ws.fingerprint, cap); // extension set and order, ALPN, groups, sigalgs, ...
    expect(ws.fingerprint.alpn).toEqual(["http/1.1"]);
    expect(has(ws.fingerprint, EXT.SESSION_TICKET)).toBe(false);
    expect(has(ws.fingerprint, EXT.COMPRESS_CERTIFICATE)).toBe(false);
    expect(ws.fingerprint.sni).toBe(facts.sni);
    expect(ja4(ws.fingerprint)).toBe(facts.ja4);
    expect(ja4(cap)).toBe(facts.ja4);

    // The tunnel's normal connection is unchanged: the page hello of the same capture run
    // (fresh there, resumed here: pre_shared_key, and session_ticket, which Firefox leaves out of
    // a resumed hello, aside; test/resumption-firefox.test.ts compares resumed hellos).
    const page = captured("ws-firefox-esr153-h2noext-conn1.hello.hex");
    expect(normal.fingerprint.alpn).toEqual(FACTS["firefox-page"].alpn);
    expect(has(normal.fingerprint, PSK)).toBe(true);
    expect(has(page, EXT.SESSION_TICKET)).toBe(true);
    expect(has(normal.fingerprint, EXT.SESSION_TICKET)).toBe(false);
    expectSame(normal.fingerprint, page, { ignoreExtensions: [PSK, EXT.SESSION_TICKET] });
    expect(normal.fingerprint.certCompression).toEqual([1, 2, 3]);
  });

  test("HTTP/1.1-only origin: the WebSocket's own connection sends the normal hello (firefox-h1/cap-conn3)", async () => {
    await prime(FIREFOX, recorders.h1);
    const { normal, ws } = await websocketHellos(FIREFOX, recorders.h1);
    expect(ws.fingerprint.alpn).toEqual(["h2", "http/1.1"]);
    expect(has(ws.fingerprint, PSK)).toBe(has(normal.fingerprint, PSK));
    expectSame(ws.fingerprint, normal.fingerprint);
  });
});

describe("Chromium 156 (the default [websocket])", () => {
  const alpsIds = [EXT.ALPN, EXT.ALPS, EXT.ALPS_OLD];
  for (const [name, kind] of [
    ["h2 origin without extended CONNECT", "h2"],
    ["HTTP/1.1-only origin", "h1"],
  ] as const) {
    test(`${name}: the WebSocket hello is the normal one without ALPS, offering http/1.1 only, and the capture's`, async () => {
      const rec = recorders[kind];
      await prime(CHROMIUM, rec);
      const { normal, ws } = await websocketHellos(CHROMIUM, rec);
      expect(normal.fingerprint.alpn).toEqual(["h2", "http/1.1"]);
      expect(normal.fingerprint.alps).toEqual({ codepoint: EXT.ALPS, protocols: ["h2"] });
      expect(ws.fingerprint.alpn).toEqual(["http/1.1"]);
      expect(ws.fingerprint.alps).toBeNull();
      expect(has(ws.fingerprint, EXT.ALPS)).toBe(false);
      // Everything else: the normal hello's (Chromium permutes its extensions per connection).
      expectSame(ws.fingerprint, normal.fingerprint, {
        ignoreExtensionOrder: true,
        ignoreExtensions: alpsIds,
      });
      // And the capture's WebSocket hello (chromium-h2-noextconnect/cap-conn4, resumed).
      const cap = captured("ws-chromium-156-h2noext-conn4.hello.hex");
      expect(has(ws.fingerprint, PSK)).toBe(FACTS["chromium-ws"].resumed);
      expectSame(ws.fingerprint, cap, { ignoreExtensionOrder: true });
      expect(ja4(ws.fingerprint)).toBe(FACTS["chromium-ws"].ja4);
    });
  }

  test('"shuffled-per-process" trust anchors: the WebSocket hello sends the normal hello\'s order', async () => {
    // Primed, so both hellos resume (else the WebSocket's may or may not, by when the ticket came).
    await prime(CHROMIUM_SHUFFLED, recorders.h2);
    const { normal, ws } = await websocketHellos(CHROMIUM_SHUFFLED, recorders.h2);
    expect(has(ws.fingerprint, PSK)).toBe(true);
    const ids = (fp: ClientHelloFingerprint) =>
      (fp.trustAnchors ?? []).map((id) => Buffer.from(id).toString("hex"));
    expect(ids(normal.fingerprint).length).toBeGreaterThan(10);
    expect(ids(ws.fingerprint)).toEqual(ids(normal.fingerprint));
    expectSame(ws.fingerprint, normal.fingerprint, { ignoreExtensionOrder: true, ignoreExtensions: alpsIds });
  });
});

describe("the [websocket] table", () => {
  const problems = (table: Record<string, unknown>): string[] => {
    const issues = new Issues();
    buildProfiles({ x: table }, issues);
    return issues.lines;
  };

  test("bad keys are reported with their key path", () => {
    expect(problems({ extends: "chrome", websocket: "yes" })).toEqual([
      'profiles."x".websocket: expected a table, got string "yes"',
    ]);
    const lines = problems({
      extends: "chrome",
      websocket: { alpn: ["h2"], when: "sometimes", nope: 1, cert_compression: ["lzma"], alps: "no" },
    });
    expect(lines).toContainEqual(
      expect.stringMatching(/^profiles\."x"\.websocket\.alpn: must include "http\/1\.1"/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^profiles\."x"\.websocket\.when: expected one of "always", "h2-origin"/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^profiles\."x"\.websocket\.nope: unknown key/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^profiles\."x"\.websocket\.cert_compression\[0\]: unknown/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^profiles\."x"\.websocket\.alps: expected a boolean/),
    );
    expect(lines.length).toBe(5);
  });

  test("cross-key rules name the key: kept ALPS outside the WebSocket ALPN; an extension the explicit order lacks", () => {
    expect(problems({ extends: "chrome", websocket: { alps: true } })).toEqual([
      'profiles."x".websocket.alps: keeps ALPS for "h2", which websocket.alpn does not offer',
    ]);
    // Tor: explicit extension_order without compress_certificate or session_ticket.
    expect(
      problems({ extends: "tor-14.5-macos-arm64", websocket: { cert_compression: ["brotli"] } }),
    ).toEqual([
      'profiles."x".websocket.cert_compression: sends "compress_certificate", which extension_order does not list (a WebSocket hello can only leave extensions out)',
    ]);
    expect(problems({ extends: "chrome", websocket: { alps: true, alpn: ["h2", "http/1.1"] } })).toEqual([]);
  });

  test("built-ins: Firefox and Tor inherit Firefox's table, Chromium-based ones Chromium's; `profiles show` round-trips it", () => {
    const registry = new ProfileRegistry();
    for (const name of registry.names()) {
      const p = registry.get(name);
      const family = p.chain.at(-1);
      if (family === "firefox-145-macos-arm64") {
        expect(p.websocket).toEqual({
          overH2: true, // local-debian-http/firefox-h2/cap-conn1.json
          when: "h2-origin",
          alpn: ["http/1.1"],
          alps: false,
          sessionTickets: null, // a resumed hello's missing session_ticket: session_tickets_when_resuming
          certCompression: [],
        });
      } else {
        expect([name, p.websocket.when, p.websocket.alpn, p.websocket.alps]).toEqual([
          name,
          "always",
          ["http/1.1"],
          false,
        ]);
        // Chromium's captured RFC 8441 use; Safari's is not known (its built-ins keep it off).
        expect([name, p.websocket.overH2]).toEqual([name, family !== "safari-26.2-macos-arm64"]);
      }
    }
    const ff = registry.get(FIREFOX);
    const raw = parseToml(profileToToml(ff)) as { profiles: Record<string, unknown> };
    const table = parseProfileTable(raw.profiles[FIREFOX], "p", new Issues());
    expect(table?.values.websocket).toEqual(ff.websocket);
    const safari = registry.get("safari-26.2-macos-arm64");
    const back = parseToml(profileToToml(safari)) as { profiles: Record<string, unknown> };
    const st = parseProfileTable(back.profiles["safari-26.2-macos-arm64"], "p", new Issues());
    expect(st?.values.websocket?.overH2).toBe(false);
  });
});
