/**
 * The connection remembers why its last 1024 streams closed (late frames on a stream that ended
 * or was reset by the peer get RST_STREAM; on older ones they are ignored). Checked against a
 * plain FIFO model over random open/close orders that run far past the limit.
 */
import { describe, expect, test } from "bun:test";
import { ConnectionState } from "../src/http/h2/connection-state.ts";
import { ClientStream, type CloseReason } from "../src/http/h2/stream-state.ts";
import { prng } from "./helpers/prng.ts";

const REMEMBERED = 1024;
const REASONS: CloseReason[] = ["ended", "reset-local", "reset-remote", "refused"];

/** A seeded generator (mulberry32), so a failure can be replayed. */

function check(seed: number, closes: number, maxOpen: number): void {
  const rnd = prng(seed);
  const s = new ConnectionState(1, 65_535, 65_535, Number.POSITIVE_INFINITY, 1 << 20, 1000);
  const model = new Map<number, CloseReason>(); // insertion order = close order
  const open: ClientStream[] = [];
  let closed = 0;
  while (closed < closes) {
    if (open.length < maxOpen && (open.length === 0 || rnd() < 0.5)) {
      const stream = new ClientStream(s.nextStreamId, 65_535, 65_535, false);
      s.nextStreamId += 2;
      s.streams.set(stream.id, stream);
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
    if (closed % 97 === 0 || closed > closes - 5) {
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
});
