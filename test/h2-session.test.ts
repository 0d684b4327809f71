import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { akamaiFromBytes } from "../src/http/h2/akamai.ts";
import { H2ClientSession } from "../src/http/h2/client-session.ts";
import { type H2Error, H2ErrorCode } from "../src/http/h2/errors.ts";
import { FrameReader } from "../src/http/h2/frame-reader.ts";
import { CLIENT_MAGIC, type Frame, type HeadersFrame } from "../src/http/h2/frame-types.ts";
import { concatBytes, encodeFrame } from "../src/http/h2/frame-writer.ts";
import type { H2ClientPlan, H2Event, HeaderField } from "../src/http/h2/session-types.ts";
import {
  CHROME_HPACK_POLICY,
  FIREFOX_HPACK_POLICY,
  HpackDecoder,
  HpackEncoder,
} from "../src/http/hpack/index.ts";
import {
  CHROME_PLAN,
  captureBytes,
  FIREFOX_PLAN,
  fixtureJson,
  hex,
  SAFARI_PLAN,
} from "./helpers/h2-fixtures.ts";
import { ScriptedPeer, SMALL_PLAN } from "./helpers/h2-scripted-peer.ts";
import { prng, randBytes, randInt } from "./helpers/prng.ts";

const { PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, CANCEL, REFUSED_STREAM } = H2ErrorCode;
const GET: HeaderField[] = [
  [":method", "GET"],
  [":authority", "example.com"],
  [":scheme", "https"],
  [":path", "/"],
];
const POST: HeaderField[] = [
  [":method", "POST"],
  [":authority", "example.com"],
  [":scheme", "https"],
  [":path", "/upload"],
];
const OK: HeaderField[] = [[":status", "200"]];

/** The `reset` event of a stream the session reset for the server's stream error (with why). */
const ourReset = (streamId: number, code: number) => ({
  type: "reset" as const,
  streamId,
  code,
  remote: false,
  retryable: false,
  reason: expect.any(String),
});

function only<T extends H2Event["type"]>(events: H2Event[], type: T): Extract<H2Event, { type: T }>[] {
  return events.filter((e): e is Extract<H2Event, { type: T }> => e.type === type);
}

function connectionErrorOf(events: H2Event[]): H2Error | undefined {
  return only(events, "connection-error")[0]?.error;
}

function open(peer: ScriptedPeer, fields: HeaderField[] = GET, endStream = true): number {
  const r = peer.session.openStream({ fields, endStream });
  if (!r.ok) throw new Error(`open refused: ${r.reason}`);
  return r.streamId;
}

/** A peer that has exchanged SETTINGS; the client's frames so far are drained. */
function started(settings: [number, number][] = [], plan: H2ClientPlan = SMALL_PLAN): ScriptedPeer {
  const peer = new ScriptedPeer(plan);
  peer.settings(settings);
  peer.clientFrames();
  return peer;
}

/** The byte offset of the first HEADERS frame in a capture, and that frame's decoded fields. */
function captureRequest(bytes: Uint8Array): { at: number; fields: HeaderField[] } {
  let at = CLIENT_MAGIC.length;
  while (bytes[at + 3] !== 1)
    at += 9 + (((bytes[at] ?? 0) << 16) | ((bytes[at + 1] ?? 0) << 8) | (bytes[at + 2] ?? 0));
  const reader = new FrameReader();
  reader.push(bytes.subarray(at));
  const frame = reader.next() as HeadersFrame;
  return { at, fields: new HpackDecoder().decode(frame.block) };
}

describe("connection preface", () => {
  const cases = [
    {
      name: "Chrome (Chromium 156 capture)",
      file: "h2-chromium-156-sni-conn1.h2.hex",
      plan: CHROME_PLAN,
      policy: CHROME_HPACK_POLICY,
      priority: { exclusive: true, dependency: 0, weight: 256 },
    },
    {
      name: "Firefox (ESR 153 capture)",
      file: "h2-firefox-esr153-sni-conn1.h2.hex",
      plan: FIREFOX_PLAN,
      policy: FIREFOX_HPACK_POLICY,
      priority: { exclusive: false, dependency: 0, weight: 42 },
    },
  ];
  for (const c of cases) {
    test(`${c.name}: preface and first HEADERS equal the capture byte for byte`, () => {
      const capture = captureBytes(c.file);
      const { at, fields } = captureRequest(capture);
      const session = new H2ClientSession({
        plan: c.plan,
        encoder: new HpackEncoder(c.policy),
        decoder: new HpackDecoder(),
      });
      const preface = session.preface();
      const opened = session.openStream({ fields, endStream: true, priority: c.priority });
      expect(opened).toEqual({ ok: true, streamId: c.plan.firstStreamId });
      const ours = concatBytes([preface, session.takeOutput()]);
      expect(preface.length).toBe(at);
      expect(hex(ours.subarray(0, at + 9))).toBe(hex(capture.subarray(0, at + 9)));
      expect(hex(ours)).toBe(hex(capture)); // the HPACK block too, with the real encoder
    });
  }

  test("Safari 26.2 (peet.ws reference): SETTINGS, WINDOW_UPDATE, HEADERS 0x05 without priority", () => {
    const ref = fixtureJson("h2-safari-26.2-peet.json") as {
      http2: {
        akamai_fingerprint: string;
        sent_frames: { frame_type: string; length: number; stream_id?: number }[];
      };
    };
    const session = new H2ClientSession({
      plan: SAFARI_PLAN,
      encoder: new HpackEncoder(CHROME_HPACK_POLICY),
      decoder: new HpackDecoder(),
    });
    const preface = session.preface();
    const fields: HeaderField[] = [
      [":method", "GET"],
      [":scheme", "https"],
      [":authority", "tls.peet.ws"],
      [":path", "/api/all"],
    ];
    session.openStream({ fields, endStream: true });
    const out = concatBytes([preface, session.takeOutput()]);
    // No byte capture of Safari exists locally: the frames are spelled out from the reference.
    const expected =
      hex(CLIENT_MAGIC) +
      "000018040000000000" + // SETTINGS, 24 bytes (the reference's length), stream 0
      "000200000000" + // ENABLE_PUSH 0
      "000300000064" + // MAX_CONCURRENT_STREAMS 100
      "000400200000" + // INITIAL_WINDOW_SIZE 2097152
      "000900000001" + // NO_RFC7540_PRIORITIES 1
      "00000408000000000000" + // WINDOW_UPDATE stream 0
      "9f0001"; // 10420225
    expect(hex(out.subarray(0, preface.length))).toBe(expected);
    const headersHeader = out.subarray(preface.length, preface.length + 9);
    expect(hex(headersHeader.subarray(3))).toBe("010500000001"); // HEADERS, END_STREAM|END_HEADERS, stream 1
    const decode = (b: Uint8Array) => new HpackDecoder().decode(b);
    expect(akamaiFromBytes(out, decode)).toBe(ref.http2.akamai_fingerprint);
    const settingsRef = ref.http2.sent_frames.find((f) => f.frame_type === "SETTINGS");
    expect(settingsRef?.length).toBe(24);
  });

  test("GREASE and duplicate setting ids go out exactly as planned; PRIORITY frames follow", () => {
    const plan: H2ClientPlan = {
      settings: [
        [1, 65536],
        [6, 262144],
        [1, 4096],
        [0x7a9a, 3814263365],
      ],
      connectionWindowIncrement: 0,
      priorityFrames: [
        { streamId: 3, exclusive: false, dependency: 0, weight: 201 },
        { streamId: 13, exclusive: false, dependency: 0, weight: 241 },
      ],
      firstStreamId: 15,
    };
    const session = new H2ClientSession({
      plan,
      encoder: new HpackEncoder(FIREFOX_HPACK_POLICY),
      decoder: new HpackDecoder(),
    });
    const preface = session.preface();
    const fields: HeaderField[] = [GET[0], GET[3], GET[1], GET[2]] as HeaderField[];
    expect(
      session.openStream({
        fields,
        endStream: true,
        priority: { exclusive: false, dependency: 13, weight: 42 },
      }),
    ).toEqual({
      ok: true,
      streamId: 15,
    });
    const out = concatBytes([preface, session.takeOutput()]);
    const decode = (b: Uint8Array) => new HpackDecoder().decode(b);
    expect(akamaiFromBytes(out, decode)).toBe(
      "1:65536;6:262144;1:4096;31386:3814263365|00|3:0:0:201,13:0:0:241|m,p,a,s",
    );
    expect(akamaiFromBytes(out, decode, { greaseLabel: true })).toContain(";GREASE:3814263365|");
    expect(() => session.preface()).toThrow(ProxyError);
  });

  test("a plan with an even or zero first stream id is refused", () => {
    const bad = { ...SMALL_PLAN, firstStreamId: 2 };
    expect(
      () =>
        new H2ClientSession({
          plan: bad,
          encoder: new HpackEncoder(CHROME_HPACK_POLICY),
          decoder: new HpackDecoder(),
        }),
    ).toThrow(ProxyError);
  });
});

describe("client session: streams and headers", () => {
  test("stream ids ascend by 2 from the plan's first id", () => {
    const peer = started([], { ...SMALL_PLAN, firstStreamId: 3 });
    expect([open(peer), open(peer), open(peer)]).toEqual([3, 5, 7]);
    const heads = peer.clientFrames().filter((f) => f.type === "HEADERS");
    expect(
      heads.map((f) => (f.type === "HEADERS" ? [f.streamId, f.endStream, f.endHeaders, f.priority] : [])),
    ).toEqual([
      [3, true, true, undefined],
      [5, true, true, undefined],
      [7, true, true, undefined],
    ]);
  });

  test("MAX_CONCURRENT_STREAMS: refusal does not touch HPACK; open-capacity when a stream ends", () => {
    const peer = started([[3, 2]]);
    const a = open(peer);
    open(peer);
    const encodes = peer.encoder.encodes;
    expect(peer.session.openStream({ fields: GET, endStream: true })).toEqual({
      ok: false,
      reason: "concurrency-limit",
    });
    expect(peer.encoder.encodes).toBe(encodes);
    expect(peer.session.canOpenStream).toBe(false);
    const events = peer.send(peer.headers(a, OK, true));
    expect(events.map((e) => e.type)).toEqual(["headers", "end", "open-capacity"]);
    expect(open(peer)).toBe(5);
    expect(peer.session.activeStreams).toBe(2);
  });

  test("extendedConnect: whether the peer's SETTINGS enabled RFC 8441 (SETTINGS_ENABLE_CONNECT_PROTOCOL = 1)", () => {
    expect(started().session.extendedConnect).toBe(false);
    expect(started([[8, 0]]).session.extendedConnect).toBe(false);
    expect(started([[8, 1]]).session.extendedConnect).toBe(true);
  });

  test("a header block larger than the peer's max frame size goes out as HEADERS + CONTINUATION", () => {
    const peer = started();
    const big: HeaderField[] = [...GET, ["x-big", "v".repeat(40000)]];
    open(peer, big);
    const frames = peer.clientFrames();
    expect(frames.map((f) => f.type)).toEqual(["HEADERS", "CONTINUATION", "CONTINUATION"]);
    const blocks = frames.map((f) =>
      f.type === "HEADERS" || f.type === "CONTINUATION" ? f.block : new Uint8Array(0),
    );
    expect(peer.decodeClient(concatBytes(blocks))).toEqual(big);
  });

  test("1xx interim responses, final headers, data, trailers, end", () => {
    const peer = started();
    const id = open(peer);
    const events = peer.send(
      peer.headers(
        id,
        [
          [":status", "103"],
          ["link", "</a.css>; rel=preload"],
        ],
        false,
      ),
      peer.headers(id, [[":status", "100"]], false),
      peer.headers(
        id,
        [
          [":status", "200"],
          ["content-length", "5"],
        ],
        false,
      ),
      peer.data(id, "hel", false),
      peer.data(id, "lo", false),
      peer.headers(id, [["x-checksum", "1"]], true),
    );
    expect(events.map((e) => e.type)).toEqual([
      "headers",
      "headers",
      "headers",
      "data",
      "data",
      "trailers",
      "end",
    ]);
    const heads = only(events, "headers");
    expect(heads.map((h) => [h.status, h.interim])).toEqual([
      [103, true],
      [100, true],
      [200, false],
    ]);
    expect(only(events, "trailers")[0]?.fields).toEqual([["x-checksum", "1"]]);
    expect(peer.session.activeStreams).toBe(0);
  });

  const malformed: [string, HeaderField[], boolean][] = [
    [
      "uppercase name",
      [
        [":status", "200"],
        ["X-Up", "1"],
      ],
      true,
    ],
    [
      "request pseudo-header",
      [
        [":status", "200"],
        [":path", "/"],
      ],
      true,
    ],
    [
      "pseudo-header after a regular field",
      [
        ["a", "1"],
        [":status", "200"],
      ],
      true,
    ],
    ["no :status", [["a", "1"]], true],
    [
      "two :status",
      [
        [":status", "200"],
        [":status", "200"],
      ],
      true,
    ],
    [
      "connection field",
      [
        [":status", "200"],
        ["connection", "close"],
      ],
      true,
    ],
    [
      "transfer-encoding",
      [
        [":status", "200"],
        ["transfer-encoding", "chunked"],
      ],
      true,
    ],
    [
      "te other than trailers",
      [
        [":status", "200"],
        ["te", "gzip"],
      ],
      true,
    ],
    [
      "value with CR",
      [
        [":status", "200"],
        ["a", "x\ry"],
      ],
      true,
    ],
    [
      "value with a leading space",
      [
        [":status", "200"],
        ["a", " x"],
      ],
      true,
    ],
    ["bad status", [[":status", "20"]], true],
    ["1xx with END_STREAM", [[":status", "103"]], true],
    ["101 in HTTP/2", [[":status", "101"]], false],
    [
      "content-length without body",
      [
        [":status", "200"],
        ["content-length", "3"],
      ],
      true,
    ],
    [
      "conflicting content-length",
      [
        [":status", "200"],
        ["content-length", "3, 4"],
      ],
      false,
    ],
  ];
  for (const [name, fields, endStream] of malformed) {
    test(`malformed response (${name}) resets the stream with PROTOCOL_ERROR`, () => {
      const peer = started();
      const id = open(peer);
      peer.clientFrames();
      const events = peer.send(peer.headers(id, fields, endStream));
      expect(events).toEqual([ourReset(id, PROTOCOL_ERROR)]);
      expect(peer.clientFrames()).toEqual([{ type: "RST_STREAM", streamId: id, code: PROTOCOL_ERROR }]);
      // The connection goes on.
      const next = open(peer);
      expect(only(peer.send(peer.headers(next, OK, true)), "end")).toHaveLength(1);
    });
  }

  test("content-length against the DATA sum: too much, too little, HEAD and 204 exempt", () => {
    const peer = started();
    const a = open(peer);
    const over = peer.send(
      peer.headers(
        a,
        [
          [":status", "200"],
          ["content-length", "2"],
        ],
        false,
      ),
      peer.data(a, "abc", true),
    );
    expect(only(over, "reset")[0]?.code).toBe(PROTOCOL_ERROR);
    const b = open(peer);
    const under = peer.send(
      peer.headers(
        b,
        [
          [":status", "200"],
          ["content-length", "4"],
        ],
        false,
      ),
      peer.data(b, "abc", true),
    );
    expect(only(under, "reset")[0]?.code).toBe(PROTOCOL_ERROR);
    const c = open(peer, [[":method", "HEAD"], ...GET.slice(1)]);
    const head = peer.send(
      peer.headers(
        c,
        [
          [":status", "200"],
          ["content-length", "99"],
        ],
        true,
      ),
    );
    expect(head.map((e) => e.type)).toEqual(["headers", "end"]);
    const d = open(peer);
    const noContent = peer.send(
      peer.headers(
        d,
        [
          [":status", "204"],
          ["content-length", "7"],
        ],
        true,
      ),
    );
    expect(noContent.map((e) => e.type)).toEqual(["headers", "end"]);
  });

  test("DATA before the final headers, and HEADERS after END_STREAM, are stream errors", () => {
    const peer = started();
    const a = open(peer);
    expect(only(peer.send(peer.data(a, "x", false)), "reset")[0]?.code).toBe(PROTOCOL_ERROR);
    const b = open(peer, POST, false);
    const events = peer.send(peer.headers(b, OK, true), peer.headers(b, [["x", "1"]], true));
    expect(events.map((e) => e.type)).toEqual(["headers", "end", "reset"]);
    expect(only(events, "reset")[0]?.code).toBe(STREAM_CLOSED);
  });

  test("the server may grow its HPACK table to the HEADER_TABLE_SIZE we advertise (Chrome: 65536)", () => {
    const peer = started([], CHROME_PLAN);
    const id = open(peer);
    peer.serverHpack.setMaxTableSize(65536);
    const fields: HeaderField[] = [
      [":status", "200"],
      ["x-big", "b".repeat(20000)],
    ];
    const events = peer.send(peer.headers(id, fields, true));
    expect(events.map((e) => e.type)).toEqual(["headers", "end"]);
  });

  test("a server field block split over CONTINUATION frames is reassembled", () => {
    const peer = started();
    const id = open(peer);
    const fields: HeaderField[] = [
      [":status", "200"],
      ["x-long", "y".repeat(30000)],
    ];
    const events = peer.send(peer.headers(id, fields, true, 16384));
    expect(only(events, "headers")[0]?.fields).toEqual(fields);
  });

  test("RST_STREAM from the server: reset event, REFUSED_STREAM is retryable", () => {
    const peer = started();
    const a = open(peer);
    const b = open(peer);
    const events = peer.send(
      { type: "RST_STREAM", streamId: a, code: H2ErrorCode.INTERNAL_ERROR },
      { type: "RST_STREAM", streamId: b, code: REFUSED_STREAM },
    );
    expect(events).toEqual([
      { type: "reset", streamId: a, code: H2ErrorCode.INTERNAL_ERROR, remote: true, retryable: false },
      { type: "reset", streamId: b, code: REFUSED_STREAM, remote: true, retryable: true },
    ]);
    expect(peer.session.activeStreams).toBe(0);
  });

  test("RST_STREAM(NO_ERROR) after the whole content-length ends the response; before it, it is a reset", () => {
    const peer = started();
    const whole = open(peer);
    const short = open(peer);
    const bare = open(peer);
    const body = new TextEncoder().encode("whole");
    const head: HeaderField[] = [...OK, ["content-length", "5"]];
    const events = peer.send(
      peer.headers(whole, head, false),
      { type: "DATA", streamId: whole, endStream: false, data: body },
      { type: "RST_STREAM", streamId: whole, code: H2ErrorCode.NO_ERROR },
      peer.headers(short, head, false),
      { type: "DATA", streamId: short, endStream: false, data: body.subarray(0, 2) },
      { type: "RST_STREAM", streamId: short, code: H2ErrorCode.NO_ERROR },
      peer.headers(bare, OK, false), // no content-length: the end is unknown
      { type: "RST_STREAM", streamId: bare, code: H2ErrorCode.NO_ERROR },
    );
    expect(events.filter((e) => e.type === "end" || e.type === "reset")).toEqual([
      { type: "end", streamId: whole },
      { type: "reset", streamId: short, code: H2ErrorCode.NO_ERROR, remote: true, retryable: false },
      { type: "reset", streamId: bare, code: H2ErrorCode.NO_ERROR, remote: true, retryable: false },
    ]);
    expect(peer.session.activeStreams).toBe(0);
  });

  test("GOAWAY: streams above last-stream-id are refused and retryable, no new streams", () => {
    const peer = started();
    const ids = [open(peer), open(peer), open(peer)];
    const events = peer.send({
      type: "GOAWAY",
      lastStreamId: ids[0] as number,
      code: 0,
      debug: new Uint8Array(0),
    });
    expect(events).toEqual([
      { type: "goaway", lastStreamId: 1, code: 0, debug: new Uint8Array(0) },
      { type: "reset", streamId: 3, code: REFUSED_STREAM, remote: true, retryable: true },
      { type: "reset", streamId: 5, code: REFUSED_STREAM, remote: true, retryable: true },
    ]);
    expect(peer.session.openStream({ fields: GET, endStream: true })).toEqual({
      ok: false,
      reason: "going-away",
    });
    expect(peer.send(peer.headers(1, OK, true)).map((e) => e.type)).toEqual(["headers", "end"]);
    // Late frames on the refused streams are ignored.
    expect(peer.send(peer.headers(3, OK, true))).toEqual([]);
  });

  test("resetStream sends RST CANCEL; late DATA is ignored but still counted for the connection", () => {
    const peer = started();
    const id = open(peer);
    peer.clientFrames();
    peer.session.resetStream(id);
    expect(peer.clientFrames()).toEqual([{ type: "RST_STREAM", streamId: id, code: CANCEL }]);
    const late = [peer.data(id, new Uint8Array(16384), false), peer.data(id, new Uint8Array(16384), false)];
    expect(peer.send(peer.headers(id, OK, false), ...late)).toEqual([]);
    expect(peer.clientFrames()).toEqual([{ type: "WINDOW_UPDATE", streamId: 0, increment: 32768 }]);
  });

  test("DATA on a stream that ended normally is STREAM_CLOSED; on an idle stream a connection error", () => {
    const peer = started();
    const id = open(peer);
    peer.send(peer.headers(id, OK, true));
    peer.clientFrames();
    expect(peer.send(peer.data(id, "late", false))).toEqual([]);
    expect(peer.clientFrames()).toEqual([{ type: "RST_STREAM", streamId: id, code: STREAM_CLOSED }]);
    const events = peer.send(peer.data(99, "x", false));
    expect(connectionErrorOf(events)?.h2Code).toBe(PROTOCOL_ERROR);
    expect(peer.clientFrames().at(-1)).toEqual({
      type: "GOAWAY",
      lastStreamId: 0,
      code: PROTOCOL_ERROR,
      debug: new Uint8Array(0),
    });
    expect(peer.session.closed).toBe(true);
    expect(peer.session.openStream({ fields: GET, endStream: true })).toEqual({
      ok: false,
      reason: "closed",
    });
  });

  test("writeData on a stream that ended locally is a caller error", () => {
    const peer = started();
    const id = open(peer);
    expect(() => peer.session.writeData(id, new Uint8Array(1), true)).toThrow(ProxyError);
    expect(() => peer.session.writeData(41, new Uint8Array(1), true)).toThrow(ProxyError);
  });

  test("trailers from the client end the stream", () => {
    const peer = started();
    const id = open(peer, POST, false);
    expect(peer.session.writeData(id, new TextEncoder().encode("body"), false)).toBe(4);
    peer.session.writeTrailers(id, [["x-sum", "9"]]);
    const frames = peer.clientFrames();
    expect(frames.map((f) => f.type)).toEqual(["HEADERS", "DATA", "HEADERS"]);
    const trailers = frames[2] as HeadersFrame;
    expect([trailers.endStream, trailers.endHeaders, trailers.priority]).toEqual([true, true, undefined]);
    peer.decodeClient((frames[0] as HeadersFrame).block);
    expect(peer.decodeClient(trailers.block)).toEqual([["x-sum", "9"]]);
  });
});

describe("client session: connection frames", () => {
  test("the server's SETTINGS must come first", () => {
    const peer = new ScriptedPeer();
    const events = peer.send({ type: "PING", ack: false, opaque: new Uint8Array(8) });
    expect(connectionErrorOf(events)?.h2Code).toBe(PROTOCOL_ERROR);
  });

  test("SETTINGS: applied, ACK queued, HEADER_TABLE_SIZE reaches the encoder, next block starts with a size update", () => {
    const peer = new ScriptedPeer();
    const events = peer.settings([
      [1, 256],
      [0x0a0a, 5],
      [5, 32768],
    ]);
    expect(events).toEqual([
      {
        type: "settings",
        settings: [
          [1, 256],
          [0x0a0a, 5],
          [5, 32768],
        ],
      },
    ]);
    expect(peer.encoder.tableSizes).toEqual([256]);
    expect(peer.clientFrames()).toEqual([
      { type: "SETTINGS", ack: false, settings: [[2, 0]] }, // the preface
      { type: "SETTINGS", ack: true, settings: [] },
    ]);
    open(peer);
    const block = (peer.clientFrames()[0] as HeadersFrame).block;
    expect((block[0] ?? 0) & 0xe0).toBe(0x20); // dynamic table size update (RFC 7541 §6.3)
    expect(peer.send({ type: "SETTINGS", ack: true, settings: [] })).toEqual([{ type: "settings-ack" }]);
  });

  const badSettings: [string, [number, number], number][] = [
    ["ENABLE_PUSH 1 from a server", [2, 1], PROTOCOL_ERROR],
    ["ENABLE_PUSH 2", [2, 2], PROTOCOL_ERROR],
    ["INITIAL_WINDOW_SIZE 2^31", [4, 0x80000000], FLOW_CONTROL_ERROR],
    ["MAX_FRAME_SIZE under 16384", [5, 16383], PROTOCOL_ERROR],
    ["MAX_FRAME_SIZE over 2^24-1", [5, 0x1000000], PROTOCOL_ERROR],
  ];
  for (const [name, setting, code] of badSettings) {
    test(`SETTINGS ${name} is a connection error`, () => {
      const peer = new ScriptedPeer();
      expect(connectionErrorOf(peer.settings([setting]))?.h2Code).toBe(code);
    });
  }

  test("PING is answered with an ACK carrying the same bytes; our PING's ACK is an event", () => {
    const peer = started();
    const opaque = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(peer.send({ type: "PING", ack: false, opaque })).toEqual([]);
    expect(peer.clientFrames()).toEqual([{ type: "PING", ack: true, opaque }]);
    peer.session.ping(opaque);
    expect(peer.clientFrames()).toEqual([{ type: "PING", ack: false, opaque }]);
    expect(peer.send({ type: "PING", ack: true, opaque })).toEqual([{ type: "ping-ack", opaque }]);
  });

  test("PUSH_PROMISE is a connection PROTOCOL_ERROR", () => {
    const peer = started();
    const id = open(peer);
    const events = peer.send({
      type: "PUSH_PROMISE",
      streamId: id,
      endHeaders: true,
      promisedStreamId: 2,
      block: Uint8Array.of(0x82),
    });
    expect(connectionErrorOf(events)?.h2Code).toBe(PROTOCOL_ERROR);
  });

  test("a field block that does not decode is a COMPRESSION_ERROR", () => {
    const peer = started();
    const id = open(peer);
    const events = peer.send({
      type: "HEADERS",
      streamId: id,
      endStream: true,
      endHeaders: true,
      block: Uint8Array.of(0xff, 0xff, 0xff),
    });
    expect(connectionErrorOf(events)?.h2Code).toBe(H2ErrorCode.COMPRESSION_ERROR);
  });

  test("a PING flood while output is not taken ends the connection with ENHANCE_YOUR_CALM", () => {
    const peer = new ScriptedPeer(SMALL_PLAN, 1024);
    peer.settings();
    const ping = encodeFrame({ type: "PING", ack: false, opaque: new Uint8Array(8) });
    const events = peer.session.receive(concatBytes(Array.from({ length: 1000 }, () => ping)));
    expect(connectionErrorOf(events)?.h2Code).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);
    expect(peer.session.queuedOutput).toBeLessThan(1024 * 4 + 200);
  });

  test("goaway() queues GOAWAY and stops new streams", () => {
    const peer = started();
    peer.session.goaway();
    expect(peer.clientFrames()).toEqual([
      { type: "GOAWAY", lastStreamId: 0, code: 0, debug: new Uint8Array(0) },
    ]);
    expect(peer.session.openStream({ fields: GET, endStream: true })).toEqual({
      ok: false,
      reason: "going-away",
    });
  });
});

describe("client session: flow control", () => {
  test("send: stream window, connection window, max frame size; writable after WINDOW_UPDATE", () => {
    const peer = started([[4, 1000]]);
    const id = open(peer, POST, false);
    peer.clientFrames();
    const body = randBytes(prng(7), 3000);
    expect(peer.session.writeData(id, body, true)).toBe(1000);
    expect(peer.session.writableBytes(id)).toBe(0);
    expect(peer.clientFrames()).toEqual([
      { type: "DATA", streamId: id, endStream: false, data: body.subarray(0, 1000) },
    ]);
    expect(peer.send({ type: "WINDOW_UPDATE", streamId: id, increment: 100_000 })).toEqual([
      { type: "writable", streamId: id },
    ]);
    // Connection window: 65535 - 1000 left; one 16384-byte frame at most.
    const big = randBytes(prng(8), 100_000);
    const id2 = open(peer, POST, false);
    peer.send({ type: "WINDOW_UPDATE", streamId: id2, increment: 200_000 });
    expect(peer.session.writeData(id, body.subarray(1000), false)).toBe(2000);
    const taken = peer.session.writeData(id2, big, true);
    expect(taken).toBe(65535 - 3000);
    const frames = peer.clientFrames().filter((f) => f.type === "DATA");
    expect(frames.every((f) => f.type === "DATA" && f.data.length <= 16384)).toBe(true);
    expect(frames.some((f) => f.type === "DATA" && f.endStream)).toBe(false);
    const events = peer.send({ type: "WINDOW_UPDATE", streamId: 0, increment: 50_000 });
    expect(events).toEqual([{ type: "writable", streamId: id2 }]);
  });

  test("an empty DATA frame carries END_STREAM even with no window", () => {
    const peer = started([[4, 0]]);
    const id = open(peer, POST, false);
    peer.clientFrames();
    expect(peer.session.writeData(id, new Uint8Array(0), true)).toBe(0);
    expect(peer.clientFrames()).toEqual([
      { type: "DATA", streamId: id, endStream: true, data: new Uint8Array(0) },
    ]);
  });

  test("INITIAL_WINDOW_SIZE changes shift open streams' windows (may go negative, §6.9.2)", () => {
    const peer = started([[4, 1000]]);
    const id = open(peer, POST, false);
    expect(peer.session.writeData(id, new Uint8Array(800), false)).toBe(800);
    peer.settings([[4, 500]]); // 1000 → 500: window 200 → -300
    expect(peer.session.writableBytes(id)).toBe(0);
    const events = peer.settings([[4, 2000]]); // window -300 → 1200
    expect(only(events, "writable")).toEqual([]); // not blocked: nothing to announce
    expect(peer.session.writableBytes(id)).toBe(1200);
  });

  test("window overflow: stream WINDOW_UPDATE → stream error; SETTINGS or connection → connection error", () => {
    const peer = started();
    const id = open(peer, POST, false);
    const events = peer.send({ type: "WINDOW_UPDATE", streamId: id, increment: 0x7fffffff });
    expect(events).toEqual([ourReset(id, FLOW_CONTROL_ERROR)]);
    open(peer, POST, false);
    expect(connectionErrorOf(peer.settings([[4, 0x7fffffff]]))).toBeUndefined(); // window 65535 → 2^31-1: fine
    const p2 = started();
    open(p2, POST, false);
    p2.send({ type: "WINDOW_UPDATE", streamId: 1, increment: 0x7fffffff - 65535 });
    expect(connectionErrorOf(p2.settings([[4, 65536]]))?.h2Code).toBe(FLOW_CONTROL_ERROR);
    const p3 = started();
    expect(
      connectionErrorOf(p3.send({ type: "WINDOW_UPDATE", streamId: 0, increment: 0x7fffffff }))?.h2Code,
    ).toBe(FLOW_CONTROL_ERROR);
  });

  test("receive: no WINDOW_UPDATE until half the window is consumed; then stream and connection updates", () => {
    const peer = started();
    const id = open(peer);
    peer.clientFrames();
    const events = peer.send(
      peer.headers(id, OK, false),
      peer.data(id, new Uint8Array(15000), false),
      peer.data(id, new Uint8Array(15000), false),
    );
    expect(only(events, "data").map((e) => e.flowLength)).toEqual([15000, 15000]);
    expect(peer.clientFrames()).toEqual([]); // delivered is not consumed
    peer.session.consumed(id, 30000);
    expect(peer.clientFrames()).toEqual([]); // 30000 < 65535 / 2
    peer.send(peer.data(id, new Uint8Array(5000), false));
    peer.session.consumed(id, 5000);
    expect(peer.clientFrames()).toEqual([
      { type: "WINDOW_UPDATE", streamId: id, increment: 35000 },
      { type: "WINDOW_UPDATE", streamId: 0, increment: 35000 },
    ]);
    peer.session.consumed(id, 1_000_000); // more than delivered: clamped to nothing
    expect(peer.clientFrames()).toEqual([]);
  });

  test("receive: padding is released at once; consumed() is what the caller was given", () => {
    const peer = started();
    const id = open(peer);
    peer.clientFrames();
    peer.send(peer.headers(id, OK, false));
    const events = peer.send({
      type: "DATA",
      streamId: id,
      endStream: false,
      data: new Uint8Array(10),
      padLength: 255,
    });
    expect(only(events, "data")[0]?.flowLength).toBe(266);
    const big = {
      type: "DATA",
      streamId: id,
      endStream: false,
      data: new Uint8Array(0),
      padLength: 255,
    } as const;
    const frames: Frame[] = Array.from({ length: 130 }, () => big);
    peer.send(...frames);
    const updates = peer.clientFrames();
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.every((f) => f.type === "WINDOW_UPDATE")).toBe(true);
  });

  test("receive: DATA over the stream window is a stream error, over the connection window a connection error", () => {
    const plan: H2ClientPlan = { ...SMALL_PLAN, settings: [[4, 1000]], connectionWindowIncrement: 0 };
    const peer = started([], plan);
    const id = open(peer);
    peer.send(peer.headers(id, OK, false));
    const events = peer.send(peer.data(id, new Uint8Array(1001), false));
    expect(events).toEqual([ourReset(id, FLOW_CONTROL_ERROR)]);
    const ids = Array.from({ length: 70 }, () => open(peer));
    let last: H2Event[] = [];
    for (const s of ids) {
      peer.send(peer.headers(s, OK, false));
      last = peer.send(peer.data(s, new Uint8Array(1000), false));
      if (connectionErrorOf(last)) break;
    }
    expect(connectionErrorOf(last)?.h2Code).toBe(FLOW_CONTROL_ERROR);
  });

  test("Chrome-size windows bound unconsumed data: the server cannot push more than the advertised window", () => {
    const peer = started([], CHROME_PLAN);
    const id = open(peer);
    peer.send(peer.headers(id, OK, false));
    const chunk = new Uint8Array(16384);
    let delivered = 0;
    let error: Extract<H2Event, { type: "reset" }>[] = [];
    for (let i = 0; i < 400 && error.length === 0; i++) {
      const events = peer.send(peer.data(id, chunk, false));
      delivered += only(events, "data").reduce((n, e) => n + e.data.length, 0);
      error = only(events, "reset");
    }
    expect(delivered).toBeLessThanOrEqual(6291456);
    expect(error[0]?.code).toBe(FLOW_CONTROL_ERROR);
  });
});

describe("client session fuzz", () => {
  test("random and mutated server frame streams: receive() never throws and terminates", () => {
    const rand = prng(0xc0ffee);
    const hpack = new HpackEncoder(CHROME_HPACK_POLICY);
    const block = hpack.encode([
      [":status", "200"],
      ["content-type", "text/plain"],
    ]);
    const templates: Frame[] = [
      { type: "HEADERS", streamId: 1, endStream: false, endHeaders: true, block },
      { type: "HEADERS", streamId: 3, endStream: true, endHeaders: false, block },
      { type: "CONTINUATION", streamId: 3, endHeaders: true, block: Uint8Array.of(0x88) },
      { type: "DATA", streamId: 1, endStream: false, data: Uint8Array.of(1, 2, 3) },
      { type: "DATA", streamId: 1, endStream: true, data: new Uint8Array(0), padLength: 4 },
      {
        type: "SETTINGS",
        ack: false,
        settings: [
          [4, 100],
          [1, 0],
          [3, 1],
        ],
      },
      { type: "SETTINGS", ack: true, settings: [] },
      { type: "WINDOW_UPDATE", streamId: 0, increment: 1000 },
      { type: "WINDOW_UPDATE", streamId: 1, increment: 1000 },
      { type: "RST_STREAM", streamId: 3, code: 7 },
      { type: "PING", ack: false, opaque: new Uint8Array(8) },
      { type: "GOAWAY", lastStreamId: 1, code: 0, debug: new Uint8Array(0) },
      { type: "PRIORITY", streamId: 5, priority: { exclusive: false, dependency: 1, weight: 16 } },
      { type: "UNKNOWN", frameType: 0xaa, flags: 0, streamId: 0, payload: Uint8Array.of(1) },
    ];
    let errors = 0;
    let events = 0;
    for (let i = 0; i < 10_000; i++) {
      const session = new H2ClientSession({
        plan: SMALL_PLAN,
        encoder: new HpackEncoder(CHROME_HPACK_POLICY),
        decoder: new HpackDecoder(),
      });
      session.preface();
      const parts: Uint8Array[] = [encodeFrame({ type: "SETTINGS", ack: false, settings: [] })];
      for (let k = 0; k < 3; k++) session.openStream({ fields: GET, endStream: k !== 0 });
      if (i % 5 === 0) {
        parts.push(randBytes(rand, randInt(rand, 120)));
      } else {
        for (let k = 1 + randInt(rand, 8); k > 0; k--)
          parts.push(encodeFrame(templates[randInt(rand, templates.length)] as Frame));
      }
      const input = concatBytes(parts).slice();
      const flips = i % 5 === 0 ? 0 : randInt(rand, 4);
      for (let k = 0; k < flips; k++) {
        const at = 9 + randInt(rand, Math.max(1, input.length - 9));
        input[at] = randInt(rand, 256);
      }
      let at = 0;
      while (at < input.length) {
        const n = 1 + randInt(rand, 64);
        const out = session.receive(input.subarray(at, at + n));
        events += out.length;
        const error = connectionErrorOf(out);
        if (error) {
          errors++;
          // INTERNAL_ERROR would mean an exception of ours was caught, i.e. a bug, not a peer error.
          expect(error.h2Code).not.toBe(H2ErrorCode.INTERNAL_ERROR);
        }
        at += n;
        if (i % 3 === 0) session.writeData(1, Uint8Array.of(1, 2), false);
        session.consumed(1, randInt(rand, 10));
        session.takeOutput();
      }
    }
    expect(errors).toBeGreaterThan(500);
    expect(events).toBeGreaterThan(10_000);
  });
});
