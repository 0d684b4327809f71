/**
 * The HTTP facts of a tunnel's `tunnel closed` line through the running proxy, for a tunnel whose
 * exchanges end with different statuses (the first status seen and the others are counted apart
 * while the tunnel lives): requests, statuses by code, the client and upstream protocols.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { curlThroughProxy, type ProxyHandle, startHttpModeProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

let pki: TestPki;
let proxy: ProxyHandle;
let port = 0;
let origin: http2.Http2SecureServer;

beforeAll(async () => {
  pki = await makeTestPki();
  const leaf = await pki.leaf("localhost");
  // `/status/N` answers N, without a body.
  origin = http2.createSecureServer(
    { key: leaf.keyPem, cert: leaf.chainPem, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] },
    (req, res) => {
      const status = Number((req.url ?? "").split("/")[2] ?? "200");
      res.statusCode = Number.isInteger(status) && status >= 200 && status <= 599 ? status : 200;
      res.end();
    },
  );
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  port = (origin.address() as AddressInfo).port;
  proxy = await startHttpModeProxy(pki);
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await proxy?.stop();
  origin?.close();
});

function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return curlThroughProxy(proxy.port, pki.caCertPath, ["-w", "%{http_code} ", ...args]);
}

describe("the tunnel record's HTTP facts", () => {
  for (const [flag, http] of [
    ["--http2", "h2"],
    ["--http1.1", "h1"],
  ] as const) {
    test(`curl ${flag}: requests and statuses by code, whatever code came first`, async () => {
      const paths = ["/status/404", "/status/200", "/status/404", "/status/204", "/status/404"];
      const mine = (r: Record<string, unknown>) =>
        r.msg === "tunnel closed" && r.http === http && r.host === `localhost:${port}` && r.requests === 5;
      const records = () => proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter(mine);
      const r = await curl([flag, ...paths.map((p) => `https://localhost:${port}${p}`)]);
      expect(r.err).toBe("");
      expect(r.out).toBe("404 200 404 204 404 ");
      await waitUntil(() => records().length > 0, "the tunnel's record");
      const last = records().at(-1) as Record<string, unknown>;
      expect(last.statuses).toBe("200:1,204:1,404:3");
      expect(last.upstreamHttp).toBe("h2");
      expect(last.errorCode).toBeNull();
      expect(last.exchangeErrors).toBeUndefined();
    });
  }
});
