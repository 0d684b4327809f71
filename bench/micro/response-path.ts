/**
 * In-process microbenchmark of the response direction in HTTP mode (not part of `make test`):
 * an upstream HTTP/2 origin's frames → UpstreamH2 → H2ClientSession (frame reader, HPACK decoder,
 * response checks) → the Responder chain the dispatcher builds (retrying, decoding, HTTP/1.1) →
 * the client endpoint. Both endpoints are fakes that count bytes, so only JavaScript is measured.
 *
 *   bun bench/micro/response-path.ts [root] [--small N] [--bulk MiB]
 *
 * `root` is the tree to load (default: this one), so the same script compares two trees.
 * `small`: N keep-alive exchanges of a 100-byte body (the bench origin's /small); prints µs per
 * exchange for the whole exchange and for the receive side alone (upstream `data` to the client
 * write). `bulk`: one response of that many MiB in 16 KiB DATA frames, delivered in 32 KiB reads
 * as the TLS layer does (so frames straddle reads); prints MB/s.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { memoryEndpoint } from "../../test/helpers/memory-endpoint.ts";

const { values: f, positionals } = parseArgs({
  allowPositionals: true,
  options: { small: { type: "string", default: "200000" }, bulk: { type: "string", default: "1024" } },
});
const root = positionals[0] ?? join(import.meta.dir, "..", "..");
const src = (p: string) => join(root, "src", p);

const { ProfileRegistry } = await import(src("profiles/registry-store.ts"));
const { UpstreamH2 } = await import(src("http/bridge/upstream-h2.ts"));
const { ResponseQueue } = await import(src("http/bridge/client-h1-queue.ts"));
const { clientH1Responder } = await import(src("http/bridge/client-h1-responder.ts"));
const { decodingResponder } = await import(src("http/bridge/decoding-sink.ts"));
const { retryingResponder } = await import(src("http/bridge/retry.ts"));
// The origin side's frames are built with this tree's codec, the same bytes for every root.
const { encodeFrame } = await import("../../src/http/h2/frame-writer.ts");
const { HpackEncoder } = await import("../../src/http/hpack/encoder.ts");

const http = new ProfileRegistry().http("chrome-143-macos-arm64");

/**
 * What `UpstreamH2.request` is given to hand the request's sink back: a RequestLink (`attach`)
 * in this tree, a callback in trees before it, so one value serves both (`root`).
 */
const LINK = Object.assign(() => {}, { attach() {} });

/** The origin's HPACK encoder: one per connection, as its dynamic table is the connection's. */
let serverEncoder = new HpackEncoder(http.http2.hpack);
const settings = encodeFrame({ type: "SETTINGS", ack: false, settings: [[3, 1000]] });
const settingsAck = encodeFrame({ type: "SETTINGS", ack: true, settings: [] });

/** The origin's answer on `streamId`: HEADERS (:status, content-type, content-length, date) + DATA. */
function smallResponse(streamId: number, body: Uint8Array, date: string): Uint8Array {
  const block = serverEncoder.encode([
    [":status", "200"],
    ["content-type", "application/octet-stream"],
    ["content-length", String(body.length)],
    ["date", date],
  ]);
  const h = encodeFrame({ type: "HEADERS", streamId, endStream: false, endHeaders: true, block });
  const d = encodeFrame({ type: "DATA", streamId, endStream: true, data: body });
  const out = new Uint8Array(h.length + d.length);
  out.set(h, 0);
  out.set(d, h.length);
  return out;
}

function setStreamId(frame: Uint8Array, at: number, id: number): void {
  frame[at + 5] = (id >>> 24) & 0x7f;
  frame[at + 6] = (id >>> 16) & 0xff;
  frame[at + 7] = (id >>> 8) & 0xff;
  frame[at + 8] = id & 0xff;
}

const REQUEST = [
  [":method", "GET"],
  [":authority", "127.0.0.1:4433"],
  [":scheme", "https"],
  [":path", "/small"],
  ["accept", "*/*"],
  ["user-agent", "bench"],
];

function newConnection() {
  serverEncoder = new HpackEncoder(http.http2.hpack);
  const up = memoryEndpoint();
  const client = memoryEndpoint();
  const h2 = new UpstreamH2(up, http.http2);
  up.handlers?.data(settings);
  up.handlers?.data(settingsAck);
  const hooks = { onExchange() {}, onProgress() {}, onStop() {} };
  const q = new ResponseQueue(client, hooks);
  const exchange = () => {
    const ex = q.open("GET", "1.1", true, false);
    const inner = clientH1Responder(q, ex, () => {});
    const responder = decodingResponder(inner, "gzip, deflate, br, zstd");
    return retryingResponder(responder, () => {});
  };
  const request = (responder: unknown) =>
    h2.request({ fields: REQUEST, hasBody: false, priority: null, head: false }, responder, LINK);
  return { up, client, h2, exchange, request };
}

function small(n: number): void {
  const c = newConnection();
  const body = new Uint8Array(100).fill(0x61);
  const date = new Date().toUTCString();
  // The first answer indexes its fields; every later one is the same all-indexed block.
  const first = smallResponse(1, body, date);
  const steady = smallResponse(3, body, date);
  const dataAt = steady.length - 9 - body.length;
  let receiveNs = 0;
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < n; i++) {
    const id = 1 + 2 * i;
    c.request(c.exchange());
    const frames = i === 0 ? first : steady;
    if (i > 0) {
      setStreamId(steady, 0, id);
      setStreamId(steady, dataAt, id);
    }
    const r0 = Bun.nanoseconds();
    c.up.handlers?.data(frames.slice()); // a fresh array per read, as the TLS layer gives
    receiveNs += Bun.nanoseconds() - r0;
  }
  const total = Bun.nanoseconds() - t0;
  const expected = n * (body.length + 60);
  if (c.client.bytes < expected) throw new Error(`client got ${c.client.bytes} bytes, fewer than expected`);
  console.log(
    `small: ${n} exchanges  ${(total / n / 1000).toFixed(2)} µs/exchange  receive side ${(receiveNs / n / 1000).toFixed(2)} µs`,
  );
}

function bulk(mib: number): void {
  const c = newConnection();
  c.request(c.exchange());
  const block = serverEncoder.encode([
    [":status", "200"],
    ["content-type", "application/octet-stream"],
    ["content-length", String(mib * 1024 * 1024)],
  ]);
  c.up.handlers?.data(
    encodeFrame({ type: "HEADERS", streamId: 1, endStream: false, endHeaders: true, block }),
  );
  // 64 DATA frames of 16 KiB (1 MiB) as one byte string, fed in 32 KiB reads like the TLS layer.
  const frame = 9 + 16384;
  const mb = new Uint8Array(64 * frame);
  for (let i = 0; i < 64; i++) {
    mb.set(
      encodeFrame({ type: "DATA", streamId: 1, endStream: false, data: new Uint8Array(16384) }),
      i * frame,
    );
  }
  const last = encodeFrame({ type: "DATA", streamId: 1, endStream: true, data: new Uint8Array(0) });
  const READ = 32 * 1024;
  const t0 = Bun.nanoseconds();
  for (let m = 0; m < mib; m++) {
    // A fresh copy per MiB: the reader keeps views into what it is given.
    const bytes = mb.slice();
    for (let at = 0; at < bytes.length; at += READ) c.up.handlers?.data(bytes.subarray(at, at + READ));
  }
  c.up.handlers?.data(last);
  const s = (Bun.nanoseconds() - t0) / 1e9;
  const got = c.client.bytes;
  if (got < mib * 1024 * 1024) throw new Error(`client got ${got} bytes`);
  console.log(`bulk: ${mib} MiB  ${((mib * 1024 * 1024) / 1e6 / s).toFixed(0)} MB/s`);
}

const smallN = Number(f.small);
const bulkMiB = Number(f.bulk);
if (smallN > 0) {
  small(Math.min(20000, smallN)); // warm-up
  small(smallN);
}
if (bulkMiB > 0) {
  bulk(Math.min(64, bulkMiB));
  bulk(bulkMiB);
}
