/**
 * A request head inside a tunnel must be whole within `proxy.limits.header_timeout_ms` of its
 * first byte (slowloris: a byte now and then kept the idle timeout from firing, so a tunnel, its
 * upstream connection and its slot were held for days). Through the running proxy (300 ms here),
 * with Node 20 origins; idle keep-alive connections and slow bodies are not affected.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { CLIENT_MAGIC } from "../src/http/h2/frame-types.ts";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import { CHROME_HPACK_POLICY, HpackEncoder } from "../src/http/hpack/index.ts";
import { type E2eEnv, startE2e } from "./helpers/e2e-env.ts";
import { getFields, rawFrames, rawText } from "./helpers/e2e-raw.ts";
import { waitUntil } from "./helpers/wait.ts";

const HEAD_MS = 300;
let env: E2eEnv;
let ca: string;
beforeAll(async () => {
  env = await startE2e({ headTimeoutMs: HEAD_MS });
  ca = await Bun.file(env.pki.caCertPath).text();
});
afterAll(async () => {
  await env?.close();
});

const openH1 = () => rawText(env.proxy.port, env.origins.nodeH2.authority, ca);
const openH2 = () => rawFrames(env.proxy.port, env.origins.nodeH2.authority, ca);

/** The `tunnel closed` record of the tunnel that ended with `code`. */
function records(code: string | null) {
  return env.proxy.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.msg === "tunnel closed" && r.errorCode === code);
}

/** A GET's field block, from an encoder of its own (static-table and literal references only). */
const headers = (path: string) =>
  new HpackEncoder(CHROME_HPACK_POLICY).encode(getFields(env.origins.nodeH2.authority, path));

describe("HTTP/1.1 client", () => {
  test("a head begun and not finished gets 408 and the connection ends", async () => {
    const c = await openH1();
    c.t.write(`GET /status/200 HTTP/1.1\r\nHost: ${env.origins.nodeH2.authority}\r\nX-Slow: `);
    const started = performance.now();
    await waitUntil(() => c.closed(), "the proxy's close", 5_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(HEAD_MS - 20);
    expect(c.text()).toStartWith("HTTP/1.1 408 Request Timeout\r\n");
    expect(c.text()).toContain("proxy.limits.header_timeout_ms");
    await waitUntil(() => records("HEADER_TIMEOUT").length > 0, "the record");
  }, 10_000);

  test("the first head, trickled before its bytes even tell the protocol, is timed from its first byte", async () => {
    const c = await openH1();
    const before = records("HEADER_TIMEOUT").length;
    const started = performance.now();
    for (const byte of "PROPFINDXXXXXXXXXXXXXXXXXXXXXXXX") {
      c.t.write(byte); // never a space, never a line end: the protocol is still undecided
      await Bun.sleep(100);
      if (c.closed()) break;
    }
    await waitUntil(() => c.closed(), "the proxy's close", 5_000);
    expect(performance.now() - started).toBeLessThan(2 * HEAD_MS + 300);
    await waitUntil(() => records("HEADER_TIMEOUT").length > before, "its record");
  }, 10_000);

  test("a second head on a kept-alive connection has the same deadline; idle between heads is not timed", async () => {
    const c = await openH1();
    const req = `GET /status/204 HTTP/1.1\r\nHost: ${env.origins.nodeH2.authority}\r\n\r\n`;
    c.t.write(req);
    await waitUntil(() => c.text().includes("204"), "the first answer");
    await Bun.sleep(3 * HEAD_MS); // idle: no head begun
    expect(c.closed()).toBe(false);
    for (const byte of req.slice(0, 20)) {
      c.t.write(byte); // a byte every 50 ms: the connection is never idle, the head never whole
      await Bun.sleep(50);
      if (c.closed()) break;
    }
    await waitUntil(() => c.closed(), "the proxy's close", 5_000);
    expect(c.text()).toContain("HTTP/1.1 408 Request Timeout\r\n");
  }, 10_000);
});

describe("HTTP/2 client", () => {
  test("a field block begun and not finished: GOAWAY(ENHANCE_YOUR_CALM), the connection ends", async () => {
    const c = await openH2();
    const block = headers("/status/200");
    c.t.write(
      Buffer.concat([
        CLIENT_MAGIC,
        encodeFrame({ type: "SETTINGS", ack: false, settings: [] }),
        encodeFrame({ type: "HEADERS", streamId: 1, endStream: true, endHeaders: false, block }),
      ]),
    );
    await waitUntil(() => c.closed(), "the proxy's close", 5_000);
    expect(c.frames.find((f) => f.type === "GOAWAY")).toMatchObject({ code: H2ErrorCode.ENHANCE_YOUR_CALM });
  }, 10_000);

  test("each field block has its own deadline: reads that always end inside the next one are fine", async () => {
    // Every 120 ms the rest of HEADERS n and the first bytes of HEADERS n+1: each head is whole
    // well within 300 ms of its first byte, though a head is always pending between reads.
    const c = await openH2();
    c.t.write(Buffer.concat([CLIENT_MAGIC, encodeFrame({ type: "SETTINGS", ack: false, settings: [] })]));
    const frames = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21].map((id) =>
      encodeFrame({
        type: "HEADERS",
        streamId: id,
        endStream: true,
        endHeaders: true,
        block: headers("/status/204"),
      }),
    );
    let pending: Uint8Array = new Uint8Array(0);
    for (const f of frames) {
      c.t.write(Buffer.concat([pending, f.subarray(0, 5)]));
      pending = f.subarray(5);
      await Bun.sleep(120);
    }
    c.t.write(pending);
    await waitUntil(
      () => c.frames.filter((f) => f.type === "HEADERS").length === frames.length,
      "every answer",
    );
    expect(c.closed()).toBe(false);
    expect(c.frames.some((f) => f.type === "GOAWAY")).toBe(false);
    c.t.destroy();
  }, 10_000);

  test("a frame trickled byte by byte is timed; a connection idle after its requests is not", async () => {
    const c = await openH2();
    c.t.write(Buffer.concat([CLIENT_MAGIC, encodeFrame({ type: "SETTINGS", ack: false, settings: [] })]));
    c.t.write(
      encodeFrame({
        type: "HEADERS",
        streamId: 1,
        endStream: true,
        endHeaders: true,
        block: headers("/status/204"),
      }),
    );
    await waitUntil(() => c.frames.some((f) => f.type === "HEADERS"), "the first answer");
    await Bun.sleep(3 * HEAD_MS);
    expect(c.closed()).toBe(false);
    const next = encodeFrame({
      type: "HEADERS",
      streamId: 3,
      endStream: true,
      endHeaders: true,
      block: headers("/"),
    });
    for (const byte of next.subarray(0, 12)) {
      c.t.write(Uint8Array.of(byte));
      await Bun.sleep(50);
      if (c.closed()) break;
    }
    await waitUntil(() => c.closed(), "the proxy's close", 5_000);
    expect(c.frames.find((f) => f.type === "GOAWAY")).toMatchObject({ code: H2ErrorCode.ENHANCE_YOUR_CALM });
  }, 10_000);
});
