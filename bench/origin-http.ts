/**
 * The bench's HTTP origin, run in its own process: `bun bench/origin-http.ts <leaf-key.pem> <leaf-chain.pem>`.
 * Bun's node:http2 secure server with HTTP/1.1 fallback (ALPN h2, http/1.1) on 127.0.0.1:0, so the
 * proxy's full HTTP mode re-originates over HTTP/2 as a browser would, while HTTP/1.1 clients (direct)
 * are served too. Same paths and bodies as bench/origin.ts:
 *   GET /small           → 100-byte body, Content-Length set
 *   GET /bulk?bytes=N    → N bytes streamed from one reused buffer, waiting for 'drain' (backpressure)
 * Prints its port on stdout; exits when its stdin closes (the bench died) or on SIGTERM / SIGINT.
 * It never compresses, so the proxy never decodes (its Accept-Encoding is the browser's).
 */
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import {
  BULK_CHUNK_BYTES,
  BULK_PATH,
  MAX_BULK_BYTES,
  makeBulkChunk,
  SMALL_BODY,
  SMALL_PATH,
} from "./body.ts";

const BULK_CHUNK = makeBulkChunk();
const MAX_STREAMS = 1000; // SETTINGS_MAX_CONCURRENT_STREAMS; above any bench client's concurrency

type Response = http2.Http2ServerResponse;

function untilDrainOrClose(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

async function streamBulk(res: Response, bytes: number): Promise<void> {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes) });
  let left = bytes;
  while (left > 0 && !res.destroyed) {
    const n = Math.min(left, BULK_CHUNK_BYTES);
    const ok = res.write(n === BULK_CHUNK_BYTES ? BULK_CHUNK : BULK_CHUNK.subarray(0, n));
    left -= n;
    if (!ok) await untilDrainOrClose(res);
  }
  res.end();
}

function reject(res: Response, status: number): void {
  const body = `${status}\n`;
  res.writeHead(status, { "content-type": "text/plain", "content-length": String(body.length) });
  res.end(body);
}

function answer(req: http2.Http2ServerRequest, res: Response): void {
  if (req.method !== "GET") {
    reject(res, 400);
    return;
  }
  const url = new URL(req.url, "https://localhost");
  if (url.pathname === SMALL_PATH) {
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": String(SMALL_BODY.length),
    });
    res.end(SMALL_BODY);
    return;
  }
  if (url.pathname === BULK_PATH) {
    const bytes = Number(url.searchParams.get("bytes"));
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_BULK_BYTES) reject(res, 400);
    else void streamBulk(res, bytes);
    return;
  }
  reject(res, 404);
}

function main(): void {
  const [keyPath, certPath] = process.argv.slice(2);
  if (keyPath === undefined || certPath === undefined) {
    process.stderr.write("usage: bun bench/origin-http.ts <leaf-key.pem> <leaf-chain.pem>\n");
    process.exit(2);
  }
  const server = http2.createSecureServer(
    {
      key: readFileSync(keyPath),
      cert: readFileSync(certPath),
      allowHTTP1: true,
      ALPNProtocols: ["h2", "http/1.1"],
      settings: { maxConcurrentStreams: MAX_STREAMS },
    },
    answer,
  );
  server.on("tlsClientError", () => {});
  server.on("sessionError", () => {});
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  });
  const quit = () => process.exit(0);
  process.on("SIGTERM", quit);
  process.on("SIGINT", quit);
  process.stdin.on("end", quit);
  process.stdin.on("close", quit);
  process.stdin.resume();
}

main();
