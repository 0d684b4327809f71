import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { H2ClientPlan } from "../../src/http/h2/session-types.ts";
import { SettingId } from "../../src/http/h2/settings.ts";
import { CHROME_HPACK_POLICY } from "../../src/http/hpack/index.ts";
import type { HpackPolicy } from "../../src/http/hpack/types.ts";
import type { Http2Profile } from "../../src/profiles/http-types.ts";

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

/**
 * A minimal HTTP/2 profile for unit tests of the upstream connection: one setting, no connection
 * window update, Chrome's pseudo-header order and HPACK policy.
 */
/** A bodyless GET as UpstreamH2.request takes it (pseudo-headers only, no priority). */
export const UPSTREAM_GET = {
  fields: [
    [":method", "GET"],
    [":authority", "a"],
    [":scheme", "https"],
    [":path", "/"],
  ] as [string, string][],
  hasBody: false,
  priority: null,
  head: false,
};

export function minimalH2Profile(): Http2Profile {
  return {
    plan: {
      settings: [[SettingId.HEADER_TABLE_SIZE, 65536]],
      connectionWindowIncrement: 0,
      priorityFrames: [],
      firstStreamId: 1,
    },
    greaseSetting: false,
    streamWindowIncrement: null,
    pseudoHeaderOrder: [":method", ":authority", ":scheme", ":path"],
    hpack: CHROME_HPACK_POLICY,
  } as unknown as Http2Profile;
}

/** The RFC 7541 Appendix C encoder: incremental indexing, first name match, no crumbs, no Huffman. */
export const RFC_HPACK_POLICY: HpackPolicy = {
  huffman: "never",
  nameReference: "first",
  noIndex: [],
  ignoreFullMatch: [],
  neverIndex: [],
  cookieCrumbs: "none",
  sizeUpdates: "changes-only",
};
