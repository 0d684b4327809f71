/**
 * Microbenchmark of the pure part of the request direction for an HTTP/1.1 client and an HTTP/2
 * upstream (not part of `make bench`): head scan and parse, bridge checks, request kind, header
 * policy, pseudo-headers, HPACK encoding and HEADERS framing, as one request costs them, in ns per
 * request. Two requests: the probe's minimal GET and a Chrome-like navigation with cookies.
 *
 *   bun bench/micro/request-path.ts [--profile chrome-142-linux-x64] [--ms 1500]   (ONLY=minimal: skip the Chrome one)
 */
import { parseArgs } from "node:util";
import { bridgeRequest, Refusal } from "../../src/http/bridge/client-h1-request.ts";
import { RequestHeadScanner } from "../../src/http/h1/request-head.ts";
import { encodeHeaderBlock } from "../../src/http/h2/frame-writer.ts";
import { h2FieldList } from "../../src/http/headers/h2-fields.ts";
import { buildUpstreamHeaders } from "../../src/http/headers/policy.ts";
import { classifyRequest } from "../../src/http/headers/request-kind.ts";
import { HpackEncoder } from "../../src/http/hpack/encoder.ts";
import { ProfileRegistry } from "../../src/profiles/registry-store.ts";
import { parseAuthority } from "../../src/proxy/authority.ts";

const { values: f } = parseArgs({
  options: {
    profile: { type: "string", default: "chrome-142-linux-x64" },
    ms: { type: "string", default: "1500" },
  },
});
const http = new ProfileRegistry().get(String(f.profile)).http;
const target = parseAuthority("localhost:8443");
const authority = "localhost:8443";
const enc = new TextEncoder();

const MINIMAL = enc.encode("GET /small HTTP/1.1\r\nHost: localhost:8443\r\n\r\n");
const CHROME = enc.encode(
  [
    "GET /assets/app.js?v=3 HTTP/1.1",
    "Host: localhost:8443",
    "Connection: keep-alive",
    'sec-ch-ua: "Chromium";v="142", "Google Chrome";v="142", "Not_A Brand";v="99"',
    "sec-ch-ua-mobile: ?0",
    'sec-ch-ua-platform: "Linux"',
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
    "Accept: */*",
    "Sec-Fetch-Site: same-origin",
    "Sec-Fetch-Mode: no-cors",
    "Sec-Fetch-Dest: script",
    "Referer: https://localhost:8443/index.html",
    "Accept-Encoding: gzip, deflate, br, zstd",
    "Accept-Language: en-US,en;q=0.9",
    "Cookie: session=abcdef0123456789; theme=dark; _ga=GA1.1.123456789.1700000000",
    "",
    "",
  ].join("\r\n"),
);

function run(name: string, bytes: Uint8Array): void {
  const scanner = new RequestHeadScanner();
  const hpack = new HpackEncoder(http.http2.hpack);
  const one = (): number => {
    const parsed = scanner.push(bytes);
    if (parsed.kind !== "head") throw new Error("incomplete");
    scanner.reset();
    const req = bridgeRequest(parsed.head, target);
    if (req instanceof Refusal) throw req.error;
    const kind = classifyRequest({ method: req.method, path: req.path, fields: req.fields });
    const regular = buildUpstreamHeaders(http, kind, req.fields, {
      authority,
      keepClient: undefined,
      protocol: "h2",
    });
    const pseudo = { ":method": req.method, ":authority": authority, ":scheme": "https", ":path": req.path };
    const block = hpack.encode(h2FieldList(http.http2, pseudo, regular));
    return encodeHeaderBlock(1, block, { endStream: true }, 16384).length;
  };
  const ms = Number(f.ms);
  let sink = 0;
  for (let i = 0; i < 20000; i++) sink += one(); // warm-up: JIT tiers
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 1000; i++) sink += one();
      n += 1000;
    }
    const ns = ((performance.now() - start) * 1e6) / n;
    console.log(`${name.padEnd(8)} ${ns.toFixed(0).padStart(6)} ns/request${sink < 0 ? "" : ""}`);
  }
}

run("minimal", MINIMAL);
if (process.env.ONLY !== "minimal") run("chrome", CHROME);
