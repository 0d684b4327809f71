/**
 * Plain HTTP proxying, the bounds of a client connection: a first head that never completes gets
 * 408, an idle keep-alive connection is closed cleanly (FIN, logged without error), and a
 * `tunnel closed` record (mode `forward`) is written for each; a request cut by the idle timeout or
 * by the proxy stopping is reset and logged with that error, never as a normal close. Waits are bounded polls on events,
 * never timing assertions.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as net from "node:net";
import { type ForwardEnv, records, startForwardEnv } from "./helpers/forward-env.ts";
import { collectText } from "./helpers/wait.ts";

let env: ForwardEnv;

beforeAll(async () => {
  env = await startForwardEnv();
});
afterAll(async () => {
  await env.close();
});

/** Connects, writes `first`, collects everything until the proxy closes; `reset` if it reset. */
function collect(port: number, first: string): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let text = "";
    let reset = false;
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    s.on("error", () => {
      reset = true;
    });
    s.on("close", () => resolve({ text, reset }));
    s.write(first);
  });
}

async function recordWhere(logs: string[], pred: (r: Record<string, unknown>) => boolean) {
  for (let i = 0; i < 200 && !records(logs).some(pred); i++) await Bun.sleep(20);
  return records(logs).find(pred);
}

test("a first head that stops after the request line gets 408 and a close", async () => {
  const p = await env.polytls((c) => {
    c.proxy.limits.headerTimeoutMs = 200;
  });
  const r = await collect(p.port, `GET http://127.0.0.1:${env.bun.port}/slow HTTP/1.1\r\nHost: x\r\n`);
  expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
  expect(r.text).toContain("Connection: close");
  const rec = await recordWhere(p.logs, (x) => x.mode === "forward");
  expect(rec?.errorCode).toBe("HEADER_TIMEOUT");
  expect(rec?.bytesDown).toBe(r.text.length); // the 408 the client got
  expect((await env.bun.records()).some((x) => x.path === "/slow")).toBe(false);
});

test("a second head, on a kept-alive connection, has the same deadline (a byte now and then is no escape)", async () => {
  const p = await env.polytls((c) => {
    c.proxy.limits.headerTimeoutMs = 300;
  });
  const s = net.connect(p.port, "127.0.0.1");
  const got = collectText(s);
  const request = (path: string) => `GET http://127.0.0.1:${env.bun.port}${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  s.write(request("/first"));
  for (let i = 0; i < 200 && !got.text().includes("\r\n\r\n"); i++) await Bun.sleep(10);
  expect(got.text()).toMatch(/^HTTP\/1\.1 200 /);
  const second = request("/second");
  for (let i = 0; i < second.length - 4 && !got.closed(); i++) {
    s.write(second[i] as string); // one byte every 50 ms: never idle, never whole
    await Bun.sleep(50);
  }
  for (let i = 0; i < 200 && !got.closed(); i++) await Bun.sleep(10);
  expect(got.closed()).toBe(true);
  expect(got.text()).toContain("HTTP/1.1 408 Request Timeout\r\n");
  const rec = await recordWhere(p.logs, (x) => x.mode === "forward" && x.errorCode === "HEADER_TIMEOUT");
  expect(rec).toMatchObject({ requests: 2, statuses: "200:1,408:1" });
  expect((await env.bun.records()).some((x) => x.path === "/second")).toBe(false);
});

test("an idle keep-alive connection is closed cleanly once its exchange is done", async () => {
  const p = await env.polytls((c) => {
    c.proxy.limits.idleTimeoutMs = 300;
  });
  const request = `GET http://127.0.0.1:${env.node.port}/idle-1 HTTP/1.1\r\nHost: x\r\n\r\n`;
  const r = await collect(p.port, request);
  expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
  expect(r.text).toContain('"path":"/idle-1"');
  expect(r.reset).toBe(false);
  const rec = await recordWhere(p.logs, (x) => x.mode === "forward");
  // bytesUp counts the whole request, the part the listener read to route it included.
  expect(rec).toMatchObject({ requests: 1, statuses: "200:1", errorCode: null, bytesUp: request.length });
});

test("a malformed first head is 400 and logged once", async () => {
  const p = await env.polytls();
  const r = await collect(
    p.port,
    `GET http://127.0.0.1:${env.bun.port}/bad HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n`,
  );
  expect(r.text).toMatch(/^HTTP\/1\.1 400 /);
  const rec = await recordWhere(p.logs, (x) => x.mode === "forward");
  expect(rec).toMatchObject({ requests: 1, statuses: "400:1", errorCode: "HTTP_BAD_REQUEST" });
  expect((await env.bun.records()).some((x) => x.path === "/bad")).toBe(false);
});

/** A TCP origin that accepts and never answers (closed by the caller); `connected` once dialled. */
async function silentOrigin(): Promise<{ server: net.Server; connected: Promise<void> }> {
  const connected = Promise.withResolvers<void>();
  const server = net.createServer((s) => {
    s.on("error", () => {});
    s.once("data", () => connected.resolve()); // the request head arrived
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, connected: connected.promise };
}

for (const cut of ["IDLE_TIMEOUT", "SHUTDOWN"] as const) {
  test(`a request the proxy cuts (${cut}) is reset and logged with ${cut}`, async () => {
    const { server: stall, connected } = await silentOrigin();
    try {
      const p = await env.polytls((c) => {
        if (cut === "IDLE_TIMEOUT") c.proxy.limits.idleTimeoutMs = 300;
        else c.proxy.limits.drainTimeoutMs = 100;
      });
      const port = (stall.address() as net.AddressInfo).port;
      const pending = collect(p.port, `GET http://127.0.0.1:${port}/never HTTP/1.1\r\nHost: x\r\n\r\n`);
      if (cut === "SHUTDOWN") {
        await connected; // the request reached the origin, which never answers
        await p.proxy.stop();
      }
      const r = await pending;
      expect(r.text).toBe("");
      expect(r.reset).toBe(true);
      const rec = await recordWhere(p.logs, (x) => x.mode === "forward");
      expect(rec?.errorCode).toBe(cut);
      expect(rec?.level).toBe("warn");
    } finally {
      stall.close();
    }
  });
}
