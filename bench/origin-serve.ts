/**
 * What the two bench origins (origin.ts: raw HTTP/1.1 over node:tls; origin-http.ts: node:http2
 * with HTTP/1.1 fallback) share: streaming a /bulk body with backpressure, reading its size from
 * the URL, and the process around the server (key and chain from argv, port on stdout, exit when
 * stdin closes or on SIGTERM / SIGINT).
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { BULK_CHUNK_BYTES, MAX_BULK_BYTES, makeBulkChunk } from "./body.ts";

const BULK_CHUNK = makeBulkChunk();

/** A socket or a response: what writing a body with backpressure needs. */
interface BodySink {
  readonly destroyed: boolean;
  write(chunk: Uint8Array): boolean;
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

function untilDrainOrClose(out: BodySink): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
  });
}

/** Writes `bytes` of the /bulk body from one reused chunk, waiting for 'drain' when told to. */
export async function writeBulkBody(out: BodySink, bytes: number): Promise<void> {
  let left = bytes;
  while (left > 0 && !out.destroyed) {
    const n = Math.min(left, BULK_CHUNK_BYTES);
    const ok = out.write(n === BULK_CHUNK_BYTES ? BULK_CHUNK : BULK_CHUNK.subarray(0, n));
    left -= n;
    if (!ok) await untilDrainOrClose(out);
  }
}

/** The /bulk size a URL asks for, or null when it is not a whole number 0..MAX_BULK_BYTES. */
export function requestedBulkBytes(url: URL): number | null {
  const bytes = Number(url.searchParams.get("bytes"));
  return Number.isSafeInteger(bytes) && bytes >= 0 && bytes <= MAX_BULK_BYTES ? bytes : null;
}

/**
 * Runs an origin process: `create` makes the server from the leaf key and chain named on the
 * command line; it listens on 127.0.0.1:0 and its port is printed on stdout.
 */
export function runOrigin(
  script: string,
  create: (
    key: Buffer,
    cert: Buffer,
  ) => {
    listen(port: number, host: string, ready: () => void): unknown;
    address(): AddressInfo | string | null;
  },
): void {
  const [keyPath, certPath] = process.argv.slice(2);
  if (keyPath === undefined || certPath === undefined) {
    process.stderr.write(`usage: bun bench/${script} <leaf-key.pem> <leaf-chain.pem>\n`);
    process.exit(2);
  }
  const server = create(readFileSync(keyPath), readFileSync(certPath));
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
