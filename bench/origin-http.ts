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
import * as http2 from "node:http2";
import { BULK_PATH, SMALL_BODY, SMALL_PATH } from "./body.ts";
import { requestedBulkBytes, runOrigin, writeBulkBody } from "./origin-serve.ts";

const MAX_STREAMS = 1000; // SETTINGS_MAX_CONCURRENT_STREAMS; above any bench client's concurrency

type Response = http2.Http2ServerResponse;

async function streamBulk(res: Response, bytes: number): Promise<void> {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes) });
  await writeBulkBody(res, bytes);
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
    const bytes = requestedBulkBytes(url);
    if (bytes === null) reject(res, 400);
    else void streamBulk(res, bytes);
    return;
  }
  reject(res, 404);
}

runOrigin("origin-http.ts", (key, cert) => {
  const server = http2.createSecureServer(
    {
      key,
      cert,
      allowHTTP1: true,
      ALPNProtocols: ["h2", "http/1.1"],
      settings: { maxConcurrentStreams: MAX_STREAMS },
    },
    answer,
  );
  server.on("tlsClientError", () => {});
  server.on("sessionError", () => {});
  return server;
});
