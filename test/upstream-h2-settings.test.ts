/**
 * The upstream HTTP/2 connection and the origin's SETTINGS (src/http/bridge/upstream-h2.ts), on an
 * endpoint in memory: the first request leaves with the preface (Chromium's order), nothing else
 * goes out before the origin's SETTINGS (no second stream, no request DATA, not even on a socket
 * drain), a connection whose SETTINGS never come is given up, and requests waiting for a stream
 * slot when the origin sends GOAWAY are handed back at once to go on another connection (never
 * sent, so bodies too), not left waiting for a slot that will never free.
 */
import { describe, expect, test } from "bun:test";
import type { ProxyError } from "../src/errors/proxy-error.ts";
import { DeferredSink } from "../src/http/bridge/deferred-sink.ts";
import type { Responder } from "../src/http/bridge/message.ts";
import { isRefused } from "../src/http/bridge/retry.ts";
import { UpstreamH2 } from "../src/http/bridge/upstream-h2.ts";
import { FrameReader } from "../src/http/h2/frame-reader.ts";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import { SettingId } from "../src/http/h2/settings.ts";
import type { EndpointHandlers } from "../src/proxy/endpoint.ts";
import { minimalH2Profile, UPSTREAM_GET } from "./helpers/h2-fixtures.ts";
import { memoryEndpoint } from "./helpers/memory-endpoint.ts";

/** An UpstreamH2 on an endpoint whose writes say `room()`, recording the frames it sends. */
function upstream(settingsTimeoutMs?: number, responseTimeoutMs?: number) {
  const reader = new FrameReader();
  const sent: string[] = [];
  let preface = true;
  let room = true;
  const ep = memoryEndpoint((bytes) => {
    reader.push(preface ? bytes.subarray(24) : bytes);
    preface = false;
    for (let f = reader.next(); f; f = reader.next())
      sent.push(`${f.type}${"streamId" in f && f.streamId !== 0 ? f.streamId : ""}`);
  });
  const write = ep.write.bind(ep);
  ep.write = (chunk) => write(chunk) && room;
  const up = new UpstreamH2(ep, minimalH2Profile(), settingsTimeoutMs, responseTimeoutMs);
  const handlers = () => ep.handlers as EndpointHandlers;
  const from = (bytes: Uint8Array) => handlers().data(bytes);
  return {
    up,
    sent,
    from,
    handlers,
    setRoom: (r: boolean) => {
      room = r;
    },
  };
}

const GET = UPSTREAM_GET;
const POST = {
  ...GET,
  fields: [[":method", "POST"], ...GET.fields.slice(1)] as [string, string][],
  hasBody: true,
};

function recorder(): Responder & { failed: ProxyError | null } {
  const r = {
    failed: null as ProxyError | null,
    interim() {},
    head: () => ({ write: () => true, end() {}, abort() {}, onDrain: null }),
    fail(err: ProxyError) {
      r.failed = err;
    },
  };
  return r;
}

const settings = (s: [number, number][] = []) => encodeFrame({ type: "SETTINGS", ack: false, settings: s });
const sentOf = (sent: string[], prefix: string) => sent.filter((f) => f.startsWith(prefix));

describe("upstream HTTP/2 before the origin's SETTINGS", () => {
  test("the first request goes with the preface; a second stream and request DATA wait, a drain included", () => {
    const { up, sent, from, handlers, setRoom } = upstream();
    const body = new DeferredSink();
    setRoom(false); // the first write fills the socket
    up.request(POST, recorder(), body);
    setRoom(true);
    up.request(GET, recorder(), new DeferredSink());
    body.write(new Uint8Array(100));
    handlers().drain(); // the socket has room again: still nothing but what was sent
    expect(sent.filter((f) => f !== "WINDOW_UPDATE")).toEqual(["SETTINGS", "HEADERS1"]);
    from(settings([[SettingId.INITIAL_WINDOW_SIZE, 1000]]));
    expect(sentOf(sent, "HEADERS")).toEqual(["HEADERS1", "HEADERS3"]);
    expect(sentOf(sent, "DATA")).toEqual(["DATA1"]);
  });

  test("SETTINGS that never come give the connection up; the waiting requests fail too", async () => {
    const { up } = upstream(50);
    const first = recorder();
    const second = recorder();
    up.request(GET, first, new DeferredSink());
    up.request(GET, second, new DeferredSink());
    for (let i = 0; i < 200 && second.failed === null; i++) await Bun.sleep(5);
    expect(first.failed?.message).toBe("upstream sent no HTTP/2 SETTINGS within 50 ms");
    expect(second.failed).not.toBeNull();
    expect(up.closed).toBe(true);
  });
});

describe("requests waiting for a stream slot on a connection that goes away", () => {
  test("GOAWAY: handed back at once, body and all (never sent), to go on another connection; the open stream goes on", () => {
    const { up, from } = upstream();
    const requeued: string[] = [];
    up.owner = {
      h2Gone() {},
      h2Requeue(req) {
        requeued.push(`${req.fields[0]?.[1]} body=${req.hasBody}`);
      },
    };
    from(settings([[SettingId.MAX_CONCURRENT_STREAMS, 1]]));
    const a = recorder();
    const b = recorder();
    up.request(GET, a, new DeferredSink());
    up.request(POST, b, new DeferredSink()); // waits for the only slot
    from(encodeFrame({ type: "GOAWAY", lastStreamId: 1, code: 0, debug: new Uint8Array(0) }));
    expect(requeued).toEqual(["POST body=true"]);
    expect([a.failed, b.failed]).toEqual([null, null]);
  });

  test("a request handed on 3 times already is refused the 4th, not handed on for ever", () => {
    const { up, from } = upstream();
    let requeued = 0;
    up.owner = {
      h2Gone() {},
      h2Requeue() {
        requeued++;
      },
    };
    from(settings([[SettingId.MAX_CONCURRENT_STREAMS, 1]]));
    const b = recorder();
    up.request(GET, recorder(), new DeferredSink());
    up.request({ ...GET, requeued: 3 }, b, new DeferredSink());
    from(encodeFrame({ type: "GOAWAY", lastStreamId: 1, code: 0, debug: new Uint8Array(0) }));
    expect(requeued).toBe(0);
    expect(isRefused(b.failed as ProxyError)).toBe(true);
  });

  test("without an owner to take them they are refused (the dispatcher's retry rules apply)", () => {
    const { up, from } = upstream();
    from(settings([[SettingId.MAX_CONCURRENT_STREAMS, 1]]));
    const b = recorder();
    up.request(GET, recorder(), new DeferredSink());
    up.request(GET, b, new DeferredSink());
    from(encodeFrame({ type: "GOAWAY", lastStreamId: 1, code: 0, debug: new Uint8Array(0) }));
    expect(isRefused(b.failed as ProxyError)).toBe(true);
  });

  test("an origin that never sent SETTINGS: they fail with its error, not handed on to fail again", async () => {
    const { up } = upstream(50);
    let requeued = 0;
    up.owner = {
      h2Gone() {},
      h2Requeue() {
        requeued++;
      },
    };
    const second = recorder();
    up.request(GET, recorder(), new DeferredSink());
    up.request(GET, second, new DeferredSink());
    for (let i = 0; i < 200 && second.failed === null; i++) await Bun.sleep(5);
    expect(second.failed?.message).toBe("upstream sent no HTTP/2 SETTINGS within 50 ms");
    expect(requeued).toBe(0);
  });
});

describe("an extended CONNECT (a WebSocket, RFC 8441) and the origin's SETTINGS", () => {
  const CONNECT = {
    ...GET,
    fields: [
      [":method", "CONNECT"],
      [":authority", "a.test"],
      [":scheme", "https"],
      [":path", "/ws"],
      [":protocol", "websocket"],
    ] as [string, string][],
    tunnel: true,
  };

  test("waits for the SETTINGS, even as the first request; they enable it: the stream opens", () => {
    const { up, sent, from } = upstream();
    const r = recorder();
    let fellBack = false;
    up.request({ ...CONNECT, fallback: () => (fellBack = true) }, r, new DeferredSink());
    expect(sentOf(sent, "HEADERS")).toEqual([]); // even as the first request
    from(settings([[SettingId.ENABLE_CONNECT_PROTOCOL, 1]]));
    expect(sentOf(sent, "HEADERS")).toEqual(["HEADERS1"]);
    expect(up.extendedConnect).toBe(true);
    expect([fellBack, r.failed]).toEqual([false, null]);
  });

  test("they do not enable it: the request goes its fallback way (a connection of its own), nothing sent", () => {
    const { up, sent, from } = upstream();
    const r = recorder();
    let fellBack = false;
    up.request({ ...CONNECT, fallback: () => (fellBack = true) }, r, new DeferredSink());
    from(settings());
    expect(fellBack).toBe(true);
    expect(r.failed).toBeNull();
    expect(sentOf(sent, "HEADERS")).toEqual([]);
  });

  test("a connection that fails before its SETTINGS is unusable to what waited for them", () => {
    const { up, handlers } = upstream();
    const seen: boolean[] = [];
    up.whenSettled(() => seen.push(up.usable));
    handlers().end();
    expect(seen).toEqual([false]);
  });
});

describe("SETTINGS the endpoint delivers as it starts (held while the tunnel waited for its client)", () => {
  test("settle the connection: no SETTINGS deadline is left to fail it later", async () => {
    const ep = memoryEndpoint();
    const start = ep.start.bind(ep);
    ep.start = (h) => {
      start(h);
      h.data(settings()); // already read: delivered at once
    };
    const up = new UpstreamH2(ep, minimalH2Profile(), 30);
    expect(up.usable).toBe(true);
    await Bun.sleep(80); // past the 30 ms SETTINGS deadline
    expect(up.usable).toBe(true);
    expect(up.closed).toBe(false);
  });
});

describe("the response-head deadline and the origin's MAX_CONCURRENT_STREAMS", () => {
  test("a stream that timed out frees its slot at once: the request waiting for it goes out", async () => {
    const { up, sent, from } = upstream(undefined, 40);
    from(settings([[SettingId.MAX_CONCURRENT_STREAMS, 1]]));
    const stalled = recorder();
    const waiting = recorder();
    up.request(GET, stalled, new DeferredSink());
    up.request(GET, waiting, new DeferredSink());
    expect(sentOf(sent, "HEADERS")).toEqual(["HEADERS1"]); // the second waits for the slot
    for (let i = 0; i < 50 && stalled.failed === null; i++) await Bun.sleep(10);
    expect(stalled.failed?.code).toBe("UPSTREAM_TIMEOUT");
    expect(sentOf(sent, "RST_STREAM")).toEqual(["RST_STREAM1"]);
    expect(sentOf(sent, "HEADERS")).toEqual(["HEADERS1", "HEADERS3"]); // no frame from the origin needed
    expect(waiting.failed).toBeNull();
    up.close();
  });
});

describe("an endpoint that is full (the origin does not read what the proxy sends)", () => {
  test("frames the origin asks answers to (PING) wait in the session, not the endpoint; a flood of them ends the connection", () => {
    const { up, sent, from, handlers, setRoom } = upstream();
    from(settings());
    const r = recorder();
    setRoom(false); // the next write finds the endpoint full
    up.request(GET, r, new DeferredSink());
    const ping = encodeFrame({ type: "PING", ack: false, opaque: new Uint8Array(8) });
    for (let i = 0; i < 500; i++) from(ping);
    expect(sentOf(sent, "PING")).toHaveLength(0); // nothing handed to the full endpoint
    setRoom(true);
    handlers().drain();
    expect(sentOf(sent, "PING")).toHaveLength(500); // all of them once it has room
    // Before, each answer went to the endpoint at once, full or not, which buffered them without
    // end (3.5 GB in 12 s); now a flood reaches the session's bound and ends the connection.
    setRoom(false);
    up.request(GET, recorder(), new DeferredSink());
    for (let i = 0; i < 2000 && !up.closed; i++) from(ping);
    expect(up.closed).toBe(true);
    expect(r.failed?.message).toContain("without progress");
  });
});
