/**
 * Shows what a profile sends: connects through the engine to an in-process TLS origin behind a
 * ClientHello recorder (all on 127.0.0.1:0), twice, so the second hello shows resumption
 * (`pre_shared_key`) the way a browser's next connection to the same host would. The TLS is
 * opened as the proxy opens it (`openUpstream`); when the profile's HTTP layer is given and the
 * first connection negotiates h2, it carries one navigation request sent as the proxy sends it
 * (`h2-navigate.ts`), and the origin records the frames (`h2-recorder.ts`).
 */
import * as net from "node:net";
import { openUpstream, type UpstreamProtocol } from "../http/bridge/upstream-open.ts";
import { LeafMinter } from "../pki/leaf.ts";
import { generateRootCa } from "../pki/root-ca.ts";
import type { ProfileHttp } from "../profiles/http-types.ts";
import type { ProfileSpec, TlsConnector, UpstreamTlsEngine } from "../upstream/engine.ts";
import { navigateH2 } from "./h2-navigate.ts";
import { startRecordingOrigin } from "./h2-recorder.ts";
import { type RecordedHello, startRecorder } from "./recorder.ts";

/** How long to wait for the origin's post-handshake session tickets, in ms. */
const TICKET_WAIT_MS = 100;
/** Bound on one probe handshake, in ms (loopback: a few ms in practice). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** The host name the probe connects to (SNI, certificate, `:authority`). */
export const PROBE_HOST = "localhost";

export interface ProbeConnection {
  protocol: UpstreamProtocol;
  /** Status of the navigation response, when one was sent (h2 with the HTTP layer given). */
  status: number | null;
  /** The newest session ticket the origin sent, if any. */
  session: Uint8Array | null;
}

/**
 * One connection as the proxy opens it, to 127.0.0.1:`port` named `PROBE_HOST`, offering
 * `session`; sends the profile's navigation request when `http` is given and h2 is negotiated.
 */
export async function probeConnection(
  connector: TlsConnector,
  port: number,
  session: Uint8Array | null,
  http: ProfileHttp | null,
): Promise<ProbeConnection> {
  const socket = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let latest: Uint8Array | null = null;
  const opened = await openUpstream(
    {
      dial: () => Promise.resolve(socket),
      connector,
      host: PROBE_HOST,
      verify: { verify: false, verifyHostname: false, caFile: null },
      session: {
        get: () => session,
        set: (s) => {
          latest = s;
        },
        drop: () => {},
      },
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    },
    socket,
  );
  const ch = opened.channel;
  try {
    if (http !== null && opened.protocol === "h2") {
      // The response follows the session tickets on the wire, so they are in by now.
      const status = await navigateH2(ch, http, `${PROBE_HOST}:${port}`);
      return { protocol: opened.protocol, status, session: latest };
    }
    ch.start({ data() {}, end() {}, error() {}, drain() {} });
    await new Promise((r) => setTimeout(r, TICKET_WAIT_MS));
    return { protocol: opened.protocol, status: null, session: latest };
  } finally {
    ch.end();
    ch.destroy();
  }
}

/** The first connection's HTTP/2 exchange: the client's plaintext bytes, or why there is none. */
export type H2Probe = { ok: true; status: number; bytes: Uint8Array } | { ok: false; reason: string };

export interface ProbeResult {
  hellos: RecordedHello[];
  /** null when no HTTP layer was given. */
  h2: H2Probe | null;
}

/**
 * Records the ClientHellos of `connections` consecutive connections (default 2) and, when `http`
 * is given, the HTTP/2 navigation on the first one.
 */
export async function probeProfileWire(
  engine: UpstreamTlsEngine,
  spec: ProfileSpec,
  http: ProfileHttp | null,
  connections = 2,
): Promise<ProbeResult> {
  const { ca } = await generateRootCa(new Date());
  const leaf = await (await LeafMinter.create(ca)).mint(PROBE_HOST, new Date());
  const origin = await startRecordingOrigin({ keyPem: leaf.keyPem, certPem: leaf.chainPem, alpn: spec.alpn });
  const recorder = await startRecorder(origin.port);
  const connector = engine.createConnector(spec);
  try {
    let session: Uint8Array | null = null;
    let h2: H2Probe | null = null;
    for (let i = 0; i < connections; i++) {
      const c = await probeConnection(connector, recorder.port, session, i === 0 ? http : null);
      session = c.session ?? session;
      await recorder.waitFor(i);
      if (i === 0 && http !== null) {
        const recorded = await origin.connection(0);
        h2 =
          c.status !== null
            ? { ok: true, status: c.status, bytes: recorded.bytes }
            : {
                ok: false,
                reason: `the origin chose ${recorded.alpn ?? "no ALPN"}, not h2: the profile does not offer h2`,
              };
      }
    }
    return { hellos: recorder.hellos.slice(0, connections), h2 };
  } finally {
    connector.close();
    await recorder.close();
    await origin.close();
  }
}

/** Returns the recorded ClientHellos of `connections` consecutive connections (default 2). */
export async function probeProfile(
  engine: UpstreamTlsEngine,
  spec: ProfileSpec,
  connections = 2,
): Promise<RecordedHello[]> {
  return (await probeProfileWire(engine, spec, null, connections)).hellos;
}
