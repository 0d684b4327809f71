/**
 * When the proxy itself gives up on an HTTP-mode tunnel in the middle of a response (its idle
 * timeout, the end of the shutdown drain), the client's connection is reset (TCP RST), as the
 * README's error table says, so that no client can take the cut response for a whole one. Before,
 * the client side was closed first and the connection ended with a FIN: Node's HTTP/2 client then
 * reported a cut download as complete. Checked with curl (HTTP/2 and HTTP/1.1: "Connection reset
 * by peer") against Node origins (test/helpers/e2e-origin.mjs `/stall`: a head, part of the body,
 * then silence).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { curl, type E2eEnv, startE2e } from "./helpers/e2e-env.ts";
import { curlThroughProxy, startHttpModeProxy } from "./helpers/proxy-env.ts";
import { waitUntil } from "./helpers/wait.ts";

let env: E2eEnv;

beforeAll(async () => {
  env = await startE2e({ idleTimeoutMs: 400 });
});
afterAll(async () => {
  await env?.close();
});

const closedLines = (logs: string[]) =>
  logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === "tunnel closed");

describe("the proxy cuts a response it gave up on with a reset, never a clean close", () => {
  for (const flag of ["--http2", "--http1.1"] as const) {
    test(`idle timeout inside a response body, curl ${flag}`, async () => {
      const o = env.origins.nodeH2;
      const before = closedLines(env.proxy.logs).length;
      const r = await curl(env, [flag, "-o", "/dev/null", `https://${o.authority}/stall?n=5000`]);
      expect(r.code).toBe(56); // CURLE_RECV_ERROR
      expect(r.err).toContain("reset by peer");
      await waitUntil(() => closedLines(env.proxy.logs).length > before, "the tunnel's record");
      expect(closedLines(env.proxy.logs).at(-1)?.errorCode).toBe("IDLE_TIMEOUT");
    });

    test(`the end of the shutdown drain inside a response body, curl ${flag}`, async () => {
      const proxy = await startHttpModeProxy(env.pki);
      try {
        const o = env.origins.nodeH1;
        await o.clear();
        const pending = curlThroughProxy(proxy.port, env.pki.caCertPath, [
          flag,
          "-o",
          "/dev/null",
          `https://${o.authority}/stall?n=5000`,
        ]);
        const arrived = async () => (await o.stats()).reqs.some((q) => q.path === "/stall?n=5000");
        for (let i = 0; i < 1000 && !(await arrived()); i++) await Bun.sleep(10);
        await proxy.proxy.stop(100);
        const r = await pending;
        expect(r.code).toBe(56);
        expect(r.err).toContain("reset by peer");
        expect(closedLines(proxy.logs).at(-1)?.errorCode).toBe("SHUTDOWN");
      } finally {
        await proxy.stop();
      }
    });
  }
});
