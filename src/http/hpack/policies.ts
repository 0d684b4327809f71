import type { HpackPolicy } from "./types.ts";

/**
 * Chrome (Chromium 156, quiche `HpackEncoder`): a full table match is sent Indexed; pseudo-headers
 * other than `:authority` are never inserted (`DefaultPolicy`); everything else is inserted;
 * Huffman only when strictly shorter (`EmitString`); the name reference is the first match
 * (`GetByName`); cookies are cut into crumbs at `;` (`CookieToCrumbs`); table size settings per
 * `ApplyHeaderTableSizeSetting` (`changes-only`).
 *
 * Backed byte for byte by test/fixtures/http (from the project's captures
 * reference/captures/local-debian/chromium-{ip,sni}-conn{1,3}.h2.hex, Chromium 156.0.8078.108, and
 * every HEADERS block of local-debian-http/chromium-h2{,-noextconnect}, Chromium 156.0.8078.114,
 * including the extended CONNECT: `:method CONNECT` / `:path /ws` / `:protocol` literal without
 * indexing). The size-setting behaviour is from the quiche source, not a capture.
 */
export const CHROME_HPACK_POLICY: HpackPolicy = {
  huffman: "shorter",
  nameReference: "first",
  noIndex: [":method", ":scheme", ":path", ":protocol", ":status"],
  ignoreFullMatch: [],
  neverIndex: [],
  cookieCrumbs: "semicolon",
  sizeUpdates: "changes-only",
};

/**
 * Firefox (Firefox ESR 153, Gecko `Http2Compressor`): every string Huffman-coded
 * (`HuffmanAppend`); `:path` is never inserted and never sent Indexed, even on a full static match
 * (`ProcessHeader(..., noLocalIndex=true)`); the name reference is the last name match before the
 * first full match (`:path /` → 4, `:path /x` → 5, `:method CONNECT` → 3); `authorization` and
 * cookie crumbs (cut at `"; "`) shorter than 20 octets are never indexed; no insertion when the
 * entry is over half the table or the table is under 128 octets; every table size setting is
 * announced (`SetMaxBufferSize`, `every-setting`).
 *
 * Backed byte for byte by test/fixtures/http (from reference/captures/local-debian/
 * firefox-{ip,sni}-conn{1,3}.h2.hex, Firefox 153.7.0esr, and every HEADERS block of
 * local-debian-http/firefox-h2{,-noextconnect}, Firefox 153.8.0esr: `never:32` for the cookie
 * crumb `sid=abc123`). `authorization`, the size limits and the size-setting behaviour are from
 * the Gecko source (netwerk/protocol/http/Http2Compression.cpp), not a capture.
 */
export const FIREFOX_HPACK_POLICY: HpackPolicy = {
  huffman: "always",
  nameReference: "last",
  noIndex: [":path"],
  ignoreFullMatch: [":path"],
  neverIndex: [{ name: "authorization" }, { name: "cookie", shorterThan: 20 }],
  cookieCrumbs: "semicolon-space",
  maxIndexedEntryShare: 0.5,
  minTableSizeToIndex: 128,
  sizeUpdates: "every-setting",
};
