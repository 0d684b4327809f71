/**
 * The whole proxy as `polytls run` builds it (startProxy from a Config), with a TLS origin behind
 * a ClientHello recorder, so tests see the exact bytes the proxy sends upstream (tests only).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { type RunningProxy, rootCaOf, startProxy } from "../../src/cli/serve.ts";
import { defaultConfig } from "../../src/config/load.ts";
import { type RecordedHello, type Recorder, startRecorder } from "../../src/fingerprint/recorder.ts";
import { createLogger } from "../../src/log/logger.ts";
import { connectRequest, rawConnect } from "./proxy-env.ts";
import { removeTempTree } from "./temp-tree.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./tls-env.ts";

/** Name of the per-request profile header (seed step 2). */
export const PROFILE_HEADER = "X-PolyTLS-Upstream-Profile";
/** What the origin writes as soon as a connection is up: it flushes its session tickets first. */
const GREETING = "ok";

export interface WireEnv {
  pki: TestPki;
  /** TLS origin for "localhost", ALPN h2 and http/1.1; greets every connection. */
  origin: Origin;
  proxy: RunningProxy;
  /** JSON log lines of the proxy. */
  logs: string[];
  /** A new recorder in front of the origin: a new port, so a new upstream session-cache key. */
  recorder(): Promise<Recorder>;
  /** A second proxy sharing the CA, with another default profile. */
  startAnotherProxy(defaultProfile: string): Promise<{ proxy: RunningProxy; logs: string[] }>;
  close(): Promise<void>;
}

async function runProxy(
  pki: TestPki,
  dir: string,
  defaultProfile: string | null,
): Promise<{ proxy: RunningProxy; logs: string[] }> {
  const config = defaultConfig(dir);
  config.proxy.listen.address = "127.0.0.1:0";
  config.proxy.certificate.caKeyPath = join(dir, "ca", "private.key");
  config.proxy.certificate.caCertPath = join(dir, "ca", "certificate.pem");
  config.proxy.upstream.caFile = pki.caCertPath;
  // These tests cover the seed's TLS relay (its ALPN plan, the origin's greeting relayed as
  // bytes); the HTTP mode has its own tests (http-mode*.test.ts).
  config.proxy.mitm.http = "tls-relay";
  if (defaultProfile !== null) config.proxy.upstream.defaultProfile = defaultProfile;
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", format: "json", sink: (l) => logs.push(l) });
  return { proxy: await startProxy(config, logger), logs };
}

export async function startWireEnv(): Promise<WireEnv> {
  const pki = await makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), "polytls-wire-"));
  const origin = await startTlsOrigin(await pki.leaf("localhost"), {
    alpn: ["h2", "http/1.1"],
    handler: (s) => {
      s.on("error", () => {});
      s.resume();
      s.write(GREETING);
    },
  });
  const { proxy, logs } = await runProxy(pki, dir, null);
  const recorders: Recorder[] = [];
  const others: RunningProxy[] = [];
  return {
    pki,
    origin,
    proxy,
    logs,
    async recorder() {
      const r = await startRecorder(origin.port);
      recorders.push(r);
      return r;
    },
    async startAnotherProxy(defaultProfile) {
      const other = await runProxy(pki, dir, defaultProfile);
      others.push(other.proxy);
      return other;
    },
    async close() {
      try {
        for (const p of [proxy, ...others]) await p.stop();
        for (const r of recorders) await r.close();
        await origin.close();
      } finally {
        removeTempTree(dir);
        pki.remove();
      }
    },
  };
}

export interface WireHello {
  hello: RecordedHello;
  /** ALPN the client negotiated with the proxy. */
  clientAlpn: string | false;
  /** The client's local port: the `client` field of its tunnel record ends with it. */
  clientPort: number;
}

/**
 * One tunnel through `proxyPort` to `localhost:<recorder.port>`: CONNECT (with the profile
 * header when `profile` is set), TLS to the proxy offering `alpn`, wait for the origin's
 * greeting (so the upstream session is cached), close. Resolves with the hello the recorder saw.
 */
export async function helloThroughProxy(
  proxy: RunningProxy,
  recorder: Recorder,
  opts: { profile?: string; alpn?: string[] } = {},
): Promise<WireHello> {
  const index = recorder.hellos.length;
  const target = `localhost:${recorder.port}`;
  const headers: Record<string, string> =
    opts.profile === undefined ? {} : { [PROFILE_HEADER]: opts.profile };
  const { socket, status, head } = await rawConnect(proxy.address.port, connectRequest(target, headers));
  if (status !== 200) {
    socket.destroy();
    throw new Error(`CONNECT failed: ${head}`);
  }
  const clientPort = socket.localPort ?? 0;
  const t = tls.connect({
    socket,
    servername: "localhost",
    ca: rootCaOf(proxy).certPem,
    ALPNProtocols: opts.alpn ?? ["h2", "http/1.1"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      t.once("secureConnect", resolve);
      t.once("error", reject);
    });
    const clientAlpn = t.alpnProtocol ?? false;
    await new Promise<void>((resolve, reject) => {
      let got = "";
      t.on("data", (d: Buffer) => {
        got += d.toString("latin1");
        if (got.length >= GREETING.length) resolve();
      });
      t.once("error", reject);
      t.once("close", () => reject(new Error(`tunnel closed before the greeting (got "${got}")`)));
    });
    const hello = await recorder.waitFor(index);
    return { hello, clientAlpn, clientPort };
  } finally {
    t.destroy();
  }
}

/** Waits for the `tunnel closed` record of the tunnel opened from `clientPort`. */
export async function tunnelRecord(logs: string[], clientPort: number): Promise<Record<string, unknown>> {
  for (;;) {
    for (const line of logs) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (rec.msg === "tunnel closed" && String(rec.client).endsWith(`:${clientPort}`)) return rec;
    }
    await Bun.sleep(5);
  }
}
