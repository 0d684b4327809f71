/**
 * A client and a server SecureChannel over loopback TCP (port 0), both handshaken with the
 * native engine, not started: the server side holds a leaf for `localhost` from the test PKI, the
 * client verifies it against the test CA.
 */
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { type ChannelSide, SecureChannel } from "../../src/proxy/secure-channel.ts";
import type { NativeEngine } from "../../src/upstream/native/native-engine.ts";
import { TEST_SPEC } from "./spec.ts";
import type { TestPki } from "./tls-env.ts";

export interface ChannelPair {
  client: SecureChannel;
  server: SecureChannel;
  /** Destroys both channels and stops the listener. */
  close(): void;
}

export async function channelPair(
  pki: TestPki,
  engine: NativeEngine,
  sides: { client?: ChannelSide; server?: ChannelSide } = {},
): Promise<ChannelPair> {
  const leaf = await pki.leaf("localhost");
  const accepted = Promise.withResolvers<SecureChannel>();
  const listener = net.createServer((sock) => {
    sock.on("error", () => {});
    const ch = new SecureChannel(
      sock,
      engine.accept({ certChainDer: leaf.chainDer, keyPkcs8Der: leaf.keyPkcs8Der, alpn: ["http/1.1"] }),
      sides.server,
    );
    ch.handshake().then(() => accepted.resolve(ch), accepted.reject);
  });
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  const sock = net.connect((listener.address() as AddressInfo).port, "127.0.0.1");
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.once("connect", () => r()));
  const conn = engine.createConnector(TEST_SPEC).connect({
    host: "localhost",
    alpn: ["http/1.1"],
    alps: false,
    verify: { verify: true, verifyHostname: true, caFile: pki.caCertPath },
    session: null,
  });
  const client = new SecureChannel(sock, conn, sides.client);
  await client.handshake();
  const server = await accepted.promise;
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}
