/**
 * The server-role HTTP/2 session (src/http/h2/server-session.ts), pure: scripted client frames in,
 * whole, byte by byte and in random pieces (the events must not depend on the split), and the
 * session's frames read back.
 */
import { describe, expect, test } from "bun:test";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { CLIENT_MAGIC } from "../src/http/h2/frame-types.ts";
import { concatBytes, encodeFrame } from "../src/http/h2/frame-writer.ts";
import { SettingId } from "../src/http/h2/settings.ts";
import type { HeaderField } from "../src/http/hpack/types.ts";
import { GET, OPTS, Peer, plain, ready } from "./helpers/h2-server-peer.ts";

const text = (s: string) => new TextEncoder().encode(s);
const POST: HeaderField[] = [
  [":method", "POST"],
  [":scheme", "https"],
  [":authority", "example.test"],
  [":path", "/up"],
  ["content-type", "text/plain"],
];
const SPLITS = ["whole", "bytes", 1, 2, 3, 42] as const;

function goawayCode(p: Peer): number | undefined {
  const g = p.of("GOAWAY")[0];
  return g?.code;
}

describe("connection preface and settings", () => {
  test("our SETTINGS and the 1 MiB connection window go first; the client's SETTINGS are ACKed", () => {
    const p = new Peer({ maxConcurrentStreams: 7, maxHeaderListSize: 4096 });
    const [settings, update] = p.frames;
    expect(settings).toMatchObject({
      type: "SETTINGS",
      ack: false,
      settings: [
        [SettingId.MAX_CONCURRENT_STREAMS, 7],
        [SettingId.ENABLE_PUSH, 0],
        [SettingId.MAX_HEADER_LIST_SIZE, 4096],
      ],
    });
    expect(update).toMatchObject({ type: "WINDOW_UPDATE", streamId: 0, increment: (1 << 20) - 65535 });
    p.feed(Peer.preface([[0x1234, 5]]), "bytes"); // an extension setting is ignored
    expect(p.frames.at(-1)).toMatchObject({ type: "SETTINGS", ack: true });
    expect(p.session.closed).toBe(false);
  });

  test("the connection window holds every stream's window (no stream's held bytes can starve another)", () => {
    const windows = (maxConcurrentStreams: number) => {
      const p = new Peer({ maxConcurrentStreams, maxHeaderListSize: 4096 });
      const [settings, update] = p.frames;
      const initial =
        settings?.type === "SETTINGS"
          ? (settings.settings.find(([id]) => id === SettingId.INITIAL_WINDOW_SIZE)?.[1] ?? 65535)
          : -1;
      return [initial, update?.type === "WINDOW_UPDATE" ? update.increment + 65535 : -1];
    };
    expect(windows(7)).toEqual([65535, 1 << 20]); // at least 1 MiB
    expect(windows(100)).toEqual([65535, 100 * 65535]);
    expect(windows(1000)).toEqual([Math.floor((16 << 20) / 1000), 16 << 20]); // at most 16 MiB
  });

  test("a wrong magic or a first frame other than SETTINGS ends the connection (PROTOCOL_ERROR)", () => {
    const bad = new Peer();
    bad.feed(text("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect(goawayCode(bad)).toBe(H2ErrorCode.PROTOCOL_ERROR);
    const noSettings = new Peer();
    const ping = encodeFrame({ type: "PING", ack: false, opaque: new Uint8Array(8) });
    const events = noSettings.feed(concatBytes([CLIENT_MAGIC, ping]));
    expect(goawayCode(noSettings)).toBe(H2ErrorCode.PROTOCOL_ERROR);
    expect(events.map((e) => e.type)).toEqual(["connection-error"]);
  });

  test("PING is answered with the same opaque data; unknown frame types are ignored", () => {
    const p = ready();
    const opaque = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    p.feed(
      concatBytes([
        encodeFrame({ type: "UNKNOWN", frameType: 0xfa, flags: 0xff, streamId: 9, payload: text("grease") }),
        encodeFrame({ type: "PING", ack: false, opaque }),
      ]),
    );
    const ack = p.of("PING")[0];
    expect(ack?.ack).toBe(true);
    expect([...(ack?.opaque ?? [])]).toEqual([...opaque]);
  });
});

describe("requests", () => {
  for (const split of SPLITS) {
    test(`a GET and a POST with padding, priority, CONTINUATION and trailers (split: ${split})`, () => {
      const p = ready();
      const e = p.encoder;
      const getBlock = e.encode([...GET, ["user-agent", "t"], ["x-b", "2"], ["x-a", "1"]]);
      const postBlock = e.encode([...POST, ["content-length", "5"]]);
      const trailerBlock = e.encode([["x-sum", "abc"]]);
      const bytes = concatBytes([
        encodeFrame({
          type: "HEADERS",
          streamId: 1,
          endStream: true,
          endHeaders: true,
          block: getBlock,
          padLength: 3,
          priority: { exclusive: true, dependency: 0, weight: 256 },
        }),
        encodeFrame({
          type: "HEADERS",
          streamId: 3,
          endStream: false,
          endHeaders: false,
          block: postBlock.subarray(0, 4),
        }),
        encodeFrame({
          type: "CONTINUATION",
          streamId: 3,
          endHeaders: false,
          block: postBlock.subarray(4, 9),
        }),
        encodeFrame({ type: "CONTINUATION", streamId: 3, endHeaders: true, block: postBlock.subarray(9) }),
        encodeFrame({ type: "DATA", streamId: 3, endStream: false, data: text("he"), padLength: 10 }),
        encodeFrame({ type: "DATA", streamId: 3, endStream: false, data: text("llo") }),
        encodeFrame({ type: "HEADERS", streamId: 3, endStream: true, endHeaders: true, block: trailerBlock }),
      ]);
      const events = plain(p.feed(bytes, split));
      const data = events.filter((ev) => (ev as { type: string }).type === "data");
      expect(data.map((d) => (d as { data: string }).data).join("")).toBe("hello");
      expect(events.filter((ev) => (ev as { type: string }).type !== "data")).toEqual([
        {
          type: "request",
          streamId: 1,
          endStream: true,
          oversize: false,
          request: {
            method: "GET",
            scheme: "https",
            authority: "example.test",
            path: "/p",
            protocol: null,
            contentLength: null,
            fields: [
              ["user-agent", "t"],
              ["x-b", "2"],
              ["x-a", "1"],
            ],
          },
        },
        { type: "end", streamId: 1, trailers: null },
        {
          type: "request",
          streamId: 3,
          endStream: false,
          oversize: false,
          request: {
            method: "POST",
            scheme: "https",
            authority: "example.test",
            path: "/up",
            protocol: null,
            contentLength: 5,
            fields: [
              ["content-type", "text/plain"],
              ["content-length", "5"],
            ],
          },
        },
        { type: "end", streamId: 3, trailers: [["x-sum", "abc"]] },
      ]);
      expect(p.of("RST_STREAM")).toEqual([]);
      expect(p.session.closed).toBe(false);
    });
  }

  const malformed: [string, HeaderField[]][] = [
    ["no :method", GET.filter(([n]) => n !== ":method")],
    ["no :scheme", GET.filter(([n]) => n !== ":scheme")],
    ["no :path", GET.filter(([n]) => n !== ":path")],
    ["empty :path", [...GET.filter(([n]) => n !== ":path"), [":path", ""]]],
    ["relative :path", [...GET.filter(([n]) => n !== ":path"), [":path", "p"]]],
    ["space in :path", [...GET.filter(([n]) => n !== ":path"), [":path", "/a b"]]],
    ["fragment in :path", [...GET.filter(([n]) => n !== ":path"), [":path", "/a#b"]]],
    ["non-ASCII in :path", [...GET.filter(([n]) => n !== ":path"), [":path", "/\xff"]]],
    ["duplicate :path", [...GET, [":path", "/q"]]],
    ["unknown pseudo-header", [...GET, [":foo", "1"]]],
    ["response pseudo-header", [...GET, [":status", "200"]]],
    ["pseudo-header after a field", [...GET.slice(0, 3), ["x", "1"], GET[3] as HeaderField]],
    ["uppercase name", [...GET, ["X-Up", "1"]]],
    ["space in a name", [...GET, ["x y", "1"]]],
    ["connection", [...GET, ["connection", "keep-alive"]]],
    ["transfer-encoding", [...GET, ["transfer-encoding", "chunked"]]],
    ["upgrade", [...GET, ["upgrade", "websocket"]]],
    ["keep-alive", [...GET, ["keep-alive", "5"]]],
    ["proxy-connection", [...GET, ["proxy-connection", "close"]]],
    ["te gzip", [...GET, ["te", "gzip"]]],
    ["CR LF in a value", [...GET, ["x", "a\r\nb: c"]]],
    ["NUL in a value", [...GET, ["x", "a\0b"]]],
    ["leading space in a value", [...GET, ["x", " a"]]],
    ["bad content-length", [...GET, ["content-length", "1x"]]],
    ["conflicting content-length", [...GET, ["content-length", "1"], ["content-length", "2"]]],
  ];
  for (const [what, fields] of malformed) {
    test(`malformed (${what}): RST_STREAM(PROTOCOL_ERROR), never reported; the connection goes on`, () => {
      const p = ready();
      const events = p.feed(concatBytes([p.headers(1, fields, false), p.headers(3, GET, true)]));
      expect(p.of("RST_STREAM")).toMatchObject([{ streamId: 1, code: H2ErrorCode.PROTOCOL_ERROR }]);
      expect(events.map((e) => [e.type, "streamId" in e ? e.streamId : 0])).toEqual([
        ["request", 3],
        ["end", 3],
      ]);
    });
  }

  test("te: trailers, :protocol and CONNECT are reported (the caller answers them)", () => {
    const p = ready();
    const events = p.feed(
      concatBytes([
        p.headers(1, [...GET, ["te", "trailers"]], true),
        p.headers(3, [...GET, [":protocol", "websocket"]], false),
        p.headers(
          5,
          [
            [":method", "CONNECT"],
            [":authority", "a:1"],
          ],
          false,
        ),
      ]),
    );
    const reqs = events.filter((e) => e.type === "request");
    expect(reqs.map((e) => (e.type === "request" ? [e.request.method, e.request.protocol] : []))).toEqual([
      ["GET", null],
      ["GET", "websocket"],
      ["CONNECT", null],
    ]);
  });

  test("PRIORITY naming itself (§5.3.1): an open stream is reset, an idle one ends the connection", () => {
    // By hand: our frame writer refuses to write one.
    const self = (id: number) => Uint8Array.from([0, 0, 5, 0x2, 0, 0, 0, 0, id, 0, 0, 0, id, 15]);
    const open = ready();
    const events = open.feed(
      concatBytes([open.headers(1, POST, false), self(1), open.headers(3, GET, true)]),
    );
    expect(open.of("RST_STREAM")).toMatchObject([{ streamId: 1, code: H2ErrorCode.PROTOCOL_ERROR }]);
    expect(events.map((e) => [e.type, "streamId" in e ? e.streamId : 0])).toEqual([
      ["request", 1],
      ["reset", 1],
      ["request", 3],
      ["end", 3],
    ]);
    expect(open.of("GOAWAY")).toEqual([]);
    const idle = ready();
    idle.feed(self(5));
    expect(goawayCode(idle)).toBe(H2ErrorCode.PROTOCOL_ERROR);
    expect(idle.of("RST_STREAM")).toEqual([]);
  });

  test("the host field stands in for a missing :authority", () => {
    const p = ready();
    const fields = [...GET.filter(([n]) => n !== ":authority"), ["host", "h.test"] as HeaderField];
    const [ev] = p.feed(p.headers(1, fields, true));
    expect(ev?.type === "request" && ev.request.authority).toBe("h.test");
  });

  test("DATA beyond or short of content-length resets the stream (reported)", () => {
    for (const [data, end] of [
      ["toolong", false],
      ["abc", true],
    ] as const) {
      const p = ready();
      const events = p.feed(
        concatBytes([
          p.headers(1, [...POST, ["content-length", "5"]], false),
          encodeFrame({ type: "DATA", streamId: 1, endStream: end, data: text(data) }),
        ]),
      );
      expect(p.of("RST_STREAM")).toMatchObject([{ streamId: 1, code: H2ErrorCode.PROTOCOL_ERROR }]);
      expect(events.at(-1)).toMatchObject({ type: "reset", streamId: 1, remote: false });
    }
    const p = ready();
    p.feed(p.headers(1, [...POST, ["content-length", "5"]], true));
    expect(p.of("RST_STREAM")).toMatchObject([{ streamId: 1, code: H2ErrorCode.PROTOCOL_ERROR }]);
  });

  test("stream ids: even → PROTOCOL_ERROR; going back to a used id → PROTOCOL_ERROR", () => {
    const even = ready();
    even.feed(even.headers(2, GET, true));
    expect(goawayCode(even)).toBe(H2ErrorCode.PROTOCOL_ERROR);
    const back = ready();
    back.feed(concatBytes([back.headers(5, GET, true), back.headers(3, GET, true)]));
    expect(goawayCode(back)).toBe(H2ErrorCode.PROTOCOL_ERROR);
  });

  test("DATA, RST_STREAM or WINDOW_UPDATE on an idle stream is a connection error", () => {
    for (const f of [
      encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: text("x") }),
      encodeFrame({ type: "RST_STREAM", streamId: 1, code: 8 }),
      encodeFrame({ type: "WINDOW_UPDATE", streamId: 1, increment: 1 }),
    ]) {
      const p = ready();
      p.feed(f);
      expect(goawayCode(p)).toBe(H2ErrorCode.PROTOCOL_ERROR);
    }
  });

  test("PUSH_PROMISE from a client ends the connection (PROTOCOL_ERROR); GOAWAY names the last stream", () => {
    const p = ready();
    p.feed(
      concatBytes([
        p.headers(1, GET, true),
        encodeFrame({
          type: "PUSH_PROMISE",
          streamId: 1,
          endHeaders: true,
          promisedStreamId: 2,
          block: new Uint8Array(0),
        }),
      ]),
    );
    expect(p.of("GOAWAY")).toMatchObject([{ code: H2ErrorCode.PROTOCOL_ERROR, lastStreamId: 1 }]);
    expect(p.session.closed).toBe(true);
  });

  test("streams past MAX_CONCURRENT_STREAMS are refused (REFUSED_STREAM); a finished one frees a slot", () => {
    const p = ready([], { ...OPTS, maxConcurrentStreams: 2 });
    const events = p.feed(
      concatBytes([p.headers(1, GET, true), p.headers(3, GET, true), p.headers(5, GET, true)]),
    );
    expect(events.filter((e) => e.type === "request").length).toBe(2);
    expect(p.of("RST_STREAM")).toMatchObject([{ streamId: 5, code: H2ErrorCode.REFUSED_STREAM }]);
    p.session.respond(1, 204, [[":status", "204"]], true);
    const more = p.feed(p.headers(7, GET, true));
    expect(more[0]).toMatchObject({ type: "request", streamId: 7 });
  });

  test("a header list over our limit is reported oversize; past twice the limit the connection ends", () => {
    const p = ready([], { ...OPTS, maxHeaderListSize: 1024 });
    const [ev] = p.feed(p.headers(1, [...GET, ["x-big", "a".repeat(1500)]], true));
    expect(ev).toMatchObject({ type: "request", oversize: true });
    p.feed(p.headers(3, [...GET, ["x-huge", "a".repeat(40_000)]], true));
    expect(p.session.closed).toBe(true);
    // A small block that decodes past the decoder's bound (twice the limit, at least 16 KiB: one
    // table entry referenced again and again) is the same flood: ENHANCE_YOUR_CALM, not a
    // compression error.
    const q = ready([], { ...OPTS, maxHeaderListSize: 1024 });
    const big: HeaderField = ["x-a", "b".repeat(900)];
    q.feed(q.headers(1, [...GET, big], true)); // inserted into the table
    q.feed(q.headers(3, [...GET, ...Array.from({ length: 40 }, () => big)], true)); // 1-byte references
    expect(goawayCode(q)).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);
  });

  test("the client's RST_STREAM is reported; DATA it sends after it is a stream error (STREAM_CLOSED, §5.1)", () => {
    const p = ready();
    p.feed(p.headers(1, POST, false));
    const events = p.feed(
      concatBytes([
        encodeFrame({ type: "RST_STREAM", streamId: 1, code: H2ErrorCode.CANCEL }),
        encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: text("late") }),
      ]),
    );
    expect(events).toEqual([{ type: "reset", streamId: 1, code: H2ErrorCode.CANCEL, remote: true }]);
    expect(p.of("RST_STREAM")).toMatchObject([{ streamId: 1, code: H2ErrorCode.STREAM_CLOSED }]);
    expect(p.session.closed).toBe(false);
  });

  test("after our reset, the client's DATA sent before it knew is ignored", () => {
    const p = ready();
    p.feed(p.headers(1, POST, false));
    p.session.resetStream(1, H2ErrorCode.CANCEL);
    p.read();
    p.feed(encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: text("in flight") }));
    expect(p.of("RST_STREAM")).toMatchObject([{ streamId: 1, code: H2ErrorCode.CANCEL }]);
    expect(p.session.closed).toBe(false);
  });

  test("a graceful GOAWAY names the last stream taken; later streams are not opened, their frames ignored", () => {
    const p = ready();
    p.feed(p.headers(1, GET, true));
    p.session.goaway();
    p.read();
    expect(p.of("GOAWAY")).toMatchObject([{ lastStreamId: 1, code: H2ErrorCode.NO_ERROR }]);
    const events = p.feed(
      concatBytes([
        p.headers(3, POST, false),
        encodeFrame({ type: "DATA", streamId: 3, endStream: true, data: text("after goaway") }),
      ]),
    );
    expect(events).toEqual([]);
    expect(p.of("RST_STREAM")).toEqual([]);
    p.session.respond(1, 204, [[":status", "204"]], true);
    expect(p.session.activeStreams).toBe(0);
    expect(p.session.closed).toBe(false);
  });

  test("the client's GOAWAY is reported", () => {
    const p = ready();
    const events = p.feed(
      encodeFrame({ type: "GOAWAY", lastStreamId: 0, code: 0, debug: new Uint8Array(0) }),
    );
    expect(events).toEqual([{ type: "goaway", code: 0 }]);
    expect(p.session.goawayReceived).toBe(true);
  });
});

describe("request body flow control", () => {
  test("bytes count against the windows until consumed; WINDOW_UPDATE once half a window is back", () => {
    const p = ready();
    p.feed(p.headers(1, POST, false));
    const chunk = new Uint8Array(16_384);
    const frames = [];
    for (let i = 0; i < 3; i++)
      frames.push(encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: chunk }));
    p.feed(concatBytes(frames));
    expect(p.of("WINDOW_UPDATE").filter((f) => f.streamId !== 0 || f.increment < 65535)).toEqual([]);
    p.session.consumed(1, 40_000);
    p.read();
    expect(p.of("WINDOW_UPDATE").find((f) => f.streamId === 1)?.increment).toBe(40_000);
  });

  test("DATA past the stream window is a stream error (FLOW_CONTROL_ERROR)", () => {
    const p = ready();
    p.feed(p.headers(1, POST, false));
    const frames = [];
    for (let i = 0; i < 5; i++)
      frames.push(encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: new Uint8Array(16_000) }));
    const events = p.feed(concatBytes(frames));
    expect(p.of("RST_STREAM")).toMatchObject([{ streamId: 1, code: H2ErrorCode.FLOW_CONTROL_ERROR }]);
    expect(events.at(-1)).toMatchObject({ type: "reset", remote: false });
  });
});

describe("receivingHead: a request head begun and not whole (the caller times it)", () => {
  test("the preface, a HEADERS frame in pieces, a field block waiting for CONTINUATION; not a body or an idle connection", () => {
    const p = new Peer(OPTS);
    const s = p.session;
    expect(s.receivingHead).toBe(false);
    const preface = Peer.preface([]);
    s.receive(preface.subarray(0, 10));
    expect(s.receivingHead).toBe(true);
    s.receive(preface.subarray(10));
    expect(s.receivingHead).toBe(false);
    const post = p.headers(1, POST, false);
    for (let i = 0; i < post.length - 1; i++) {
      s.receive(post.subarray(i, i + 1));
      expect(s.receivingHead).toBe(true);
    }
    s.receive(post.subarray(post.length - 1));
    expect(s.receivingHead).toBe(false);
    const data = encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: text("0123456789") });
    s.receive(data.subarray(0, 4)); // the type byte is in: DATA
    expect(s.receivingHead).toBe(false);
    s.receive(data.subarray(4, 12));
    expect(s.receivingHead).toBe(false);
    s.receive(data.subarray(12));
    const block = p.headers(3, GET, true).subarray(9); // the field block of a plain HEADERS frame
    s.receive(
      encodeFrame({
        type: "HEADERS",
        streamId: 3,
        endStream: true,
        endHeaders: false,
        block: block.subarray(0, 3),
      }),
    );
    expect(s.receivingHead).toBe(true);
    s.receive(encodeFrame({ type: "CONTINUATION", streamId: 3, endHeaders: true, block: block.subarray(3) }));
    expect(s.receivingHead).toBe(false);
    expect(s.closed).toBe(false);
    expect(s.activeStreams).toBe(2);
  });
});

describe("responses", () => {
  test("head, body and an empty END_STREAM DATA frame; 1xx before; trailers; bodyless", () => {
    const p = ready();
    p.feed(concatBytes([p.headers(1, GET, true), p.headers(3, GET, true), p.headers(5, GET, true)]));
    const s = p.session;
    s.respond(
      1,
      103,
      [
        [":status", "103"],
        ["link", "</a>; rel=preload"],
      ],
      false,
    );
    s.respond(
      1,
      200,
      [
        [":status", "200"],
        ["content-type", "text/plain"],
      ],
      false,
    );
    expect(s.writeData(1, text("hi"))).toBe(true);
    s.end(1, null);
    s.respond(3, 200, [[":status", "200"]], false);
    s.writeData(3, text("x"));
    s.end(3, [["x-sum", "1"]]);
    s.respond(5, 304, [[":status", "304"]], true);
    const out = p
      .read()
      .map((f) => [
        f.type,
        "streamId" in f ? f.streamId : 0,
        "endStream" in f ? f.endStream : null,
        f.fields ?? null,
      ]);
    expect(out).toEqual([
      [
        "HEADERS",
        1,
        false,
        [
          [":status", "103"],
          ["link", "</a>; rel=preload"],
        ],
      ],
      [
        "HEADERS",
        1,
        false,
        [
          [":status", "200"],
          ["content-type", "text/plain"],
        ],
      ],
      ["DATA", 1, false, null],
      ["DATA", 1, true, null],
      ["HEADERS", 3, false, [[":status", "200"]]],
      ["DATA", 3, false, null],
      ["HEADERS", 3, true, [["x-sum", "1"]]],
      ["HEADERS", 5, true, [[":status", "304"]]],
    ]);
    expect(s.activeStreams).toBe(0);
  });

  test("an end with nothing after a head still queued sets END_STREAM on its HEADERS frame, CONTINUATION too", () => {
    const p = ready();
    p.feed(concatBytes([p.headers(1, GET, true), p.headers(3, GET, true), p.headers(5, GET, true)]));
    const s = p.session;
    const grpc: HeaderField[] = [
      [":status", "200"],
      ["grpc-status", "7"],
    ];
    s.respond(1, 200, grpc, false);
    s.end(1, null); // the head is still queued: one HEADERS frame ends the stream
    s.respond(3, 200, [...grpc, ["x-big", "v".repeat(40_000)]], false);
    s.end(3, null); // HEADERS + CONTINUATION: END_STREAM on the HEADERS frame
    s.respond(5, 200, [[":status", "200"]], false);
    const first = p.read();
    s.end(5, null); // the head already left: an empty DATA frame ends the stream
    const out = [...first, ...p.read()].map((f) => [
      f.type,
      "streamId" in f ? f.streamId : 0,
      "endStream" in f ? f.endStream : null,
    ]);
    expect(out).toEqual([
      ["HEADERS", 1, true],
      ["HEADERS", 3, true],
      ["HEADERS", 5, false],
      ["DATA", 5, true],
    ]);
    expect(s.activeStreams).toBe(0);
  });

  test("a head larger than the client's max frame size is split into CONTINUATION frames", () => {
    const p = ready();
    p.feed(p.headers(1, GET, true));
    p.session.respond(
      1,
      200,
      [
        [":status", "200"],
        ["x-big", "v".repeat(40_000)],
      ],
      true,
    );
    const out = p.read();
    expect(out.map((f) => f.type)).toEqual(["HEADERS"]);
    expect(out[0]?.fields?.[1]?.[1].length).toBe(40_000);
  });

  test("DATA honours the client's windows and max frame size; WINDOW_UPDATE and SETTINGS release the rest", () => {
    const p = ready([
      [SettingId.INITIAL_WINDOW_SIZE, 100],
      [SettingId.MAX_FRAME_SIZE, 16_384],
    ]);
    p.feed(p.headers(1, GET, true));
    const s = p.session;
    s.respond(1, 200, [[":status", "200"]], false);
    expect(s.writeData(1, new Uint8Array(1000))).toBe(false);
    s.end(1, null);
    const sizes = () => p.of("DATA").map((f) => f.data.length);
    p.read();
    expect(sizes()).toEqual([100]);
    let events = p.feed(encodeFrame({ type: "WINDOW_UPDATE", streamId: 1, increment: 400 }));
    expect(sizes()).toEqual([100, 400]);
    expect(events).toEqual([]);
    events = p.feed(
      encodeFrame({ type: "SETTINGS", ack: false, settings: [[SettingId.INITIAL_WINDOW_SIZE, 600]] }),
    );
    expect(sizes()).toEqual([100, 400, 500, 0]); // the rest, then the empty END_STREAM frame
    expect(p.of("DATA").at(-1)?.endStream).toBe(true);
  });

  test("an end behind queued bytes returns false; `ended` tells when it went out", () => {
    const p = ready();
    p.feed(concatBytes([p.headers(1, GET, true), p.headers(3, GET, true)]));
    const s = p.session;
    s.respond(1, 200, [[":status", "200"]], false);
    expect(s.writeData(1, new Uint8Array(70_000))).toBe(false); // past the 65 535 window
    expect(s.end(1, null)).toBe(false);
    s.respond(3, 200, [[":status", "200"]], false);
    expect(s.end(3, null)).toBe(true); // nothing queued: ended at once
    expect(s.end(3, null)).toBe(true); // already ended
    const events = p.feed(
      concatBytes([
        encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: 10_000 }),
        encodeFrame({ type: "WINDOW_UPDATE", streamId: 1, increment: 10_000 }),
      ]),
    );
    expect(events).toEqual([{ type: "ended", streamId: 1 }]);
    expect(p.of("DATA").filter((f) => f.streamId === 1 && f.endStream)).toHaveLength(1);
    expect(s.activeStreams).toBe(0);
  });

  test("the connection window is shared; `drained` tells when a stream's queue is out", () => {
    const p = ready([[SettingId.INITIAL_WINDOW_SIZE, 1 << 20]]);
    p.feed(concatBytes([p.headers(1, GET, true), p.headers(3, GET, true)]));
    const s = p.session;
    s.respond(1, 200, [[":status", "200"]], false);
    s.respond(3, 200, [[":status", "200"]], false);
    expect(s.writeData(1, new Uint8Array(60_000))).toBe(true);
    expect(s.writeData(3, new Uint8Array(10_000))).toBe(false); // 5535 left in the connection window
    const events = p.feed(encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: 10_000 }));
    expect(events).toEqual([{ type: "drained", streamId: 3 }]);
    const total = p.of("DATA").reduce((n, f) => n + f.data.length, 0);
    expect(total).toBe(70_000);
    expect(p.of("DATA").every((f) => f.data.length <= 16_384)).toBe(true);
  });

  test("a client HEADER_TABLE_SIZE of 0 is acknowledged by a size update; nothing is ever indexed", () => {
    const p = ready([[SettingId.HEADER_TABLE_SIZE, 0]]);
    p.feed(p.headers(1, GET, true));
    p.session.respond(
      1,
      200,
      [
        [":status", "200"],
        ["server", "x"],
      ],
      true,
    );
    const out = p.session.takeOutput();
    const block = out[0]?.subarray(9);
    expect(block?.[0]).toBe(0x20); // dynamic table size update to 0 (RFC 7541 §6.3)
    const p2 = ready();
    p2.feed(concatBytes([p2.headers(1, GET, true), p2.headers(3, GET, true)]));
    p2.session.respond(
      1,
      200,
      [
        [":status", "200"],
        ["server", "x"],
      ],
      true,
    );
    p2.session.respond(
      3,
      200,
      [
        [":status", "200"],
        ["server", "x"],
      ],
      true,
    );
    const [a, b] = p2.session.takeOutput();
    expect(a?.subarray(9)).toEqual(b?.subarray(9) as Uint8Array); // no dynamic table state between them
  });

  test("resetStream sends RST_STREAM(INTERNAL_ERROR) and drops what was queued", () => {
    const p = ready([[SettingId.INITIAL_WINDOW_SIZE, 10]]);
    p.feed(p.headers(1, GET, true));
    p.session.respond(1, 200, [[":status", "200"]], false);
    p.session.writeData(1, new Uint8Array(100));
    p.session.resetStream(1);
    p.feed(encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: 1000 }));
    expect(p.of("RST_STREAM")).toMatchObject([{ streamId: 1, code: H2ErrorCode.INTERNAL_ERROR }]);
    expect(p.of("DATA").map((f) => f.data.length)).toEqual([10]);
  });
});

describe("floods", () => {
  test("PING, SETTINGS, PRIORITY, empty DATA, empty CONTINUATION floods end with ENHANCE_YOUR_CALM", () => {
    const one = (p: Peer): Uint8Array[] => [
      encodeFrame({ type: "PING", ack: false, opaque: new Uint8Array(8) }),
      encodeFrame({ type: "SETTINGS", ack: false, settings: [] }),
      encodeFrame({
        type: "PRIORITY",
        streamId: 3,
        priority: { exclusive: false, dependency: 0, weight: 16 },
      }),
      concatBytes([
        p.headers(1, POST, false),
        ...Array.from({ length: 1100 }, () =>
          encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: new Uint8Array(0) }),
        ),
      ]),
    ];
    for (let kind = 0; kind < 4; kind++) {
      const p = ready();
      const f = one(p)[kind] as Uint8Array;
      p.feed(kind === 3 ? f : concatBytes(Array.from({ length: 1100 }, () => f)));
      expect(goawayCode(p)).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);
    }
    const c = ready();
    const cont = encodeFrame({
      type: "CONTINUATION",
      streamId: 1,
      endHeaders: false,
      block: new Uint8Array(0),
    });
    c.feed(
      concatBytes([
        encodeFrame({
          type: "HEADERS",
          streamId: 1,
          endStream: true,
          endHeaders: false,
          block: new Uint8Array(0),
        }),
        ...Array.from({ length: 1100 }, () => cont),
      ]),
    );
    expect(goawayCode(c)).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);
  });

  test("WINDOW_UPDATE for a stream that is over (even one the client reset) is a flood too", () => {
    const p = ready();
    p.feed(
      concatBytes([
        p.headers(1, POST, false),
        encodeFrame({ type: "RST_STREAM", streamId: 1, code: H2ErrorCode.CANCEL }),
        ...Array.from({ length: 1100 }, () =>
          encodeFrame({ type: "WINDOW_UPDATE", streamId: 1, increment: 1 }),
        ),
      ]),
    );
    expect(goawayCode(p)).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);
  });

  test("a field block past twice the header list limit ends the connection (CONTINUATION flood)", () => {
    const p = ready([], { ...OPTS, maxHeaderListSize: 8192 });
    const big = encodeFrame({
      type: "CONTINUATION",
      streamId: 1,
      endHeaders: false,
      block: new Uint8Array(16_000),
    });
    p.feed(
      concatBytes([
        encodeFrame({
          type: "HEADERS",
          streamId: 1,
          endStream: true,
          endHeaders: false,
          block: new Uint8Array(10),
        }),
        big,
        big,
      ]),
    );
    expect(goawayCode(p)).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);
  });

  test("rapid reset: HEADERS + RST_STREAM in a loop ends the connection; finished exchanges earn resets back", () => {
    const p = ready();
    const frames: Uint8Array[] = [];
    for (let id = 1; id < 2 * 1100; id += 2) {
      frames.push(
        p.headers(id, GET, false),
        encodeFrame({ type: "RST_STREAM", streamId: id, code: H2ErrorCode.CANCEL }),
      );
    }
    p.feed(concatBytes(frames));
    expect(goawayCode(p)).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);

    const ok = ready();
    for (let id = 1; id < 4 * 1100; id += 4) {
      ok.feed(
        concatBytes([
          ok.headers(id, GET, false),
          encodeFrame({ type: "RST_STREAM", streamId: id, code: H2ErrorCode.CANCEL }),
          ok.headers(id + 2, GET, true),
        ]),
      );
      ok.session.respond(id + 2, 204, [[":status", "204"]], true);
    }
    expect(ok.session.closed).toBe(false);
  });

  test("a reset after our complete response (a client done with an upload it no longer needs) is not counted", () => {
    const p = ready();
    for (let id = 1; id < 2 * 1100; id += 2) {
      p.feed(p.headers(id, POST, false));
      p.session.respond(id, 413, [[":status", "413"]], true);
      p.feed(encodeFrame({ type: "RST_STREAM", streamId: id, code: H2ErrorCode.CANCEL }));
    }
    expect(p.session.closed).toBe(false);
  });
});
