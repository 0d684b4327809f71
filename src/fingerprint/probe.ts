/**
 * Shows what a profile sends: handshakes through the engine with an in-process TLS origin behind
 * a ClientHello recorder (all on 127.0.0.1:0), twice, so the second hello shows resumption
 * (`pre_shared_key`) the way a browser's next connection to the same host would.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { LeafMinter } from "../pki/leaf.ts";
import { generateRootCa } from "../pki/root-ca.ts";
import { SecureChannel } from "../proxy/secure-channel.ts";
import type { ProfileSpec, TlsConnector, UpstreamTlsEngine } from "../upstream/engine.ts";
import { type RecordedHello, startRecorder } from "./recorder.ts";

/** How long to wait for the origin's post-handshake session tickets, in ms. */
const TICKET_WAIT_MS = 100;
const PROBE_HOST = "localhost";

async function handshakeOnce(
  connector: TlsConnector,
  port: number,
  session: Uint8Array | null,
): Promise<Uint8Array | null> {
  const socket = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const ch = new SecureChannel(
    socket,
    connector.connect({
      host: PROBE_HOST,
      verify: { verify: false, verifyHostname: false, caFile: null },
      session,
    }),
  );
  let latest: Uint8Array | null = null;
  ch.onSession = (s) => {
    latest = s;
  };
  try {
    await ch.handshake();
    ch.start({ data() {}, end() {}, error() {}, drain() {} });
    await new Promise((r) => setTimeout(r, TICKET_WAIT_MS));
    return latest;
  } finally {
    ch.end();
    ch.destroy();
  }
}

/** Returns the recorded ClientHellos of `connections` consecutive connections (default 2). */
export async function probeProfile(
  engine: UpstreamTlsEngine,
  spec: ProfileSpec,
  connections = 2,
): Promise<RecordedHello[]> {
  const { ca } = await generateRootCa(new Date());
  const leaf = await (await LeafMinter.create(ca)).mint(PROBE_HOST, new Date());
  const origin = tls.createServer(
    { key: leaf.keyPem, cert: leaf.chainPem, ALPNProtocols: spec.alpn },
    (s) => {
      s.on("error", () => {});
      s.resume();
      // A first write flushes the server's session tickets (some TLS stacks send them lazily).
      s.write("ok");
    },
  );
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  const recorder = await startRecorder((origin.address() as net.AddressInfo).port);
  const connector = engine.createConnector(spec);
  try {
    let session: Uint8Array | null = null;
    for (let i = 0; i < connections; i++) {
      session = (await handshakeOnce(connector, recorder.port, session)) ?? session;
      await recorder.waitFor(i);
    }
    return recorder.hellos.slice(0, connections);
  } finally {
    connector.close();
    await recorder.close();
    await new Promise<void>((r) => origin.close(() => r()));
  }
}
