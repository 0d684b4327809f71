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
import { readFileSync } from "node:fs";
import { type CancelOrigin, startCancelOrigin } from "./helpers/cancel-origin.ts";
import { httpGet, type ProxyHandle, startHttpModeProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

let pki: TestPki;
let proxy: ProxyHandle;
let ca: string;
let origin: CancelOrigin;
let authority: string;

beforeAll(async () => {
  pki = await makeTestPki();
  ca = readFileSync(pki.caCertPath, "utf8");
  proxy = await startHttpModeProxy(pki);
  origin = await startCancelOrigin(pki, "h2");
  authority = origin.authority;
});
afterAll(() => pki?.remove());
afterAll(async () => {
  origin?.close();
  await proxy?.stop();
});

const sessionsOpened = () => origin.events.filter((e) => e.ev === "session").length;

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
