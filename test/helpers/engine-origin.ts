/** A TLS origin on the engine's own server side (pb_server_new) over loopback (tests only). */
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import type { Leaf } from "../../src/pki/leaf.ts";
import { SecureChannel } from "../../src/proxy/secure-channel.ts";
import type { HandshakeInfo, UpstreamTlsEngine } from "../../src/upstream/engine.ts";

export interface EngineOrigin {
  port: number;
  /** Bytes the server had written when each handshake completed (its handshake flight). */
  flightBytes: number[];
  /** Each completed handshake, in order. */
  accepted: HandshakeInfo[];
  close(): void;
}

/** An engine-side TLS server on 127.0.0.1:0 answering every request with `body(info)`. */
export async function startEngineServer(
  eng: UpstreamTlsEngine,
  leaf: Leaf,
  alpn: string[],
  body: (info: HandshakeInfo) => string,
): Promise<EngineOrigin> {
  const flightBytes: number[] = [];
  const accepted: HandshakeInfo[] = [];
  const server = net.createServer((sock) => {
    const ch = new SecureChannel(
      sock,
      eng.accept({ certChainDer: leaf.chainDer, keyPkcs8Der: leaf.keyPkcs8Der, alpn }),
    );
    ch.handshake().then(
      (info) => {
        flightBytes.push(sock.bytesWritten);
        accepted.push(info);
        ch.start({
          data: () => {
            const text = body(info);
            ch.write(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${text.length}\r\n\r\n${text}`));
          },
          end: () => ch.end(),
          error: () => {},
          drain: () => {},
        });
      },
      () => {},
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    flightBytes,
    accepted,
    close: () => server.close(),
  };
}
