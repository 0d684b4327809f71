/**
 * The bench origin, run in its own process: `bun bench/origin.ts <leaf-key.pem> <leaf-chain.pem>`.
 * A keep-alive HTTP/1.1 server over node:tls on 127.0.0.1:0 that prints its port on stdout, then serves
 *   GET /small           → 100-byte body
 *   GET /bulk?bytes=N    → N bytes streamed from one reused buffer, waiting for 'drain' (backpressure)
 * It exits when its stdin closes (the bench died) or on SIGTERM / SIGINT.
 */
import * as tls from "node:tls";
import { BULK_PATH, SMALL_BODY, SMALL_PATH } from "./body.ts";
import { requestedBulkBytes, runOrigin, writeBulkBody } from "./origin-serve.ts";

const MAX_HEAD_BYTES = 8 * 1024; // bytes; a bench client's request head is ~60 bytes

function responseHead(status: string, length: number): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;
}

function streamBulk(s: tls.TLSSocket, bytes: number): Promise<void> {
  s.write(responseHead("200 OK", bytes));
  return writeBulkBody(s, bytes);
}

function reject(s: tls.TLSSocket, status: string): void {
  const body = `${status}\n`;
  s.end(`${responseHead(status, body.length)}${body}`);
}

/** Answers one request head; resolves when its response has been handed to the socket. */
async function answer(s: tls.TLSSocket, head: string): Promise<void> {
  const [method, target] = (head.split("\r\n", 1)[0] ?? "").split(" ");
  if (method !== "GET" || target === undefined) return reject(s, "400 Bad Request");
  const url = new URL(target, "https://localhost");
  if (url.pathname === SMALL_PATH) {
    s.write(Buffer.concat([Buffer.from(responseHead("200 OK", SMALL_BODY.length), "latin1"), SMALL_BODY]));
    return;
  }
  if (url.pathname === BULK_PATH) {
    const bytes = requestedBulkBytes(url);
    if (bytes === null) return reject(s, "400 Bad Request");
    return streamBulk(s, bytes);
  }
  reject(s, "404 Not Found");
}

/** Reads request heads in order (pipelined requests wait for the previous response). */
function serve(s: tls.TLSSocket): void {
  let pending: Buffer = Buffer.alloc(0);
  let busy = false;
  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      while (!s.destroyed) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) {
          if (pending.length > MAX_HEAD_BYTES) reject(s, "431 Request Header Fields Too Large");
          return;
        }
        const head = pending.subarray(0, end).toString("latin1");
        pending = pending.subarray(end + 4);
        await answer(s, head);
      }
    } finally {
      busy = false;
    }
  };
  s.on("data", (d: Buffer) => {
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    void pump();
  });
  s.on("error", () => {}); // a client that resets is normal during the bench
}

runOrigin("origin.ts", (key, cert) => {
  const server = tls.createServer({ key, cert, ALPNProtocols: ["http/1.1"] }, serve);
  server.on("tlsClientError", () => {});
  return server;
});
