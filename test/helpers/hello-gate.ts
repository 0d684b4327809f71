/**
 * A loopback TCP front for a TLS origin that records every ClientHello and can refuse one the
 * way a strict server does: a fatal alert, then close (tests only). Whatever passes is relayed
 * to the origin unchanged.
 */
import * as net from "node:net";
import { clientHelloComplete, parseClientHello } from "../../src/fingerprint/clienthello.ts";
import type { ClientHelloFingerprint } from "../../src/fingerprint/types.ts";

/** An alert record: TLS 1.2 record version, level fatal (2), description handshake_failure (40). */
const HANDSHAKE_FAILURE_ALERT = Uint8Array.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40]);

export interface HelloGate {
  port: number;
  /** Every ClientHello seen, in arrival order. */
  hellos: ClientHelloFingerprint[];
  /** Decides per ClientHello whether the connection is refused; default: never. */
  refuse: (hello: ClientHelloFingerprint) => boolean;
  close(): Promise<void>;
}

export async function startHelloGate(originPort: number): Promise<HelloGate> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    let upstream: net.Socket | null = null;
    let buf: Buffer | null = Buffer.alloc(0);
    const done = () => {
      client.destroy();
      upstream?.destroy();
      sockets.delete(client);
    };
    client.on("data", (d: Buffer) => {
      if (buf === null) {
        upstream?.write(d);
        return;
      }
      buf = Buffer.concat([buf, d]);
      let hello: ClientHelloFingerprint | null = null;
      try {
        const end = clientHelloComplete(buf);
        if (end === "incomplete") return;
        hello = parseClientHello(buf.subarray(0, end));
        gate.hellos.push(hello);
      } catch {
        // not a ClientHello: relay only
      }
      const first = buf;
      buf = null;
      if (hello !== null && gate.refuse(hello)) {
        client.end(HANDSHAKE_FAILURE_ALERT);
        return;
      }
      const up = net.connect({ host: "127.0.0.1", port: originPort });
      upstream = up;
      sockets.add(up);
      up.write(first);
      up.on("data", (x) => client.write(x));
      up.on("end", () => client.end());
      up.on("close", done);
      up.on("error", done);
      client.on("end", () => up.end());
    });
    client.on("close", done);
    client.on("error", done);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const gate: HelloGate = {
    port: (server.address() as net.AddressInfo).port,
    hellos: [],
    refuse: () => false,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  return gate;
}
