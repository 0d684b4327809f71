/**
 * Microbenchmark of the upstream request HPACK encoder alone (not part of `make bench`): one
 * connection's encoder encoding the field lists `request-path.ts` produces (a Chrome-like script
 * load, alternating paths), steady state (the table already holds the repeated fields). Every value
 * is a fresh string per request (sliced from a longer one), as values cut from a parsed head are.
 *
 *   [CASE=navigate] bun bench/micro/request-hpack.ts [--profile chrome-142-linux-x64] [--ms 1500]
 */
import { parseArgs } from "node:util";
import { h2FieldList } from "../../src/http/headers/h2-fields.ts";
import { buildUpstreamHeaders } from "../../src/http/headers/policy.ts";
import { HpackEncoder } from "../../src/http/hpack/encoder.ts";
import { ProfileRegistry } from "../../src/profiles/registry-store.ts";

const { values: f } = parseArgs({
  options: {
    profile: { type: "string", default: "chrome-142-linux-x64" },
    ms: { type: "string", default: "1500" },
  },
});
const http = new ProfileRegistry().get(String(f.profile)).http;
const authority = "localhost:8443";
const client: [string, string][] = [
  ["sec-ch-ua", '"Chromium";v="142", "Google Chrome";v="142", "Not_A Brand";v="99"'],
  ["sec-ch-ua-mobile", "?0"],
  ["sec-ch-ua-platform", '"Linux"'],
  [
    "user-agent",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
  ],
  ["accept", "*/*"],
  ["sec-fetch-site", "same-origin"],
  ["sec-fetch-mode", "no-cors"],
  ["sec-fetch-dest", "script"],
  ["referer", "https://localhost:8443/index.html"],
  ["accept-encoding", "gzip, deflate, br, zstd"],
  ["accept-language", "en-US,en;q=0.9"],
  ["cookie", "session=abcdef0123456789; theme=dark; _ga=GA1.1.123456789.1700000000"],
];
/** `script`: a Chrome-like script load (alternating paths); `navigate`: bench/probe.ts's bare GET. */
const listsOf = (kind: "script" | "navigate", fields: [string, string][], paths: string[]) =>
  paths.map((path) => {
    const regular = buildUpstreamHeaders(http, kind, fields, {
      authority,
      keepClient: undefined,
      protocol: "h2",
    });
    const pseudo = { ":method": "GET", ":authority": authority, ":scheme": "https", ":path": path };
    return h2FieldList(http.http2, pseudo, regular);
  });
const lists =
  process.env.CASE === "navigate"
    ? listsOf("navigate", [], ["/small"])
    : listsOf("script", client, ["/assets/app.js?v=3", "/assets/vendor.js?v=3", "/small"]);
/** A copy of `s` that shares nothing cached with it (no computed hash, not an atom). */
const fresh = (s: string): string => `#${s}`.slice(1);
const hpack = new HpackEncoder(http.http2.hpack);
let sink = 0;
let k = 0;
const one = (): void => {
  const list = lists[k++ % lists.length] as [string, string][];
  const copy: [string, string][] = [];
  for (let i = 0; i < list.length; i++) {
    const [name, value] = list[i] as [string, string];
    copy.push([name, fresh(value)]);
  }
  sink += hpack.encode(copy).length;
};
const ms = Number(f.ms);
for (let i = 0; i < 20000; i++) one();
for (let round = 0; round < 3; round++) {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 1000; i++) one();
    n += 1000;
  }
  console.log(`encode ${(((performance.now() - start) * 1e6) / n).toFixed(0).padStart(6)} ns/request`);
}
console.log(`(${lists[0]?.length} fields, sink ${sink})`);
