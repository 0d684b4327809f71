/**
 * A ClientHello recorder: a loopback TCP front for a TLS origin that keeps the first bytes each
 * client sends until they hold a whole ClientHello, parses them, then relays the connection to
 * the origin unchanged. Used by `polytls fingerprint` and by the profile tests, which put it
 * behind the running proxy to see exactly what the proxy sends upstream.
 */
import * as net from "node:net";
import { clientHelloComplete, parseClientHello } from "./clienthello.ts";
import type { ClientHelloFingerprint } from "./types.ts";

export interface RecordedHello {
  raw: Uint8Array;
  fingerprint: ClientHelloFingerprint;
}

export interface Recorder {
  port: number;
  hellos: RecordedHello[];
  /** Resolves with the n-th hello (0-based) once it has been recorded. */
  waitFor(n: number): Promise<RecordedHello>;
  close(): Promise<void>;
}

export async function startRecorder(originPort: number, host = "127.0.0.1"): Promise<Recorder> {
  const hellos: RecordedHello[] = [];
  const waiters: { n: number; resolve(h: RecordedHello): void }[] = [];
  const sockets = new Set<net.Socket>();
  const record = (h: RecordedHello) => {
    hellos.push(h);
    for (const w of waiters.filter((w) => w.n < hellos.length)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(hellos[w.n]!);
    }
  };
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect({ host, port: originPort });
    sockets.add(upstream);
    let buf: Uint8Array | null = new Uint8Array(0);
    client.on("data", (d: Buffer) => {
      if (buf !== null) {
        const next = new Uint8Array(buf.length + d.length);
        next.set(buf);
        next.set(d, buf.length);
        buf = next;
        try {
          const end = clientHelloComplete(buf);
          if (end !== "incomplete") {
            const raw = buf.slice(0, end);
            record({ raw, fingerprint: parseClientHello(raw) });
            buf = null;
          }
        } catch {
          buf = null; // not a ClientHello: relay only
        }
      }
      upstream.write(d);
    });
    upstream.on("data", (d) => client.write(d));
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", done);
    upstream.on("close", done);
    client.on("error", done);
    upstream.on("error", done);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    hellos,
    waitFor(n) {
      const h = hellos[n];
      if (h) return Promise.resolve(h);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
