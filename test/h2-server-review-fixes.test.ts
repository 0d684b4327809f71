/**
 * Regressions found in review of the server role and the upstream HTTP/2 adapter (in memory):
 * an exchange whose response failed while the client still uploads lets go of the upload at once;
 * local answers (421) do not earn back the rapid-reset budget; requests cancelled while waiting for
 * the origin's MAX_CONCURRENT_STREAMS do not pile up; the slot a cancel frees is used at once; and
 * request body chunks written after `false` (kept as a list now, not re-concatenated per write)
 * all go out in order.
 */
import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { DeferredSink } from "../src/http/bridge/deferred-sink.ts";
import type { Responder } from "../src/http/bridge/message.ts";
import { UpstreamH2 } from "../src/http/bridge/upstream-h2.ts";
import { FrameReader } from "../src/http/h2/frame-reader.ts";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import { SettingId } from "../src/http/h2/settings.ts";
import { CHROME_HPACK_POLICY, HpackEncoder } from "../src/http/hpack/index.ts";
import type { EndpointHandlers } from "../src/proxy/endpoint.ts";
import { minimalH2Profile, UPSTREAM_GET } from "./helpers/h2-fixtures.ts";
import { Bridge, req } from "./helpers/h2-server-bridge.ts";
import { memoryEndpoint } from "./helpers/memory-endpoint.ts";

describe("server role", () => {
  test("a response that fails while the client still uploads aborts the upload's sink at once", () => {
    const b = new Bridge();
    const N = 50;
    for (let i = 0; i < N; i++) {
      const id = 1 + 2 * i;
      b.headers(id, req("POST", "/up"), false);
      b.data(id, new Uint8Array(10));
      const sink = (b.seen[i] as (typeof b.seen)[number]).responder.head(200, [], false);
      sink.abort(new ProxyError("UPSTREAM_TRUNCATED", "origin died mid-response"));
    }
    expect(b.of("RST_STREAM").length).toBe(N);
    // Not held until the connection ends: every request sink was told now.
    expect(b.seen.filter((s) => s.aborted !== null).length).toBe(N);
    b.server.close();
  });

  test("local answers do not refill the rapid-reset budget: alternating 421s and resets ends in GOAWAY", () => {
    const b = new Bridge();
    let id = 1;
    for (let i = 0; i < 3000 && b.of("GOAWAY").length === 0; i++) {
      b.headers(id, req("GET", "/", [], "elsewhere.test"), true); // answered 421 locally
      id += 2;
      b.headers(id, req("GET", "/"), true); // dispatched, then reset by the client
      b.send(encodeFrame({ type: "RST_STREAM", streamId: id, code: 8 }));
      // Progress of another kind, so the no-progress frame rule is not what ends it.
      b.send(encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: 200 }));
      id += 2;
    }
    const goaway = b.of("GOAWAY");
    expect(goaway.length).toBe(1);
    expect((goaway[0] as { code: number }).code).toBe(0xb); // ENHANCE_YOUR_CALM
  });
});

/** An UpstreamH2 on a fake endpoint recording the frame types and stream ids it sends. */
function upstream(): { up: UpstreamH2; from: (bytes: Uint8Array) => void; sent: string[]; data: number[] } {
  const reader = new FrameReader();
  const sent: string[] = [];
  const data: number[] = [];
  let preface = true;
  const ep = memoryEndpoint((bytes) => {
    reader.push(preface ? bytes.subarray(24) : bytes);
    preface = false;
    for (let f = reader.next(); f; f = reader.next()) {
      sent.push(`${f.type}${"streamId" in f ? f.streamId : ""}`);
      if (f.type === "DATA") data.push(...f.data);
    }
  });
  const profile = minimalH2Profile();
  const up = new UpstreamH2(ep, profile);
  const from = (bytes: Uint8Array) => (ep.handlers as EndpointHandlers).data(bytes);
  from(encodeFrame({ type: "SETTINGS", ack: false, settings: [[SettingId.MAX_CONCURRENT_STREAMS, 1]] }));
  return { up, from, sent, data };
}

const GET = UPSTREAM_GET;
const quiet: Responder = {
  interim() {},
  head: () => ({ write: () => true, end() {}, abort() {}, onDrain: null }),
  fail() {},
};
const reset = new ProxyError("IO", "client reset the stream");

describe("upstream HTTP/2 under MAX_CONCURRENT_STREAMS 1", () => {
  test("the slot a cancel frees goes to the next waiting request at once", () => {
    const { up, sent } = upstream();
    const first = new DeferredSink();
    up.request(GET, quiet, first);
    up.request(GET, quiet, new DeferredSink()); // waits for the slot
    first.abort(reset);
    expect(sent.filter((f) => f.startsWith("HEADERS") || f.startsWith("RST_STREAM"))).toEqual([
      "HEADERS1",
      "RST_STREAM1",
      "HEADERS3",
    ]);
  });

  test("requests cancelled while waiting are swept out, not kept until a slot frees", () => {
    const { up, from, sent } = upstream();
    up.request(GET, quiet, new DeferredSink()); // stream 1 holds the only slot
    let reads = 0;
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      const s = new DeferredSink();
      const link = {
        attach: (x: Parameters<DeferredSink["attach"]>[0]) => s.attach(x),
        get cancelled() {
          reads++;
          return s.cancelled;
        },
      };
      up.request(GET, quiet, link);
      s.abort(reset);
    }
    reads = 0;
    const block = new HpackEncoder(CHROME_HPACK_POLICY).encode([[":status", "200"]]);
    from(encodeFrame({ type: "HEADERS", streamId: 1, endStream: true, endHeaders: true, block }));
    expect(reads).toBeLessThan(200); // at most the unswept tail is visited
    expect(sent.filter((f) => f.startsWith("HEADERS"))).toEqual(["HEADERS1"]); // none was sent
  });
});

test("upstream HTTP/2: a producer writing 1-byte chunks after `false` gets them all out, in order", () => {
  const { up, from, data } = upstream();
  const link = new DeferredSink();
  up.request({ ...GET, hasBody: true }, quiet, link);
  const first = new Uint8Array(70_000).fill(1); // more than the 65,535-byte stream window
  expect(link.write(first)).toBe(false);
  const tail = Array.from({ length: 5000 }, (_, i) => (i % 250) + 2);
  for (const b of tail) link.write(Uint8Array.of(b));
  link.end(null);
  from(encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: 1 << 20 }));
  from(encodeFrame({ type: "WINDOW_UPDATE", streamId: 1, increment: 1 << 20 }));
  expect(data.length).toBe(first.length + tail.length);
  expect(data.slice(first.length)).toEqual(tail);
});
