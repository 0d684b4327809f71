/**
 * Floods of frames that cost the proxy more than their bytes, found by a DoS hunt and bounded here
 * (pure, on the sessions):
 * - tiny chunks queued one object each (a request body toward an origin that takes nothing, a
 *   response toward a client that reads nothing, a field block in 1-byte CONTINUATION frames):
 *   chunk-list.ts copies them together, so what waits costs about its bytes;
 * - an origin's frames that make no progress (empty CONTINUATION, PING, frames on streams that
 *   are over) are counted as a client's are: the 1001st in a row is a connection error
 *   (ENHANCE_YOUR_CALM), where they grew memory and burned CPU without end;
 * - a client's WINDOW_UPDATE for a stream that is over makes no progress either.
 */
import { describe, expect, test } from "bun:test";
import { appendChunk } from "../src/http/h2/chunk-list.ts";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { MAX_IDLE_FRAMES } from "../src/http/h2/flood.ts";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import type { H2Event, HeaderField } from "../src/http/h2/session-types.ts";
import { ScriptedPeer, SMALL_PLAN } from "./helpers/h2-scripted-peer.ts";

describe("appendChunk: tiny chunks cost their bytes", () => {
  test("100000 one-byte chunks make a handful of entries, in order; big ones are kept as they are", () => {
    const q: Uint8Array[] = [];
    for (let i = 0; i < 100_000; i++) appendChunk(q, Uint8Array.of(i & 0xff));
    expect(q.length).toBeLessThanOrEqual(Math.ceil(100_000 / (16 * 1024)));
    const all = Buffer.concat(q);
    expect(all.length).toBe(100_000);
    for (let i = 0; i < 100_000; i += 997) expect(all[i]).toBe(i & 0xff);
    const big = new Uint8Array(4096);
    appendChunk(q, big);
    expect(q.at(-1)).toBe(big); // by reference
    appendChunk(q, new Uint8Array(0));
    expect(q.at(-1)).toBe(big); // nothing added
  });

  test("an owner taking a suffix of the last entry, or all of it, never sees later bytes in it", () => {
    const q: Uint8Array[] = [];
    appendChunk(q, Uint8Array.of(1, 2, 3));
    const head = q[0] as Uint8Array;
    q[0] = head.subarray(2); // the owner sent two bytes
    appendChunk(q, Uint8Array.of(4));
    expect([...(q[0] as Uint8Array)]).toEqual([3, 4]);
    const taken = q.shift() as Uint8Array; // the owner sent the rest
    appendChunk(q, Uint8Array.of(5));
    expect([...taken]).toEqual([3, 4]);
    expect([...(q[0] as Uint8Array)]).toEqual([5]);
  });
});

/** The connection error among `events`, if any. */
const connectionError = (events: H2Event[]) =>
  events.find((e): e is Extract<H2Event, { type: "connection-error" }> => e.type === "connection-error")
    ?.error;

describe("an origin's frames without progress are bounded (client session)", () => {
  const GET: HeaderField[] = [
    [":method", "GET"],
    [":scheme", "https"],
    [":authority", "a"],
    [":path", "/"],
  ];

  function started(): { peer: ScriptedPeer; id: number } {
    const peer = new ScriptedPeer(SMALL_PLAN);
    peer.settings([]);
    peer.clientFrames();
    const r = peer.session.openStream({ fields: GET, endStream: true });
    if (!r.ok) throw new Error(r.reason);
    return { peer, id: r.streamId };
  }

  test("endless empty CONTINUATION frames: ENHANCE_YOUR_CALM after the bound", () => {
    const { peer, id } = started();
    let events = peer.send(
      encodeFrame({
        type: "HEADERS",
        streamId: id,
        endStream: false,
        endHeaders: false,
        block: Uint8Array.of(0x88),
      }),
    );
    const empty = encodeFrame({
      type: "CONTINUATION",
      streamId: id,
      endHeaders: false,
      block: new Uint8Array(0),
    });
    for (let i = 0; i < MAX_IDLE_FRAMES && connectionError(events) === undefined; i++)
      events = peer.send(empty);
    expect(connectionError(events)).toBeUndefined(); // the bound itself is allowed
    expect(connectionError(peer.send(empty))?.h2Code).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);
  });

  test("a PING flood: ENHANCE_YOUR_CALM after the bound; a response between resets the count", () => {
    const { peer, id } = started();
    const ping = encodeFrame({ type: "PING", ack: false, opaque: new Uint8Array(8) });
    for (let i = 0; i < MAX_IDLE_FRAMES - 1; i++) expect(connectionError(peer.send(ping))).toBeUndefined();
    peer.send(peer.headers(id, [[":status", "200"]], true)); // progress
    for (let i = 0; i < MAX_IDLE_FRAMES; i++) expect(connectionError(peer.send(ping))).toBeUndefined();
    expect(connectionError(peer.send(ping))?.h2Code).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);
  });

  test("WINDOW_UPDATE for a stream that is over counts too", () => {
    const { peer, id } = started();
    peer.send(peer.headers(id, [[":status", "200"]], true)); // the stream is over
    const wu = encodeFrame({ type: "WINDOW_UPDATE", streamId: id, increment: 1 });
    let err: ReturnType<typeof connectionError>;
    for (let i = 0; i <= MAX_IDLE_FRAMES && err === undefined; i++) err = connectionError(peer.send(wu));
    expect(err?.h2Code).toBe(H2ErrorCode.ENHANCE_YOUR_CALM);
  });
});
