/**
 * The request table (test/helpers/h1-cases.ts), one test per row: each smuggling or malformed form
 * is refused with HTTP_BAD_REQUEST, the expected reason and status; each valid form is accepted.
 * Every row is also fed one byte at a time and at random split points and must give the very same
 * outcome (messages, bodies, trailers, error).
 */
import { describe, expect, test } from "bun:test";
import { REQUEST_CASES } from "./helpers/h1-cases.ts";
import { bytes, driveRequests, prng, split } from "./helpers/h1-drive.ts";

describe("request table", () => {
  for (const [i, c] of REQUEST_CASES.entries()) {
    test(c.expect === "ok" ? `accepts: ${c.name}` : `refuses ${c.expect}: ${c.name}`, () => {
      const raw = bytes(c.raw);
      const whole = driveRequests([raw]);
      if (c.expect === "ok") {
        expect(whole.error).toBeNull();
        expect(["idle", "tunnel"]).toContain(whole.state);
        expect(whole.messages.length).toBe(1);
      } else {
        expect(whole.error).toBe(`HTTP_BAD_REQUEST/${c.expect}/${c.status ?? 400}`);
      }
      expect(driveRequests(split(raw, null))).toEqual(whole);
      for (let seed = 1; seed <= 5; seed++) {
        expect(driveRequests(split(raw, prng(seed * 7919 + i), 1 + seed * 3))).toEqual(whole);
      }
    });
  }
});
