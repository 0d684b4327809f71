/**
 * The upstream response-head deadline (`proxy.upstream.response_timeout_ms`, 400 ms here): a
 * request sent whole upstream that gets no response head in time is answered 504
 * (UPSTREAM_TIMEOUT) and its upstream exchange ended (HTTP/2: RST_STREAM on that stream only;
 * HTTP/1.1: the connection), whatever the client speaks. Before it an HTTP/2 client with other
 * streams in flight waited for ever, and an HTTP/1.1 client until the tunnel's idle timeout.
 * A slow upload is not cut: the deadline starts when the request has been sent whole. Through the
 * running proxy, with Node 20 origins (nghttp2, llhttp, OpenSSL) and curl and Node clients.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { curl, type E2eEnv, h2Client, h2Request, startE2e } from "./helpers/e2e-env.ts";
import { rawText } from "./helpers/e2e-raw.ts";
import { tunnelRecords } from "./helpers/proxy-env.ts";

const RESPONSE_MS = 400;
let env: E2eEnv;
let ca: string;
beforeAll(async () => {
  env = await startE2e({ responseTimeoutMs: RESPONSE_MS });
  ca = await Bun.file(env.pki.caCertPath).text();
});
afterAll(async () => {
  await env?.close();
});

describe("an origin that never answers", () => {
  for (const which of ["nodeH2", "nodeH1"] as const) {
    test(`${which}: an HTTP/1.1 client gets 504 in time; the origin's exchange is ended`, async () => {
      const o = env.origins[which];
      await o.clear();
      const started = performance.now();
      const r = await curl(env, ["--http1.1", "-i", `https://${o.authority}/no-head`]);
      const took = performance.now() - started;
      expect(r.out).toMatch(/^HTTP\/1\.1 504 /);
      expect(r.out).toContain(`UPSTREAM_TIMEOUT: upstream sent no response head within ${RESPONSE_MS} ms`);
      expect(took).toBeGreaterThanOrEqual(RESPONSE_MS);
      expect(took).toBeLessThan(10_000);
      let closed = 0;
      for (let i = 0; i < 100 && closed !== 1; i++) {
        closed = (await o.stats()).noHeadClosed ?? 0;
        if (closed !== 1) await Bun.sleep(20);
      }
      expect(closed).toBe(1); // the origin saw its exchange end
      // The tunnel's line says why its request failed, not only that it got 504.
      const rec = () =>
        tunnelRecords(env.proxy.logs).find((x) => x.host === o.authority && x.statuses === "504:1");
      for (let i = 0; i < 100 && rec() === undefined; i++) await Bun.sleep(20);
      expect(rec()).toMatchObject({
        errorCode: null,
        exchangeErrors: "UPSTREAM_TIMEOUT:1",
        exchangeReason: `upstream sent no response head within ${RESPONSE_MS} ms of the request`,
      });
    });
  }

  test("nodeH2, an HTTP/2 client: only that stream gets 504; the others and the session go on", async () => {
    const o = env.origins.nodeH2;
    await o.clear();
    const s = await h2Client(env, o);
    const [stalled, ok] = await Promise.all([
      h2Request(s, { ":path": "/no-head" }),
      h2Request(s, { ":path": "/bytes?n=5" }),
    ]);
    expect(Number(stalled.headers[":status"])).toBe(504);
    // The same body as the HTTP/1.1 side writes: status, reason, code, detail.
    expect(stalled.body.toString()).toBe(
      `504 Gateway Timeout: UPSTREAM_TIMEOUT: upstream sent no response head within ${RESPONSE_MS} ms of the request\n`,
    );
    expect(Number(ok.headers[":status"])).toBe(200);
    const after = await h2Request(s, { ":path": "/bytes?n=3" });
    expect(Number(after.headers[":status"])).toBe(200);
    s.close();
    const stats = await o.stats();
    expect(stats.noHeadClosed).toBe(1);
    expect(new Set(stats.reqs.map((q) => q.conn)).size).toBe(1); // one upstream connection throughout
  });
});

describe("a slow upload", () => {
  for (const which of ["nodeH2", "nodeH1"] as const) {
    test(`${which}: is not cut while it is sent (the deadline starts once the request is whole)`, async () => {
      const o = env.origins[which];
      const c = await rawText(env.proxy.port, o.authority, ca);
      const parts = 6;
      c.t.write(
        `POST /after-upload HTTP/1.1\r\nHost: ${o.authority}\r\nContent-Length: ${parts * 10}\r\n\r\n`,
      );
      for (let i = 0; i < parts; i++) {
        await Bun.sleep(RESPONSE_MS / 2); // 3 × the deadline in all
        c.t.write("x".repeat(10));
      }
      const text = await c.send("", (all) => all.endsWith("\r\n\r\n60"));
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      c.t.destroy();
    });
  }
});
