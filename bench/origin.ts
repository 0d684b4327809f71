/**
 * The bench origin, run in its own process: `bun bench/origin.ts <leaf-key.pem> <leaf-chain.pem>`.
 * A keep-alive HTTP/1.1 server over node:tls on 127.0.0.1:0 that prints its port on stdout, then serves
 *   GET /small           → 100-byte body
 *   GET /bulk?bytes=N    → N bytes streamed from one reused buffer, waiting for 'drain' (backpressure)
 * It exits when its stdin closes (the bench died) or on SIGTERM / SIGINT.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import {
  BULK_CHUNK_BYTES,
  BULK_PATH,
  MAX_BULK_BYTES,
  makeBulkChunk,
  SMALL_BODY,
  SMALL_PATH,
} from "./body.ts";

const MAX_HEAD_BYTES = 8 * 1024; // bytes; a bench client's request head is ~60 bytes
const BULK_CHUNK = makeBulkChunk();

function responseHead(status: string, length: number): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;
}

function untilDrainOrClose(s: tls.TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off("drain", done);
      s.off("close", done);
      resolve();
    };
    s.on("drain", done);
    s.on("close", done);
  });
}

async function streamBulk(s: tls.TLSSocket, bytes: number): Promise<void> {
  s.write(responseHead("200 OK", bytes));
  let left = bytes;
  while (left > 0 && !s.destroyed) {
    const n = Math.min(left, BULK_CHUNK_BYTES);
    const ok = s.write(n === BULK_CHUNK_BYTES ? BULK_CHUNK : BULK_CHUNK.subarray(0, n));
    left -= n;
    if (!ok) await untilDrainOrClose(s);
  }
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
    const bytes = Number(url.searchParams.get("bytes"));
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_BULK_BYTES) {
      return reject(s, "400 Bad Request");
    }
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

function main(): void {
  const [keyPath, certPath] = process.argv.slice(2);
  if (keyPath === undefined || certPath === undefined) {
    process.stderr.write("usage: bun bench/origin.ts <leaf-key.pem> <leaf-chain.pem>\n");
    process.exit(2);
  }
  const server = tls.createServer(
    { key: readFileSync(keyPath), cert: readFileSync(certPath), ALPNProtocols: ["http/1.1"] },
    serve,
  );
  server.on("tlsClientError", () => {});
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
