/**
 * Fuzzing the server-role session: random and mutated client frames, in random pieces, with the
 * caller answering whatever streams it is told about. The session must never throw, always
 * return, and keep its state bounded (streams, queued output per input byte).
 */
import { describe, expect, test } from "bun:test";
import { FRAME_HEADER_BYTES } from "../src/http/h2/frame-types.ts";
import { concatBytes, encodeFrame } from "../src/http/h2/frame-writer.ts";
import type { H2ServerEvent } from "../src/http/h2/server-types.ts";
import type { HeaderField } from "../src/http/hpack/types.ts";
import { GET, Peer } from "./helpers/h2-server-peer.ts";
import { prng, randBytes, randInt } from "./helpers/prng.ts";

const MAX_STREAMS = 8;

/** Frame kinds by weight: mostly a plausible conversation, some violations, a little garbage. */
const KINDS = "HHHHHDDDDDWWRSPQUCG";

function randomFrame(rand: () => number, p: Peer, state: { lastId: number }): Uint8Array {
  const r = rand();
  const kind = r < 0.01 ? "X" : r < 0.02 ? "Y" : KINDS[randInt(rand, KINDS.length)];
  const wild = randInt(rand, 30) === 0; // an id that may be idle, even, or reused
  const current = Math.max(1, state.lastId);
  const id = wild ? randInt(rand, 12) : current;
  const payload = randBytes(rand, randInt(rand, 40));
  switch (kind) {
    case "H": {
      const next = wild ? id : state.lastId + 2;
      state.lastId = Math.max(state.lastId, next);
      const fields: HeaderField[] =
        randInt(rand, 8) === 0 ? [[":path", "/x"]] : [...GET, ["x-r", String(rand())]];
      return encodeFrame({
        type: "HEADERS",
        streamId: next,
        endStream: rand() < 0.5,
        endHeaders: rand() < 0.95,
        block: p.encoder.encode(fields),
      });
    }
    case "D":
      return encodeFrame({ type: "DATA", streamId: id || 1, endStream: rand() < 0.3, data: payload });
    case "C":
      return encodeFrame({
        type: "CONTINUATION",
        streamId: id || 1,
        endHeaders: rand() < 0.5,
        block: payload,
      });
    case "R":
      return encodeFrame({ type: "RST_STREAM", streamId: id || 1, code: randInt(rand, 14) });
    case "S":
      return encodeFrame({
        type: "SETTINGS",
        ack: rand() < 0.2,
        settings:
          randInt(rand, 20) === 0
            ? [[1 + randInt(rand, 9), randInt(rand, 2 ** 31)]]
            : [[[1, 3, 4, 6, 0x0a0a][randInt(rand, 5)] as number, randInt(rand, 70_000)]],
      });
    case "W":
      return encodeFrame({
        type: "WINDOW_UPDATE",
        streamId: randInt(rand, 2) === 0 ? 0 : id,
        increment: 1 + randInt(rand, 100_000),
      });
    case "P":
      return encodeFrame({ type: "PING", ack: rand() < 0.5, opaque: randBytes(rand, 8) });
    case "Q":
      return encodeFrame({
        type: "PRIORITY",
        streamId: id || 1,
        priority: { exclusive: false, dependency: (id || 1) + 2, weight: 16 },
      });
    case "U":
      return encodeFrame({
        type: "UNKNOWN",
        frameType: 10 + randInt(rand, 200),
        flags: randInt(rand, 256),
        streamId: id,
        payload,
      });
    case "G":
      return encodeFrame({ type: "GOAWAY", lastStreamId: 0, code: 0, debug: payload });
    case "X": {
      // a random frame header (any type, flags, stream) over random bytes
      const f = randBytes(rand, FRAME_HEADER_BYTES + payload.length);
      f[0] = 0;
      f[1] = 0;
      f[2] = payload.length;
      return f;
    }
    default:
      return randBytes(rand, randInt(rand, 20));
  }
}

/** Answers what the session reports, at random: a head, some body, an end, a reset. */
function answer(rand: () => number, p: Peer, ev: H2ServerEvent, open: Set<number>): void {
  const s = p.session;
  if (ev.type === "request") open.add(ev.streamId);
  if (ev.type === "reset") open.delete(ev.streamId);
  if (ev.type === "data" && rand() < 0.8) s.consumed(ev.streamId, ev.data.length);
  for (const id of open) {
    const r = rand();
    if (r < 0.3)
      s.respond(
        id,
        200,
        [
          [":status", "200"],
          ["x", "y"],
        ],
        false,
      );
    else if (r < 0.35) s.respond(id, 103, [[":status", "103"]], false);
    else if (r < 0.6) {
      try {
        s.writeData(id, new Uint8Array(randInt(rand, 40_000)));
      } catch {
        // DATA before the head is a caller error (ProxyError INTERNAL); the fuzz calls at random
      }
    } else if (r < 0.7) {
      try {
        s.end(id, rand() < 0.5 ? null : [["t", "1"]]);
      } catch {
        // as above
      }
      open.delete(id);
    } else if (r < 0.75) {
      s.resetStream(id);
      open.delete(id);
    }
  }
}

describe("server session fuzz", () => {
  test("random frames in random pieces: no throw, bounded state", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const p = new Peer({ maxConcurrentStreams: MAX_STREAMS, maxHeaderListSize: 4096 });
      const open = new Set<number>();
      const parts: Uint8Array[] = [Peer.preface([[4, 1 + randInt(rand, 70_000)]])];
      parts.push(p.headers(1, [...GET, ["x", "0"]], false));
      const state = { lastId: 1 };
      for (let i = 0; i < 60; i++) parts.push(randomFrame(rand, p, state));
      const bytes = concatBytes(parts);
      let outBytes = 0;
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + randInt(rand, 200);
        for (const ev of p.session.receive(bytes.subarray(at, at + n))) answer(rand, p, ev, open);
        for (const c of p.session.takeOutput()) outBytes += c.length;
        at += n;
        expect(p.session.activeStreams).toBeLessThanOrEqual(MAX_STREAMS);
      }
      // Our answers are the only large output: bounded by what the fuzz wrote plus control frames.
      expect(outBytes).toBeLessThan(bytes.length * 40 + 60 * 8 * 41_000);
    }
  });

  test("mutated valid conversations: no throw", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed * 7919);
      const p = new Peer();
      const valid = concatBytes([
        Peer.preface(),
        p.headers(1, [...GET, ["x", "1"]], false),
        encodeFrame({ type: "DATA", streamId: 1, endStream: true, data: new Uint8Array(10) }),
        p.headers(3, GET, true),
      ]);
      const bytes = valid.slice();
      const flips = 1 + randInt(rand, 4);
      for (let i = 0; i < flips; i++) bytes[randInt(rand, bytes.length)] = randInt(rand, 256);
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + randInt(rand, 30);
        p.session.receive(bytes.subarray(at, at + n));
        p.session.takeOutput();
        at += n;
      }
      // A mutated length may leave the session waiting for the rest of a frame: only bounded state.
      expect(p.session.activeStreams).toBeLessThanOrEqual(100);
    }
  });
});
