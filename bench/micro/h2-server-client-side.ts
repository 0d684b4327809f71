/**
 * CPU per request of the HTTP/2 client side alone (src/http/bridge/client-h2.ts), in process: an
 * in-memory Endpoint, batches of 32 GET streams (HPACK as Chrome sends them), a dispatcher that
 * answers each with a small body at once, and a write hook that counts the END_STREAMs. Compare
 * trees with `--root` (e.g. the node:http2 version in another checkout).
 *
 *   bun bench/micro/h2-server-client-side.ts [--root DIR] [--batches 3000] [--streams 32]
 *
 * Not part of `make test` or `make bench`.
 */
import { join } from "node:path";
import type { Dispatcher } from "../../src/http/bridge/message.ts";
import { CLIENT_MAGIC } from "../../src/http/h2/frame-types.ts";
import { concatBytes, encodeFrame } from "../../src/http/h2/frame-writer.ts";
import { CHROME_HPACK_POLICY, HpackEncoder } from "../../src/http/hpack/index.ts";
import { parseAuthority } from "../../src/proxy/authority.ts";
import type { Endpoint, EndpointHandlers } from "../../src/proxy/endpoint.ts";
import { memoryEndpoint } from "../../test/helpers/memory-endpoint.ts";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const root = flag("root", join(import.meta.dir, "../.."));
const batches = Number(flag("batches", "3000"));
const streams = Number(flag("streams", "32"));
const { serveClientH2 } = (await import(join(root, "src/http/bridge/client-h2.ts"))) as {
  serveClientH2: (ep: Endpoint, opts: unknown) => { close(): void };
};

/** Counts END_STREAM flags on HEADERS / DATA frames across arbitrary write boundaries. */
class EndCounter {
  ends = 0;
  /** DATA payload bytes seen (granted back to the server with each batch). */
  data = 0;
  #head = new Uint8Array(9);
  #have = 0;
  #skip = 0;
  push(b: Uint8Array): void {
    let at = 0;
    while (at < b.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, b.length - at);
        this.#skip -= n;
        at += n;
        continue;
      }
      this.#head[this.#have++] = b[at++] as number;
      if (this.#have < 9) continue;
      this.#have = 0;
      const h = this.#head;
      const len = ((h[0] as number) << 16) | ((h[1] as number) << 8) | (h[2] as number);
      if ((h[3] === 0 || h[3] === 1) && ((h[4] as number) & 1) === 1) this.ends++;
      if (h[3] === 0) this.data += len;
      this.#skip = len;
    }
  }
}

const counter = new EndCounter();
let waiting: (() => void) | null = null;
let want = 0;
const ep = memoryEndpoint((chunk) => {
  counter.push(chunk);
  if (waiting && counter.ends >= want) {
    const w = waiting;
    waiting = null;
    queueMicrotask(w);
  }
});
const body = new TextEncoder().encode("ok");
const dispatcher: Dispatcher = {
  request(_head, responder) {
    queueMicrotask(() => {
      const sink = responder.head(
        200,
        [
          ["content-type", "text/plain"],
          ["content-length", "2"],
          ["date", "Mon, 30 Nov 2026 14:00:00 GMT"],
        ],
        false,
      );
      sink.write(body);
      sink.end(null);
    });
    return { write: () => true, end() {}, abort() {}, onDrain: null };
  },
  close() {},
};
serveClientH2(ep, {
  target: parseAuthority("example.test:443"),
  dispatcher,
  maxConcurrentStreams: 100,
  maxHeaderListSize: 65536,
  onExchange() {},
  onClose() {},
});
const h = ep.handlers;
if (h === null) throw new Error("endpoint not started");
h.data(concatBytes([CLIENT_MAGIC, encodeFrame({ type: "SETTINGS", ack: false, settings: [] })]));

const encoder = new HpackEncoder(CHROME_HPACK_POLICY);
const fields: [string, string][] = [
  [":method", "GET"],
  [":authority", "example.test"],
  [":scheme", "https"],
  [":path", "/small"],
  [
    "user-agent",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143 Safari/537.36",
  ],
  ["accept", "*/*"],
  ["accept-encoding", "gzip, deflate, br, zstd"],
  ["accept-language", "en-US,en;q=0.9"],
];
let nextId = 1;
async function batch(): Promise<void> {
  const frames: Uint8Array[] = [];
  if (counter.data > 0) {
    // The connection window the responses used (a client that never grants it stalls at 64 KiB).
    frames.push(encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: counter.data }));
    counter.data = 0;
  }
  for (let i = 0; i < streams; i++) {
    const block = encoder.encode(fields);
    frames.push(encodeFrame({ type: "HEADERS", streamId: nextId, endStream: true, endHeaders: true, block }));
    nextId += 2;
  }
  want = counter.ends + streams;
  const done = new Promise<void>((r) => {
    waiting = r;
  });
  (h as EndpointHandlers).data(concatBytes(frames));
  await done;
}

for (let i = 0; i < Math.min(300, batches); i++) await batch(); // warm-up
const t0 = performance.now();
const cpu0 = process.cpuUsage();
for (let i = 0; i < batches; i++) await batch();
const cpu = process.cpuUsage(cpu0);
const ms = performance.now() - t0;
const n = batches * streams;
console.log(
  `${root}: ${n} requests, ${((ms * 1000) / n).toFixed(2)} µs/request wall, ${((cpu.user + cpu.system) / n).toFixed(2)} µs/request CPU`,
);
process.exit(0);
