/**
 * A tunnel ends once: a fault while the HTTP layer starts (here injected: the client channel's
 * start throws, after the tunnel's idle watch and stop-signal listener were registered) gives one
 * `tunnel closed` line, and the idle watch that was already running does not end it again
 * (found by an independent review: the second end wrote a second line and counted the tunnel
 * twice in the metrics). A fault when the HTTP layer takes over after sniffing (a microtask) ends
 * that tunnel too, instead of reaching the process as an uncaught exception.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { type ChannelEvents, SecureChannel } from "../src/proxy/secure-channel.ts";
import { httpGet, type ProxyHandle, startHttpModeProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

const IDLE_MS = 300; // the tunnel's idle timeout: the stale watch would fire after it

let pki: TestPki;
let proxy: ProxyHandle;
let port = 0;
let origin: http2.Http2SecureServer;

beforeAll(async () => {
  pki = await makeTestPki();
  const leaf = await pki.leaf("localhost");
  origin = http2.createSecureServer({ key: leaf.keyPem, cert: leaf.chainPem }, (_q, s) => s.end("ok"));
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  port = (origin.address() as AddressInfo).port;
  proxy = await startHttpModeProxy(pki, { idleTimeoutMs: IDLE_MS });
});
afterAll(() => pki?.remove());
afterAll(async () => {
  await proxy?.stop();
  origin?.close();
});

test("a throw while the HTTP layer starts ends the tunnel once (INTERNAL), not again at the idle timeout", async () => {
  const start = SecureChannel.prototype.start;
  let armed = true;
  SecureChannel.prototype.start = function (this: SecureChannel, events: ChannelEvents): void {
    if (armed && this.side === "client") {
      armed = false;
      throw new Error("injected fault");
    }
    start.call(this, events);
  };
  try {
    const ca = fs.readFileSync(pki.caCertPath, "utf8");
    const t = await tlsThroughProxy(proxy.port, `localhost:${port}`, { ca, servername: "localhost" });
    t.on("error", () => {});
    const closedLines = () =>
      proxy.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r.msg === "tunnel closed");
    await waitUntil(() => closedLines().length > 0, "the tunnel closed");
    await Bun.sleep(IDLE_MS * 3); // past the idle timeout the stale watch would have fired at
    const lines = closedLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]?.errorCode).toBe("INTERNAL");
    t.destroy();
  } finally {
    SecureChannel.prototype.start = start;
  }
}, 15_000);

test("a throw when the HTTP layer takes over after sniffing ends that tunnel (INTERNAL), not the process", async () => {
  const start = SecureChannel.prototype.start;
  let armed = true;
  SecureChannel.prototype.start = function (this: SecureChannel, events: ChannelEvents): void {
    // The upstream channel starts when the dispatcher adopts it, in the microtask after sniffing.
    if (armed && this.side === "upstream") {
      armed = false;
      throw new Error("injected fault");
    }
    start.call(this, events);
  };
  const ca = fs.readFileSync(pki.caCertPath, "utf8");
  const closedLines = () =>
    proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === "tunnel closed");
  const before = closedLines().length;
  try {
    const t = await tlsThroughProxy(proxy.port, `localhost:${port}`, { ca, servername: "localhost" });
    t.on("error", () => {});
    t.write(`GET / HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
    await waitUntil(() => closedLines().length > before, "the tunnel closed");
    expect(closedLines().at(-1)?.errorCode).toBe("INTERNAL");
    t.destroy();
  } finally {
    SecureChannel.prototype.start = start;
  }
  // The proxy goes on serving.
  const t2 = await tlsThroughProxy(proxy.port, `localhost:${port}`, { ca, servername: "localhost" });
  expect(await httpGet(t2, `localhost:${port}`, "/")).toStartWith("HTTP/1.1 200");
  t2.destroy();
}, 15_000);
