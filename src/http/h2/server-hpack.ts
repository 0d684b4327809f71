import type { HpackPolicy } from "../hpack/types.ts";

/**
 * How the server role compresses response heads for the proxy's own client (not a browser
 * policy: nothing here is seen by an origin). Static-table references only: nothing is ever
 * inserted in the dynamic table (`minTableSizeToIndex` above any table size), so an idle tunnel
 * keeps no response fields and nothing is evicted per response; no Huffman coding (the client is
 * on the same host or LAN: bytes are cheap, CPU is not). Table size settings from the client are
 * still acknowledged with size updates as RFC 7541 §4.2 requires (`changes-only`).
 */
export const SERVER_HPACK_POLICY: HpackPolicy = {
  huffman: "never",
  nameReference: "first",
  noIndex: [],
  ignoreFullMatch: [],
  neverIndex: [],
  cookieCrumbs: "none",
  minTableSizeToIndex: Number.MAX_SAFE_INTEGER,
  sizeUpdates: "changes-only",
};
