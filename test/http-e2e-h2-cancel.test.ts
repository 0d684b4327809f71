/**
 * An HTTP/2 client's stream reset cancels the upstream exchange in every state, through the
 * running proxy in HTTP mode with a Node 20 (nghttp2) client: an HTTP/2 origin sees RST_STREAM
 * (CANCEL) on that stream, an HTTP/1.1 origin sees that connection closed, and a request still
 * queued behind the origin's MAX_CONCURRENT_STREAMS never reaches it. Origins are Node's own
 * (test/helpers/cancel-origin.mjs), reporting every request and how each ended.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { type CancelOrigin, startCancelOrigin } from "./helpers/cancel-origin.ts";
import { type ProxyHandle, startHttpModeProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";
import { waitUntil } from "./helpers/wait.ts";

const CLIENT = `${import.meta.dir}/helpers/h2-server-node-client.mjs`;
const BIG = `/bytes?n=${100 * 1024 * 1024}`;

let pki: TestPki;
let proxy: ProxyHandle;
const children: ChildProcess[] = [];

beforeAll(async () => {
  pki = await makeTestPki();
  proxy = await startHttpModeProxy(pki);
});
afterAll(() => pki?.remove());
afterAll(async () => {
  for (const c of children) c.kill();
  await proxy?.stop();
});

async function origin(kind: "h2" | "h1", maxConcurrentStreams?: number): Promise<CancelOrigin> {
  const o = await startCancelOrigin(pki, kind, maxConcurrentStreams);
  children.push(o.child);
  return o;
}

/**
 * Runs a client scenario that keeps its connection (and so the tunnel) open after printing what
 * it saw, until the test releases it: ending the tunnel would end the upstream exchanges anyway.
 */
async function heldClient(o: CancelOrigin, scenario: string): Promise<Record<string, unknown>> {
  const args = [CLIENT, String(proxy.port), o.authority, pki.caCertPath, scenario, "hold"];
  const child = spawn("node", args, { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  return await new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(JSON.parse(out));
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`client exited ${code} before its result`)));
  });
}

describe("a client's stream reset cancels the upstream exchange", () => {
  test("HTTP/2 origin: the GET's upstream stream is reset with CANCEL; the connection goes on", async () => {
    const o = await origin("h2");
    const r = await heldClient(o, "rst");
    expect(r.cut).toEqual([200, true, H2ErrorCode.CANCEL]);
    expect(r.after).toEqual([200, 10]);
    // Without the cancel, the origin's stream stays open (its window never granted again) or runs
    // to its end: neither is a CANCEL.
    await waitUntil(
      () => o.events.some((e) => e.ev === "close" && e.path === BIG),
      "the big stream closed",
      3000,
    );
    expect(o.events.find((e) => e.ev === "close" && e.path === BIG)?.rst).toBe(H2ErrorCode.CANCEL);
    // The client has the whole answer once the origin sent it; the origin's stream closes after
    // (on a busy machine, after the check above): wait for it too.
    await waitUntil(
      () => o.events.some((e) => e.ev === "close" && e.path === "/bytes?n=10"),
      "the second stream closed",
      3000,
    );
    expect(o.events.find((e) => e.ev === "close" && e.path === "/bytes?n=10")?.rst).toBe(0);
    o.close();
  }, 20_000);

  test("HTTP/1.1 origin: the connection carrying the response is closed; the next request works", async () => {
    const o = await origin("h1");
    const r = await heldClient(o, "rst");
    expect(r.cut).toEqual([200, true, H2ErrorCode.CANCEL]);
    expect(r.after).toEqual([200, 10]);
    const big = o.events.find((e) => e.ev === "req" && e.path === "/bytes")?.conn;
    expect(big).toBeDefined();
    await waitUntil(
      () => o.events.some((e) => e.ev === "conn-close" && e.conn === big),
      "the big response's connection closed",
      3000,
    );
    const closed = o.events.find((e) => e.ev === "conn-close" && e.conn === big);
    expect(closed?.sent).toBeLessThan(100 * 1024 * 1024);
    o.close();
  }, 20_000);

  test("a request queued behind MAX_CONCURRENT_STREAMS and reset by the client is never sent", async () => {
    const o = await origin("h2", 1);
    const r = await heldClient(o, "queued");
    expect(r.slow).toEqual([200, "slow"]);
    expect(r.queued).toBe(H2ErrorCode.CANCEL);
    expect(r.after).toEqual([200, 10]);
    await waitUntil(
      () => o.events.some((e) => e.ev === "close" && e.path === "/bytes?n=10"),
      "the last request",
    );
    await Bun.sleep(100); // a late /queued would have been sent before /bytes?n=10 was
    expect(o.events.filter((e) => e.ev === "req").map((e) => e.path)).toEqual(["/slow", "/bytes"]);
    o.close();
  }, 20_000);
});
