/**
 * Decoding a response the client did not ask to be compressed must follow the client's pace: a
 * client that stops reading stops the decoder (and so the upstream), instead of the proxy
 * inflating the whole body into memory.
 */
import { describe, expect, test } from "bun:test";
import * as zlib from "node:zlib";
import { decodingResponder } from "../src/http/bridge/decoding-sink.ts";
import type { BodySink, Responder } from "../src/http/bridge/message.ts";
import { waitUntil } from "./helpers/wait.ts";

/** A client side that takes `room` bytes, then reports full until `drain()` is called. */
function slowClient(room: number) {
  const state = {
    delivered: 0,
    room,
    ended: false,
    aborted: null as Error | null,
    sink: null as BodySink | null,
  };
  const sink: BodySink = {
    write(chunk) {
      state.delivered += chunk.length;
      return state.delivered < state.room;
    },
    end() {
      state.ended = true;
    },
    abort(e) {
      state.aborted = e;
    },
    onDrain: null,
  };
  state.sink = sink;
  const responder: Responder = {
    interim() {},
    head: () => sink,
    fail(e) {
      state.aborted = e;
    },
  };
  return {
    state,
    responder,
    drain(more: number) {
      state.room += more;
      sink.onDrain?.();
    },
  };
}

describe("content decoding follows the client's pace", () => {
  test("a stalled client stops the decoder; the upstream is told to wait; draining resumes it to the end", async () => {
    // 96 MiB that compress ~1000:1 (a bomb-like ratio, still under the cap): the encoded body
    // (~100 KiB) outgrows the decoder's input buffer (64 KiB on Bun), so the upstream must wait, and
    // one input buffer alone would inflate to ~64 MiB if the decoder ignored the client.
    const body = Buffer.alloc(96 * 1024 * 1024, 0x61);
    const gz = zlib.gzipSync(body);
    const client = slowClient(256 * 1024);
    const up = decodingResponder(client.responder, null).head(200, [["content-encoding", "gzip"]], false);
    // A well-behaved upstream: writes 16 KiB pieces until told to wait, then waits for onDrain.
    let at = 0;
    let waits = 0;
    const PIECE = 16 * 1024;
    const pump = () => {
      while (at < gz.length) {
        const room = up.write(gz.subarray(at, at + PIECE));
        at += PIECE;
        if (!room) {
          waits += 1;
          return;
        }
      }
      up.end(null);
    };
    up.onDrain = pump;
    pump();
    await Bun.sleep(200); // let the decoder run as far as it may
    // Bounded: the client's room plus the transforms' buffers, not 64 MiB.
    expect(client.state.delivered).toBeLessThan(4 * 1024 * 1024);
    expect(waits).toBeGreaterThan(0);
    expect(client.state.ended).toBe(false);
    // The client reads everything, 1 MiB at a time.
    for (let i = 0; i < 10_000 && !client.state.ended; i++) {
      client.drain(1024 * 1024);
      await Bun.sleep(1);
      if (client.state.aborted) throw client.state.aborted;
    }
    await waitUntil(() => client.state.ended, "the decoded body ends");
    expect(client.state.delivered).toBe(body.length);
  });
});
