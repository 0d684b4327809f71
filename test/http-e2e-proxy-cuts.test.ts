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
import { spawn } from "node:child_process";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { curl, type E2eEnv, startE2e } from "./helpers/e2e-env.ts";
import { rawFrames, sendFirstGet } from "./helpers/e2e-raw.ts";
import { curlThroughProxy, startHttpModeProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { LineReader, waitUntil } from "./helpers/wait.ts";

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

/**
 * A client like a urllib3 / requests pool: CONNECT, TLS, one GET, its answer read, then nothing
 * for 3 s (no read, no close); then it reads to the end and prints "end" (the proxy's close_notify
 * and FIN; a reset prints its error), and waits until killed.
 */
function pooledClient(proxyPort: number, authority: string, caPath: string) {
  const script = [
    "import socket, ssl, sys, time",
    `s = socket.create_connection(("127.0.0.1", ${proxyPort}))`,
    `s.sendall(b"CONNECT ${authority} HTTP/1.1\\r\\nHost: ${authority}\\r\\n\\r\\n")`,
    "s.recv(1000)",
    `t = ssl.create_default_context(cafile=${JSON.stringify(caPath)}).wrap_socket(s, server_hostname="localhost")`,
    `t.sendall(b"GET /bytes?n=4&cl=1 HTTP/1.1\\r\\nHost: ${authority}\\r\\n\\r\\n")`,
    "print(t.recv(1000).split(b'\\r\\n')[0].decode(), flush=True)",
    "time.sleep(3)",
    "try:",
    "    while t.recv(65536) != b'': pass", // the rest of the answer, then the proxy's close_notify
    "    print('end', flush=True)",
    "except Exception as e:",
    "    print('error ' + type(e).__name__, flush=True)",
    "time.sleep(20)",
  ].join("\n");
  const child = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
  let exited = false;
  const out = new LineReader();
  const lines = out.lines;
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.once("exit", () => {
    exited = true;
  });
  const line = async (i: number) => {
    await waitUntil(() => lines.length > i || exited, `the client's line ${i + 1}`, 10_000);
    return lines[i];
  };
  return {
    answered: line(0).then((l) => expect(l).toStartWith("HTTP/1.1 200")),
    /** What its late read found. */
    later: () => line(1),
    exited: () => exited,
    kill: () => child.kill(),
  };
}

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

  test("HTTP/1.1, a pooled connection its client never reads again (Python): closed after the linger, not held", async () => {
    const o = env.origins.nodeH1;
    const before = closedLines(env.proxy.logs).length;
    const client = pooledClient(env.proxy.port, o.authority, env.pki.caCertPath);
    try {
      await client.answered;
      // The idle timeout (400 ms) ends the connection; the client never reads that end, so its
      // side stays open. The tunnel (and its slot) ended when the client did.
      await waitUntil(() => closedLines(env.proxy.logs).length > before, "the tunnel's record", 4_000);
      expect(client.exited()).toBe(false);
      expect(closedLines(env.proxy.logs).at(-1)).toMatchObject({ errorCode: null, requests: 1 });
      expect(await client.later()).toBe("end"); // closed as a server closes: close_notify, FIN
    } finally {
      client.kill();
    }
  });

  test("HTTP/1.1, the same pooled client at shutdown: the drain closes it and ends, without a reset", async () => {
    const proxy = await startHttpModeProxy(env.pki);
    const client = pooledClient(proxy.port, env.origins.nodeH1.authority, env.pki.caCertPath);
    try {
      await client.answered;
      const report = await proxy.proxy.stop(10_000);
      // Before, the drain waited its whole 10 s for the client's end, then reset the connection.
      expect(report).toMatchObject({ drained: 1, reset: 0 });
      expect(closedLines(proxy.logs).at(-1)).toMatchObject({ errorCode: null, requests: 1 });
      expect(await client.later()).toBe("end");
    } finally {
      client.kill();
      await proxy.stop();
    }
  }, 20_000);

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
