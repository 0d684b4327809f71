import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { H2ClientPlan } from "../../src/http/h2/session-types.ts";

const DIR = join(import.meta.dir, "..", "fixtures", "http");

/** A `.h2.hex` capture (client bytes from the magic to the end of the first HEADERS block). */
export function captureBytes(name: string): Uint8Array {
  return Uint8Array.from(Buffer.from(readFileSync(join(DIR, name), "utf8").trim(), "hex"));
}

export function fixtureJson(name: string): unknown {
  return JSON.parse(readFileSync(join(DIR, name), "utf8"));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** research http-layer.md §1.2: Chrome 143 / Chromium 156. */
export const CHROME_PLAN: H2ClientPlan = {
  settings: [
    [1, 65536],
    [2, 0],
    [4, 6291456],
    [6, 262144],
  ],
  connectionWindowIncrement: 15663105,
  priorityFrames: [],
  firstStreamId: 1,
};

/** Firefox 145 / ESR 153. */
export const FIREFOX_PLAN: H2ClientPlan = {
  settings: [
    [1, 65536],
    [2, 0],
    [4, 131072],
    [5, 16384],
  ],
  connectionWindowIncrement: 12517377,
  priorityFrames: [],
  firstStreamId: 3,
};

/** Safari 26.2. */
export const SAFARI_PLAN: H2ClientPlan = {
  settings: [
    [2, 0],
    [3, 100],
    [4, 2097152],
    [9, 1],
  ],
  connectionWindowIncrement: 10420225,
  priorityFrames: [],
  firstStreamId: 1,
};
