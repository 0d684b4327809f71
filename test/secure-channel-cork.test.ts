/**
 * SecureChannel corks its writes for the rest of the turn of the event loop (fewer TLS records
 * and socket writes): a lone small write still leaves on its own, the writes of one turn leave
 * in one socket write, end / reset send what was written first, and a 100 MiB stream written
 * with backpressure keeps the socket buffer bounded.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RELAY_HIGH_WATER_BYTES } from "../src/proxy/endpoint.ts";
import type { SecureChannel } from "../src/proxy/secure-channel.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { channelPair } from "./helpers/channel-pair.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";

let pki: TestPki;
let engine: NativeEngine;

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
});
afterAll(() => pki?.remove());

interface Pair {
  client: SecureChannel;
  server: SecureChannel;
  /** Plaintext the server received, and how its stream ended. */
  received: Uint8Array[];
  ended: Promise<boolean>;
  close(): void;
}

/** A client and a server SecureChannel over loopback TCP, both handshaken and started. */
async function pair(): Promise<Pair> {
  const p = await channelPair(pki, engine);
  const received: Uint8Array[] = [];
  const ended = new Promise<boolean>((resolveEnd) => {
    p.server.start({
      data: (d) => received.push(d),
      end: (closeNotify) => resolveEnd(closeNotify),
      error: () => resolveEnd(false),
      drain: () => {},
    });
  });
  p.client.start({ data: () => {}, end: () => {}, error: () => {}, drain: () => {} });
  return { ...p, received, ended };
}

async function waitFor(f: () => boolean, tries = 500): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (f()) return true;
    await Bun.sleep(10);
  }
  return false;
}

const total = (chunks: readonly Uint8Array[]) => chunks.reduce((n, c) => n + c.length, 0);

describe("SecureChannel corking", () => {
  test("a lone small write is sent with nothing written after it", async () => {
    const p = await pair();
    try {
      p.client.write(new TextEncoder().encode("ping"));
      expect(await waitFor(() => total(p.received) === 4)).toBe(true);
      expect(new TextDecoder().decode(p.received[0])).toBe("ping");
    } finally {
      p.close();
    }
  });

  test("the small writes of one turn leave in one socket write, in order", async () => {
    const p = await pair();
    try {
      const sock = p.client.socket;
      const original = sock.write.bind(sock);
      let writes = 0;
      sock.write = ((...args: Parameters<typeof sock.write>) => {
        writes++;
        return original(...args);
      }) as typeof sock.write;
      const buf = new Uint8Array(10);
      for (let i = 0; i < 20; i++) {
        buf.fill(i); // the caller may reuse its buffer at once
        p.client.write(buf);
      }
      expect(writes).toBe(0); // corked until the end of this turn
      expect(await waitFor(() => total(p.received) === 200)).toBe(true);
      expect(writes).toBe(1);
      const all = Buffer.concat(p.received);
      for (let i = 0; i < 20; i++) expect(all.subarray(i * 10, i * 10 + 10).every((b) => b === i)).toBe(true);
    } finally {
      p.close();
    }
  });

  test("end() in the same turn sends the written bytes before close_notify", async () => {
    const p = await pair();
    try {
      p.client.write(new TextEncoder().encode("last words"));
      p.client.end();
      expect(await p.ended).toBe(true);
      expect(new TextDecoder().decode(Buffer.concat(p.received))).toBe("last words");
    } finally {
      p.close();
    }
  });

  test("100 MiB written with backpressure streams through with a bounded socket buffer", async () => {
    const p = await pair();
    try {
      const BYTES = 100 * 1024 * 1024;
      const chunk = new Uint8Array(16 * 1024).fill(0x61);
      let sent = 0;
      let maxBuffered = 0;
      let got = 0;
      p.received.length = 0;
      const pump = () => {
        while (sent < BYTES) {
          const ok = p.client.write(chunk);
          sent += chunk.length;
          maxBuffered = Math.max(maxBuffered, p.client.socket.writableLength);
          if (!ok) return; // wait for drain
        }
      };
      // Count received bytes instead of keeping them.
      p.received.push = (...items: Uint8Array[]) => {
        for (const c of items) got += c.length;
        return 0;
      };
      p.client.socket.on("drain", pump);
      pump();
      expect(await waitFor(() => got === BYTES, 6000)).toBe(true);
      // At most the high-water mark, plus one corked turn (64 KiB) and one chunk, plus TLS overhead.
      expect(maxBuffered).toBeLessThan(RELAY_HIGH_WATER_BYTES + 64 * 1024 + chunk.length + 4096);
    } finally {
      p.close();
    }
  }, 60_000);
});
