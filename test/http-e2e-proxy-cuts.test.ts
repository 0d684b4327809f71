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
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { curl, type E2eEnv, startE2e } from "./helpers/e2e-env.ts";
import { rawFrames, sendFirstGet } from "./helpers/e2e-raw.ts";
import { curlThroughProxy, startHttpModeProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
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

describe("a keep-alive connection idle between requests is closed as a server closes one", () => {
  test("HTTP/1.1: after its answer, the idle timeout ends it cleanly (no reset); the record has no error", async () => {
    const o = env.origins.nodeH1;
    const before = closedLines(env.proxy.logs).length;
    const ca = await Bun.file(env.pki.caCertPath).text();
    const t = await tlsThroughProxy(env.proxy.port, o.authority, { ca, servername: "localhost" });
    let text = "";
    let error: Error | null = null;
    let ended = false;
    t.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    t.on("error", (e) => {
      error = e;
    });
    t.on("end", () => {
      ended = true;
    });
    t.write("GET /bytes?n=4&cl=1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await waitUntil(() => ended || error !== null, "the proxy's close");
    expect(text).toStartWith("HTTP/1.1 200 OK");
    expect(error).toBeNull();
    t.destroy();
    await waitUntil(() => closedLines(env.proxy.logs).length > before, "the tunnel's record");
    expect(closedLines(env.proxy.logs).at(-1)).toMatchObject({ errorCode: null, requests: 1 });
  });

  test("HTTP/2: GOAWAY(NO_ERROR) naming the last stream, then the end", async () => {
    const o = env.origins.nodeH2;
    const ca = await Bun.file(env.pki.caCertPath).text();
    const before = closedLines(env.proxy.logs).length;
    const f = await rawFrames(env.proxy.port, o.authority, ca);
    sendFirstGet(f, o.authority, "/bytes?n=4&cl=1");
    await waitUntil(() => f.closed(), "the proxy's close");
    await waitUntil(() => closedLines(env.proxy.logs).length > before, "the tunnel's record");
    expect(closedLines(env.proxy.logs).at(-1)).toMatchObject({ errorCode: null, requests: 1 });
    expect(f.frames.find((x) => x.type === "GOAWAY")).toMatchObject({
      lastStreamId: 1,
      code: H2ErrorCode.NO_ERROR,
    });
    expect(f.frames.filter((x) => x.type === "DATA" && x.streamId === 1).at(-1)).toMatchObject({
      endStream: true,
    });
  });
});
