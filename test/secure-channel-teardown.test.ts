/**
 * A SecureChannel torn down from our side while its TLS handshake is still waited for fails that
 * handshake at once (it used to stay pending: the socket's close event found the channel
 * destroyed, and the caller's handshake deadline kept `polytls run` alive up to
 * `client_handshake_timeout_ms` after its drain). Over loopback TCP, against a peer that connects
 * and never sends a ClientHello; and end to end, `polytls run` exiting on SIGTERM with such a
 * tunnel open, and at once on a second signal during its drain.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { join } from "node:path";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { SecureChannel } from "../src/proxy/secure-channel.ts";
import { withAbort } from "../src/proxy/timeout.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { killAll, makeSandbox, startRunFromSource } from "./helpers/exe-process.ts";
import { connectRequest, rawConnect } from "./helpers/proxy-env.ts";
import { removeTempTree } from "./helpers/temp-tree.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";

let pki: TestPki;
let engine: NativeEngine;

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
});
afterAll(() => pki?.remove());

/** A server-side channel over an accepted loopback socket whose peer never speaks. */
async function silentPeerChannel(): Promise<{ channel: SecureChannel; close(): void }> {
  const leaf = await pki.leaf("localhost");
  const accepted = Promise.withResolvers<net.Socket>();
  const listener = net.createServer((sock) => {
    sock.on("error", () => {});
    accepted.resolve(sock);
  });
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  const peer = net.connect((listener.address() as AddressInfo).port, "127.0.0.1");
  peer.on("error", () => {});
  const sock = await accepted.promise;
  const channel = new SecureChannel(
    sock,
    engine.accept({ certChainDer: leaf.chainDer, keyPkcs8Der: leaf.keyPkcs8Der, alpn: ["http/1.1"] }),
    "client",
  );
  return {
    channel,
    close() {
      peer.destroy();
      listener.close();
    },
  };
}

/** How `p` settles within `ms`: "pending" if it has not. */
async function settles(p: Promise<unknown>, ms: number): Promise<"resolved" | "pending" | ProxyError> {
  const timer = new Promise<"pending">((r) => setTimeout(() => r("pending"), ms));
  return Promise.race([
    p.then(
      () => "resolved" as const,
      (e: ProxyError) => e,
    ),
    timer,
  ]);
}

describe("a handshake waited for when the channel is torn down", () => {
  for (const how of ["reset", "destroy"] as const) {
    test(`${how}() fails it at once`, async () => {
      const { channel, close } = await silentPeerChannel();
      try {
        const handshake = channel.handshake();
        expect(await settles(handshake, 100)).toBe("pending");
        channel[how]();
        const outcome = await settles(handshake, 1000);
        expect(outcome).toBeInstanceOf(ProxyError);
        expect((outcome as ProxyError).code).toBe("IO");
      } finally {
        close();
      }
    });
  }
});

test("withAbort on a signal already aborted: the promise it gives up on may fail later, unhandled by nobody", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    const ac = new AbortController();
    ac.abort();
    const inner = Promise.withResolvers<never>();
    const outcome = await withAbort(
      inner.promise,
      ac.signal,
      () => new ProxyError("SHUTDOWN", "stopping"),
    ).catch((e: ProxyError) => e.code);
    expect(outcome).toBe("SHUTDOWN");
    // What a caller's catch does next: tears the channel down, which fails its handshake.
    inner.reject(new ProxyError("IO", "torn down"));
    await Bun.sleep(20);
    expect(unhandled).toEqual([]);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

describe("polytls run with a client that never starts TLS", () => {
  let root: string;
  let env: Record<string, string>;
  beforeAll(() => {
    ({ root, env } = makeSandbox("polytls-teardown-"));
  });
  afterAll(async () => {
    await killAll();
    if (root !== undefined) removeTempTree(root);
  });

  test("SIGTERM exits after the drain, not at the client handshake deadline", async () => {
    const target = net.createServer((s) => s.on("error", () => {}));
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    try {
      // A deadline well past the drain: before the fix the process lived until it fired.
      writeFileSync(
        join(root, "p.toml"),
        "[proxy.limits]\nclient_handshake_timeout_ms = 30000\ndrain_timeout_ms = 500\n",
      );
      const { proxy, port } = await startRunFromSource(root, env);
      const targetPort = (target.address() as AddressInfo).port;
      const r = await rawConnect(port, connectRequest(`127.0.0.1:${targetPort}`));
      expect(r.status).toBe(200);
      // No ClientHello: the tunnel waits in the client handshake.
      proxy.signal("SIGTERM");
      expect(await proxy.waitForExit(15_000)).toBe(0);
      expect(proxy.logs().map((l) => l.msg)).toContain("stopped");
      r.socket.destroy();
    } finally {
      target.close();
    }
  }, 30_000);

  test("a second signal during the drain exits at once, with a line saying so", async () => {
    const target = net.createServer((sock) => sock.on("error", () => {}));
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    try {
      // A drain far longer than the test: only the second signal can end the process in time.
      writeFileSync(join(root, "p.toml"), "[proxy.limits]\ndrain_timeout_ms = 60000\n");
      const { proxy, port } = await startRunFromSource(root, env);
      const r = await rawConnect(port, connectRequest(`127.0.0.1:${(target.address() as AddressInfo).port}`));
      expect(r.status).toBe(200); // a tunnel waiting in its client handshake keeps the drain going
      let how = "";
      r.socket.on("error", (e: NodeJS.ErrnoException) => {
        how ||= e.code ?? "error";
      });
      r.socket.on("end", () => {
        how ||= "end";
      });
      r.socket.resume();
      proxy.signal("SIGINT");
      await proxy.waitForLog("shutting down");
      proxy.signal("SIGINT");
      expect(await proxy.waitForExit(10_000)).toBe(130);
      const second = proxy.logs().find((l) => l.msg.startsWith("second signal"));
      expect(second).toMatchObject({ level: "warn", signal: "SIGINT" });
      for (let i = 0; i < 200 && how === ""; i++) await Bun.sleep(10);
      expect(how).toBe("ECONNRESET"); // reset, not the kernel's FIN on exit
      // The tunnel it cut says so: the proxy stopped it, it did not end normally.
      const rec = proxy.logs().find((l) => l.msg === "tunnel closed");
      expect(rec).toMatchObject({ level: "warn", errorCode: "SHUTDOWN" });
      r.socket.destroy();
    } finally {
      target.close();
    }
  }, 30_000);
});
