/**
 * The connection remembers why its last 1024 streams closed (late frames on a stream that ended
 * or was reset by the peer get RST_STREAM; on older ones they are ignored). Checked against a
 * plain FIFO model over random open/close orders that run far past the limit.
 */
import { describe, expect, test } from "bun:test";
import { ClosedStreams } from "../src/http/h2/closed-streams.ts";
import { ConnectionState } from "../src/http/h2/connection-state.ts";
import { ClientStream, type CloseReason } from "../src/http/h2/stream-state.ts";
import { prng } from "./helpers/prng.ts";

const REMEMBERED = 1024;
const REASONS: CloseReason[] = ["ended", "reset-local", "reset-remote", "refused"];

/** Random opens and closes from a seeded generator (replayable), checked every `every` closes. */
function check(seed: number, closes: number, maxOpen: number, every = 97): void {
  const rnd = prng(seed);
  const s = new ConnectionState(1, 65_535, 65_535, Number.POSITIVE_INFINITY, 1 << 20, 1000);
  const model = new Map<number, CloseReason>(); // insertion order = close order
  const open: ClientStream[] = [];
  let closed = 0;
  while (closed < closes) {
    if (open.length < maxOpen && (open.length === 0 || rnd() < 0.5)) {
      const stream = new ClientStream(s.nextStreamId, 65_535, 65_535, false);
      s.nextStreamId += 2;
      s.streams.add(stream);
      s.liveCount++;
      open.push(stream);
      continue;
    }
    const at = Math.floor(rnd() * open.length);
    const stream = open.splice(at, 1)[0] as ClientStream;
    const reason = REASONS[Math.floor(rnd() * REASONS.length)] as CloseReason;
    s.finish(stream, reason);
    closed++;
    model.set(stream.id, reason);
    if (model.size > REMEMBERED) model.delete(model.keys().next().value as number);
    if (closed % every === 0 || closed > closes - 5) {
      for (let id = 1; id < s.nextStreamId; id += 2) {
        const live = open.some((o) => o.id === id);
        if (live) continue;
        expect(s.closedReason(id)).toBe(model.get(id) ?? "reset-local");
      }
    }
  }
  expect(s.closedReason(s.nextStreamId)).toBeUndefined();
  expect(s.closedReason(2)).toBeUndefined();
}

describe("closed stream reasons", () => {
  test("in order, past the limit several times", () => check(1, 3 * REMEMBERED + 17, 1));
  test("out of order, long-lived streams among short ones", () => check(2, 4 * REMEMBERED, 40));
  test("many open at once", () => check(3, 3 * REMEMBERED, 300));
  test("the first closes, checked after each (kept in an array, then in Maps)", () => check(4, 60, 5, 1));
});

describe("ClosedStreams ring", () => {
  test("keeps the last `capacity` closes, newest first, and forgets the oldest", () => {
    const ring = new ClosedStreams<CloseReason>(REASONS, 3);
    expect(ring.reason(1)).toBeUndefined();
    ring.remember(1, "ended");
    ring.remember(5, "reset-remote");
    ring.remember(3, "refused");
    expect([ring.reason(1), ring.reason(3), ring.reason(5)]).toEqual(["ended", "refused", "reset-remote"]);
    ring.remember(7, "reset-local"); // overwrites 1, the oldest
    ring.remember(2 ** 31 - 1, "ended"); // the highest stream id: overwrites 5
    expect(ring.reason(1)).toBeUndefined();
    expect(ring.reason(5)).toBeUndefined();
    expect([ring.reason(3), ring.reason(7), ring.reason(2 ** 31 - 1)]).toEqual([
      "refused",
      "reset-local",
      "ended",
    ]);
    expect(ring.reason(2 ** 31 - 3)).toBeUndefined();
  });

  test("a connection forgets a finished stream once its bytes are taken, and keeps why it closed", () => {
    const s = new ConnectionState(1, 65_535, 65_535, Number.POSITIVE_INFINITY, 1 << 20, 1000);
    const a = new ClientStream(1, 65_535, 65_535, false);
    const b = new ClientStream(3, 65_535, 65_535, false);
    s.nextStreamId = 5;
    s.streams.add(a);
    s.streams.add(b);
    s.liveCount = 2;
    b.outstanding = 10; // bytes the caller has not taken yet
    s.finish(a, "ended");
    s.finish(b, "ended");
    expect([...s.streams.values()].map((x) => x.id)).toEqual([3]);
    s.streams.remove(3);
    expect([...s.streams.values()]).toEqual([]);
    expect([s.closedReason(1), s.closedReason(3)]).toEqual(["ended", "ended"]);
    expect(s.streams.get(1)).toBeUndefined();
  });
});
