/**
 * ProxyServer.stop(drainMs): stops accepting, answers clients still in their CONNECT head with 503,
 * lets tunnels finish for drainMs, then aborts the rest through runTunnel's signal (SHUTDOWN) and
 * waits, within a bound, until every tunnel has written its `tunnel closed` line.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type * as tls from "node:tls";
import type { StopReport } from "../src/proxy/listener.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { httpGet, startProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { fixedProfiles, TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";
import { openSocket, readHead, waitUntil } from "./helpers/wait.ts";

/** Bound on stop(): the drain, the abort grace (1 s) and the final grace, with a wide margin. */
const STOP_BOUND_MS = 15_000; // ms

let pki: TestPki;
let origin: Origin;

beforeAll(async () => {
  pki = await makeTestPki();
  origin = await startTlsOrigin(await pki.leaf("localhost"));
});
afterAll(() => pki?.remove());
afterAll(() => origin.close());

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms),
    ),
  ]);
}

describe("stop(drainMs)", () => {
  test("M open tunnels: the one that finishes is drained, the others end SHUTDOWN; every one is logged", async () => {
    const M = 6;
    const DRAIN_MS = 1500;
    const p = await startProxy({
      pki,
      engine: new NativeEngine(),
      profiles: fixedProfiles([TEST_SPEC]),
      defaultProfile: "test-chrome",
    });
    const tunnels: tls.TLSSocket[] = [];
    for (let i = 0; i < M; i++) {
      const t = await tlsThroughProxy(p.port, `localhost:${origin.port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
      });
      t.on("error", () => {});
      expect(await httpGet(t, "localhost", `/t${i}`)).toContain(`hello /t${i}`);
      tunnels.push(t);
    }
    const head = await openSocket(p.port);
    head.write("CONNECT localhost:");
    const headAnswer = readHead(head);
    await waitUntil(() => p.proxy.openConnections === M + 1, "all connections admitted");

    const stopping = p.proxy.stop(DRAIN_MS);
    // One client finishes on its own during the drain.
    tunnels[0]?.end();
    const report: StopReport = await within(stopping, STOP_BOUND_MS, "stop()");

    expect(await headAnswer).toStartWith("HTTP/1.1 503");
    expect(report).toEqual({ drained: 1, reset: M - 1, refused: 1, destroyed: 0 });
    const closed = p.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.msg === "tunnel closed");
    expect(closed.length).toBe(M);
    expect(closed.filter((r) => r.errorCode === "SHUTDOWN").length).toBe(M - 1);
    expect(closed.filter((r) => r.errorCode === null).length).toBe(1);
    // Nothing is accepted any more.
    await expect(openSocket(p.port)).rejects.toThrow();
    for (const t of tunnels) t.destroy();
    head.destroy();
    await p.stop();
  });

  test("nothing open: stop() resolves at once with an empty report", async () => {
    const p = await startProxy({
      pki,
      engine: new NativeEngine(),
      profiles: fixedProfiles([TEST_SPEC]),
      defaultProfile: "test-chrome",
    });
    const report = await within(p.proxy.stop(60_000), STOP_BOUND_MS, "stop()");
    expect(report).toEqual({ drained: 0, reset: 0, refused: 0, destroyed: 0 });
    await p.stop();
  });
});
