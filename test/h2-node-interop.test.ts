import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { FrameReader } from "../src/http/h2/frame-reader.ts";
import { CLIENT_MAGIC, type Frame, type HeadersFrame } from "../src/http/h2/frame-types.ts";
import { concatBytes } from "../src/http/h2/frame-writer.ts";
import type { H2ClientPlan, H2Event, HeaderField } from "../src/http/h2/session-types.ts";
import { CHROME_HPACK_POLICY, FIREFOX_HPACK_POLICY } from "../src/http/hpack/index.ts";
import { CHROME_PLAN, FIREFOX_PLAN } from "./helpers/h2-fixtures.ts";
import { type NodeH2Server, startNodeH2Server } from "./helpers/h2-node-peer.ts";
import { type DriverResponse, H2SessionDriver } from "./helpers/h2-session-driver.ts";
import { prng, randBytes } from "./helpers/prng.ts";

/**
 * Our client session against an implementation that is not ours: Node's http2 server (nghttp2),
 * spawned as a child process (test/helpers/h2-node-server.mjs), spoken to as h2c over loopback TCP.
 */

const { REFUSED_STREAM } = H2ErrorCode;
const GET: HeaderField[] = [
  [":method", "GET"],
  [":authority", "example.com"],
  [":scheme", "https"],
  [":path", "/"],
];

function only<T extends H2Event["type"]>(events: H2Event[], type: T): Extract<H2Event, { type: T }>[] {
  return events.filter((e): e is Extract<H2Event, { type: T }> => e.type === type);
}

/** The frames in bytes the client sent (after the magic when `fromStart`). */
function framesOf(chunks: Uint8Array[], fromStart: boolean): Frame[] {
  const reader = new FrameReader();
  reader.setMaxFrameSize(0xffffff);
  const bytes = concatBytes(chunks);
  reader.push(fromStart ? bytes.subarray(CLIENT_MAGIC.length) : bytes);
  const frames: Frame[] = [];
  for (let f = reader.next(); f !== null; f = reader.next()) frames.push(f);
  return frames;
}

describe("against Node's HTTP/2 server (nghttp2)", () => {
  let server: NodeH2Server;
  const drivers: H2SessionDriver[] = [];
  const decoder = new TextDecoder();
  const bodyText = (r: DriverResponse) => decoder.decode(r.body);

  beforeAll(async () => {
    server = await startNodeH2Server();
  });
  afterAll(async () => {
    for (const d of drivers) d.close();
    await server.stop();
  });

  async function connectDriver(plan: H2ClientPlan = CHROME_PLAN): Promise<H2SessionDriver> {
    const driver = new H2SessionDriver(
      server.port,
      plan,
      plan === FIREFOX_PLAN ? FIREFOX_HPACK_POLICY : CHROME_HPACK_POLICY,
    );
    drivers.push(driver);
    await driver.whenReady();
    return driver;
  }

  test("GET, with the server's SETTINGS applied and ours acknowledged", async () => {
    const d = await connectDriver();
    const r = await d.request({ path: "/hello", priority: { exclusive: true, dependency: 0, weight: 256 } });
    expect([r.streamId, r.status, bodyText(r)]).toEqual([1, 200, "hello world"]);
    expect(r.fields).toContainEqual(["content-length", "11"]);
    const settings = only(d.events, "settings")[0]?.settings ?? [];
    expect(settings).toContainEqual([3, 10]);
    expect(settings).toContainEqual([4, 16384]);
    expect(only(d.events, "settings-ack")).toHaveLength(1);
  });

  test("request headers arrive in order through the real HPACK encoder (Firefox plan: stream 3 first)", async () => {
    const d = await connectDriver(FIREFOX_PLAN);
    const headers: HeaderField[] = [
      ["user-agent", "test"],
      ["accept", "*/*"],
      ["cookie", "a=1"],
      ["cookie", "b=2"],
      ["x-order", "z"],
    ];
    const first = await d.request({ path: "/headers", headers });
    const second = await d.request({ path: "/headers", headers });
    expect([first.streamId, second.streamId]).toEqual([3, 5]);
    for (const r of [first, second]) {
      const got = JSON.parse(bodyText(r)) as [string, string][];
      expect(got.filter(([n]) => !n.startsWith(":"))).toEqual(headers.map(([n, v]) => [n, v]));
      expect(got.filter(([n]) => n.startsWith(":")).map(([n]) => n)).toEqual([
        ":method",
        ":authority",
        ":scheme",
        ":path",
      ]);
    }
  });

  test("POST of 1 MiB: stream window 16384, connection window 65535, writable events", async () => {
    const d = await connectDriver();
    const body = randBytes(prng(42), 1 << 20);
    const r = await d.request({ method: "POST", path: "/echo", body });
    expect(JSON.parse(bodyText(r))).toEqual({
      length: 1 << 20,
      sha256: createHash("sha256").update(body).digest("hex"),
    });
    expect(only(d.events, "writable").length).toBeGreaterThan(10);
    // No DATA frame went past the stream window of 16384 the server advertised.
    const data = framesOf(d.sent, true).filter((f) => f.type === "DATA");
    expect(data.every((f) => f.data.length <= 16384)).toBe(true);
    expect(data.reduce((n, f) => n + f.data.length, 0)).toBe(1 << 20);
    expect(data.at(-1)?.endStream).toBe(true);
  });

  test("a 1 MiB download through 64 KiB windows: our consumption-driven WINDOW_UPDATEs keep it going", async () => {
    const small: H2ClientPlan = {
      settings: [[2, 0]],
      connectionWindowIncrement: 0,
      priorityFrames: [],
      firstStreamId: 1,
    };
    const d = await connectDriver(small);
    const r = await d.request({ path: `/bytes?n=${1 << 20}` });
    expect(r.body.length).toBe(1 << 20);
    expect(r.body.every((b, i) => b === i % 251)).toBe(true);
    const updates = framesOf(d.sent, true).filter((f) => f.type === "WINDOW_UPDATE");
    // Each update returns at least half a window (65535 / 2), never less (browser-like batching).
    expect(updates.length).toBeGreaterThan(20);
    expect(updates.every((f) => f.increment >= 32768)).toBe(true);
  });

  test("100 requests with MAX_CONCURRENT_STREAMS 10: queued, all answered, never over 10", async () => {
    const d = await connectDriver();
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => d.request({ path: `/item/${i}` })),
    );
    expect(responses.map(bodyText)).toEqual(Array.from({ length: 100 }, (_, i) => `item ${i}`));
    expect(responses.every((r) => r.status === 200 && r.reset === null)).toBe(true);
    expect(d.peakActive).toBe(10);
    expect(only(d.events, "open-capacity").length).toBeGreaterThan(0);
    expect(new Set(responses.map((r) => r.streamId)).size).toBe(100);
  });

  test("response trailers", async () => {
    const d = await connectDriver();
    const r = await d.request({ path: "/trailers" });
    expect([r.status, bodyText(r)]).toEqual([200, "with trailers"]);
    expect(r.trailers).toEqual([
      ["x-checksum", "abc123"],
      ["x-count", "2"],
    ]);
  });

  test("a 103 interim response before the final one", async () => {
    const d = await connectDriver();
    const r = await d.request({ path: "/early-hints" });
    expect(r.interim).toEqual([
      {
        status: 103,
        fields: [
          [":status", "103"],
          ["link", "</style.css>; rel=preload; as=style"],
        ],
      },
    ]);
    expect([r.status, bodyText(r)]).toEqual([200, "after hints"]);
  });

  test("RST_STREAM from the server, the connection goes on", async () => {
    const d = await connectDriver();
    const r = await d.request({ path: `/rst?code=${H2ErrorCode.ENHANCE_YOUR_CALM}` });
    expect(r.reset).toEqual({ code: H2ErrorCode.ENHANCE_YOUR_CALM, remote: true, retryable: false });
    const refused = await d.request({ path: `/rst?code=${REFUSED_STREAM}` });
    expect(refused.reset).toEqual({ code: REFUSED_STREAM, remote: true, retryable: true });
    expect(bodyText(await d.request({ path: "/hello" }))).toBe("hello world");
  });

  test("GOAWAY: streams above the last id are refused and retryable, those below complete", async () => {
    const d = await connectDriver();
    const held = d.request({ path: "/hold" }); // stream 1
    const bye = d.request({ path: "/goaway?last=3" }); // stream 3
    const above = [d.request({ path: "/hold" }), d.request({ path: "/hold" })]; // 5, 7
    const [h, b, ...refused] = await Promise.all([held, bye, ...above]);
    expect([h?.streamId, h?.status, h && bodyText(h)]).toEqual([1, 200, "released"]);
    expect([b?.streamId, b?.status]).toEqual([3, 200]);
    expect(refused.map((r) => [r?.streamId, r?.reset])).toEqual([
      [5, { code: REFUSED_STREAM, remote: true, retryable: true }],
      [7, { code: REFUSED_STREAM, remote: true, retryable: true }],
    ]);
    expect(only(d.events, "goaway")[0]).toMatchObject({ lastStreamId: 3, code: 0 });
    expect(d.session.openStream({ fields: GET, endStream: true })).toEqual({
      ok: false,
      reason: "going-away",
    });
  });

  test("the server's SETTINGS_HEADER_TABLE_SIZE change: the next block starts with a size update nghttp2 accepts", async () => {
    const d = await connectDriver();
    const headers: HeaderField[] = [
      ["x-a", "1".repeat(100)],
      ["x-b", "2".repeat(100)],
    ];
    await d.request({ path: "/headers", headers }); // fills the dynamic table
    await d.request({ path: "/table-size?n=64" });
    const settings = only(d.events, "settings").map((e) => e.settings);
    expect(settings.at(-1)).toEqual([[1, 64]]);
    const sentBefore = d.sent.length;
    const after = await d.request({ path: "/headers", headers });
    const got = JSON.parse(bodyText(after)) as [string, string][];
    expect(got.filter(([n]) => !n.startsWith(":"))).toEqual(headers.map(([n, v]) => [n, v]));
    const head = framesOf(d.sent.slice(sentBefore), false).find(
      (f): f is HeadersFrame => f.type === "HEADERS",
    );
    expect(head?.block[0]).toBe(0x20 | 31); // size update to 64: 001 11111 + 33
    expect(head?.block[1]).toBe(33);
    // And a table that small keeps working for more requests.
    expect((await d.request({ path: "/hello" })).status).toBe(200);
  });
});
