/**
 * An HTTP/2 origin's graceful GOAWAY, through the running proxy in HTTP mode, against Node's own
 * HTTP/2 server (test/helpers/cancel-origin.mjs: nghttp2, which never closes a session itself
 * after its GOAWAY, and stops reading). The proxy closes that upstream connection once its last
 * stream ended, as a browser does, while the tunnel goes on: the next request opens a new
 * connection. Before, the connection stayed open for as long as the origin kept it (for ever,
 * here), holding the tunnel's state. Node does not read any more, so the proxy's FIN is seen in
 * the kernel: the origin's end of the connection goes to CLOSE_WAIT (/proc/net/tcp).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { httpGet, type ProxyHandle, startProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

const ORIGIN = `${import.meta.dir}/helpers/cancel-origin.mjs`;

interface OriginEvent {
  ev: string;
  id?: number;
  path?: string;
}

let pki: TestPki;
let proxy: ProxyHandle;
let ca: string;
let authority: string;
const events: OriginEvent[] = [];
let child: ChildProcess | null = null;

beforeAll(async () => {
  pki = await makeTestPki();
  ca = readFileSync(pki.caCertPath, "utf8");
  const leaf = await pki.leaf("localhost");
  const keyPath = join(pki.dir, "goaway-key.pem");
  const certPath = join(pki.dir, "goaway-cert.pem");
  writeFileSync(keyPath, leaf.keyPem);
  writeFileSync(certPath, leaf.chainPem);
  proxy = await startProxy({
    pki,
    engine: new NativeEngine(),
    profiles: new ProfileRegistry(),
    defaultProfile: "chrome-143-macos-arm64",
    deps: {
      http: { mode: "full", keepClient: new Set(), maxConcurrentStreams: 100, maxRequestHeadBytes: 65_536 },
    },
  });
  child = spawn("node", [ORIGIN, "h2", keyPath, certPath], { stdio: ["ignore", "pipe", "inherit"] });
  let rest = "";
  const port = await new Promise<number>((resolve, reject) => {
    child?.stdout?.on("data", (d: Buffer) => {
      const lines = (rest + d.toString()).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        const o = JSON.parse(line) as OriginEvent & { port?: number };
        if (o.port !== undefined) resolve(o.port);
        else events.push(o);
      }
    });
    child?.once("error", reject);
  });
  authority = `localhost:${port}`;
});
afterAll(async () => {
  child?.kill();
  await proxy?.stop();
});

const sessionsOpened = () => events.filter((e) => e.ev === "session").length;

/** TCP states (/proc/net/tcp{,6} codes: 01 ESTABLISHED, 08 CLOSE_WAIT) of the origin's accepted connections. */
function originSideStates(): string[] {
  const port = Number(authority.split(":")[1]).toString(16).toUpperCase().padStart(4, "0");
  const states: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is f[1] ("IP:PORT" in hex), st is f[3]; the listening socket has no peer.
      if (f.length > 3 && f[1]?.endsWith(`:${port}`) && f[3] !== "0A") states.push(f[3] as string);
    }
  }
  return states;
}
const closeWaits = () => originSideStates().filter((s) => s === "08").length;

describe("an HTTP/2 origin's GOAWAY", () => {
  test("with no stream open: the proxy closes that connection; the tunnel's next request opens another", async () => {
    const t = await tlsThroughProxy(proxy.port, authority, { ca, servername: "localhost" });
    try {
      const before = sessionsOpened();
      const closedBefore = closeWaits();
      const first = await httpGet(t, authority, "/goaway");
      expect(first).toStartWith("HTTP/1.1 200");
      expect(first).toEndWith("ok");
      // The tunnel stays open; only the upstream connection that had the GOAWAY goes.
      await waitUntil(
        () => closeWaits() === closedBefore + 1,
        "the GOAWAY'd connection closed by the proxy",
        3000,
      );
      const next = await httpGet(t, authority, "/bytes?n=10");
      expect(next).toStartWith("HTTP/1.1 200");
      expect(sessionsOpened()).toBe(before + 2);
      expect(closeWaits()).toBe(closedBefore + 1);
    } finally {
      t.destroy();
    }
  }, 20_000);

  test("with a stream in flight: it completes, then the connection is closed", async () => {
    const t = await tlsThroughProxy(proxy.port, authority, { ca, servername: "localhost" });
    try {
      const closedBefore = closeWaits();
      const r = await httpGet(t, authority, "/goaway-slow");
      expect(r).toStartWith("HTTP/1.1 200");
      expect(r).toEndWith("slow");
      await waitUntil(
        () => closeWaits() === closedBefore + 1,
        "the drained connection closed by the proxy",
        3000,
      );
    } finally {
      t.destroy();
    }
  }, 20_000);
});
