/**
 * The shutdown drain in the HTTP mode asks keep-alive clients to leave (src/proxy/drain-set.ts):
 * when stop() begins, an HTTP/2 client gets GOAWAY(NO_ERROR) naming the last stream taken, which
 * still completes; an HTTP/1.1 request in flight gets its answer with `Connection: close`, then the
 * connection ends; a connection idle between requests is closed at once; and so is a plain-HTTP
 * proxy connection. Every tunnel then ends by itself within the drain (`drained`, none `reset`).
 * Before, those clients were served on as if nothing happened and every idle keep-alive
 * connection held the drain to its end, then was reset. Origins: Node (test/helpers/e2e-origin.mjs
 * `/delay`); clients: curl over HTTP/2 and a raw HTTP/1.1 and HTTP/2 connection.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { type E2eEnv, startE2e } from "./helpers/e2e-env.ts";
import { rawFrames, rawText, sendFirstGet } from "./helpers/e2e-raw.ts";
import { curlThroughProxy, startHttpModeProxy } from "./helpers/proxy-env.ts";
import { waitUntil } from "./helpers/wait.ts";

let env: E2eEnv;
let ca: string;

beforeAll(async () => {
  env = await startE2e();
  ca = await Bun.file(env.pki.caCertPath).text();
});
afterAll(async () => {
  await env?.close();
});

/** The drain given to stop(): far longer than any answer here, so a tunnel reset at its end shows. */
const DRAIN_MS = 10_000;

describe("the drain asks HTTP clients to finish", () => {
  test("HTTP/2 GOAWAY, HTTP/1.1 Connection: close, idle connections closed; every tunnel drained", async () => {
    const proxy = await startHttpModeProxy(env.pki);
    try {
      const h1 = env.origins.nodeH1.authority;
      const h2 = env.origins.nodeH2.authority;
      // An HTTP/1.1 keep-alive connection, idle after one answer.
      const idle = await rawText(proxy.port, h1, ca);
      await idle.send("GET /bytes?n=4&cl=1 HTTP/1.1\r\nHost: localhost\r\n\r\n", (a) =>
        a.includes("\r\n\r\n"),
      );
      await waitUntil(() => idle.text().length >= idle.text().indexOf("\r\n\r\n") + 8, "the idle one's body");
      // An HTTP/1.1 request in flight.
      const busy = await rawText(proxy.port, h1, ca);
      busy.t.write("GET /delay?ms=500 HTTP/1.1\r\nHost: localhost\r\n\r\n");
      // An HTTP/2 request in flight, on frames the test reads.
      const f = await rawFrames(proxy.port, h2, ca);
      sendFirstGet(f, h2, "/delay?ms=500");
      // curl over HTTP/2, in flight too.
      const curl = curlThroughProxy(proxy.port, env.pki.caCertPath, [
        "--http2",
        `https://${h2}/delay?ms=700`,
      ]);
      const arrived = async () =>
        (await env.origins.nodeH2.stats()).reqs.filter((r) => r.path.startsWith("/delay")).length === 2 &&
        (await env.origins.nodeH1.stats()).reqs.some((r) => r.path.startsWith("/delay"));
      for (let i = 0; i < 1000 && !(await arrived()); i++) await Bun.sleep(10);

      const stopped = proxy.proxy.stop(DRAIN_MS);
      await waitUntil(() => idle.closed(), "the idle connection closed by the proxy");

      const goaway = () => f.frames.find((x) => x.type === "GOAWAY");
      await waitUntil(() => goaway() !== undefined, "the GOAWAY");
      expect(goaway()).toMatchObject({ lastStreamId: 1, code: H2ErrorCode.NO_ERROR });
      await waitUntil(() => f.closed(), "the HTTP/2 connection ended after its stream");
      const data = f.frames.filter((x) => x.type === "DATA" && x.streamId === 1);
      expect(Buffer.concat(data.map((x) => (x.type === "DATA" ? x.data : new Uint8Array()))).toString()).toBe(
        "late",
      );
      expect(data.at(-1)).toMatchObject({ endStream: true });

      await waitUntil(() => busy.closed(), "the busy HTTP/1.1 connection ended after its answer");
      const text = busy.text();
      expect(text).toStartWith("HTTP/1.1 200 OK");
      expect(text.toLowerCase()).toContain("\r\nconnection: close\r\n");
      expect(text.endsWith("\r\n\r\nlate")).toBe(true);

      const c = await curl;
      expect([c.code, c.out]).toEqual([0, "late"]);
      const report = await stopped;
      expect(report).toMatchObject({ reset: 0, drained: 4 });
      const closed = proxy.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r.msg === "tunnel closed");
      expect(closed.map((r) => r.errorCode)).toEqual([null, null, null, null]);
    } finally {
      await proxy.stop();
    }
  }, 30_000);
});
