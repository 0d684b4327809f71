/**
 * Tunnel behaviour after `200`: upstream truncation, idle timeout, shutdown, stalled uploads, how
 * the client's way of closing is logged, and that a leaf is minted only for a dialled upstream.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as tls from "node:tls";
import { SecureChannel } from "../src/proxy/secure-channel.ts";
import { ConnectorPool } from "../src/upstream/connector-pool.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { connectRequest, httpGet, type ProxyHandle, rawConnect, startProxy } from "./helpers/proxy-env.ts";
import { fixedProfiles, TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";

const BODY = Buffer.alloc(256 * 1024, 0x62); // bytes; several TLS records
const profiles = fixedProfiles([TEST_SPEC]);
let pki: TestPki;
let engine: NativeEngine;
let pool: ConnectorPool;
let h1: Origin;

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
  pool = new ConnectorPool(engine, profiles);
  h1 = await startTlsOrigin(await pki.leaf("localhost"));
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await h1.close();
  pool.close();
});

const records = (p: ProxyHandle) =>
  p.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === "tunnel closed");

async function waitFor<T>(f: () => T | null | undefined | false, tries = 250): Promise<T | null> {
  for (let i = 0; i < tries; i++) {
    const v = f();
    if (v) return v;
    await Bun.sleep(20);
  }
  return null;
}

/**
 * An engine TLS origin that answers the first request with BODY and then ends as told: `clean`
 * (close_notify + FIN), `fin` (FIN without close_notify, halfway through the body) or `reset`.
 */
async function endingOrigin(how: "clean" | "fin" | "reset") {
  const leaf = await pki.leaf("localhost");
  const server = net.createServer((sock) => {
    const ch = new SecureChannel(
      sock,
      engine.accept({ certChainDer: leaf.chainDer, keyPkcs8Der: leaf.keyPkcs8Der, alpn: ["http/1.1"] }),
    );
    sock.on("error", () => {});
    ch.handshake().then(
      () => {
        ch.start({
          data: () => {
            ch.write(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n`));
            if (how === "clean") {
              ch.write(BODY);
              ch.end();
            } else {
              ch.write(BODY.subarray(0, BODY.length / 2));
              if (how === "fin") ch.end(false);
              else setTimeout(() => ch.reset(), 50);
            }
          },
          end: () => {},
          error: () => {},
          drain: () => {},
        });
      },
      () => {},
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** CONNECT, then TLS with the engine as the client; reports how the proxy ended the stream. */
async function engineClientGet(proxyPort: number, target: string) {
  const { socket, status } = await rawConnect(proxyPort, connectRequest(target));
  expect(status).toBe(200);
  const conn = pool.get("test-chrome").connector.connect({
    host: "localhost",
    alpn: ["http/1.1"],
    alps: false,
    verify: { verify: true, verifyHostname: true, caFile: pki.caCertPath },
    session: null,
  });
  const ch = new SecureChannel(socket, conn, "peer");
  socket.resume();
  await ch.handshake();
  return await new Promise<{ bytes: number; ending: string }>((resolve) => {
    let bytes = 0;
    ch.start({
      data: (d) => {
        bytes += d.length;
      },
      end: (closeNotify) => {
        resolve({ bytes, ending: closeNotify ? "close_notify" : "fin-without-close_notify" });
        ch.destroy();
      },
      error: (e) => resolve({ bytes, ending: `error ${e.code}` }),
      drain: () => {},
    });
    ch.write(Buffer.from("GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  });
}

describe("upstream truncation", () => {
  test("an upstream FIN without close_notify reaches the client as a truncation, logged UPSTREAM_TRUNCATED", async () => {
    const o = await endingOrigin("fin");
    const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome" });
    try {
      const got = await engineClientGet(p.port, `localhost:${o.port}`);
      expect(got.ending).not.toBe("close_notify");
      const rec = await waitFor(() => records(p)[0]);
      expect(rec?.errorCode).toBe("UPSTREAM_TRUNCATED");
      expect(rec?.level).toBe("warn");
    } finally {
      await p.stop();
      o.close();
    }
  });

  test("an upstream reset without close_notify is a truncation too (client reset)", async () => {
    const o = await endingOrigin("reset");
    const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome" });
    try {
      const got = await engineClientGet(p.port, `localhost:${o.port}`);
      expect(got.ending).not.toBe("close_notify");
      expect((await waitFor(() => records(p)[0]))?.errorCode).toBe("UPSTREAM_TRUNCATED");
    } finally {
      await p.stop();
      o.close();
    }
  });

  test("a clean upstream close_notify still gives the client a clean close_notify, logged INFO", async () => {
    const o = await endingOrigin("clean");
    const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome" });
    try {
      const got = await engineClientGet(p.port, `localhost:${o.port}`);
      expect(got.ending).toBe("close_notify");
      expect(got.bytes).toBeGreaterThan(BODY.length);
      const rec = await waitFor(() => records(p)[0]);
      expect([rec?.level, rec?.errorCode]).toEqual(["info", null]);
    } finally {
      await p.stop();
      o.close();
    }
  });
});

describe("idle timeout", () => {
  for (const mode of ["mitm", "passthrough"] as const) {
    test(`${mode}: a tunnel with no byte either way is closed, both sides, IDLE_TIMEOUT`, async () => {
      let upstreamSide: net.Socket | null = null;
      const quiet = net.createServer((s) => {
        upstreamSide = s;
        s.on("error", () => {});
      });
      await new Promise<void>((r) => quiet.listen(0, "127.0.0.1", r));
      const port = (quiet.address() as AddressInfo).port;
      const p = await startProxy({
        pki,
        engine,
        profiles,
        defaultProfile: "test-chrome",
        mode,
        deps: { idleTimeoutMs: 300 },
      });
      try {
        // MITM needs a TLS origin for the tunnel to reach its relay: one exchange, then silence.
        const target = mode === "mitm" ? `localhost:${h1.port}` : `127.0.0.1:${port}`;
        const { socket, status } = await rawConnect(p.port, connectRequest(target));
        expect(status).toBe(200);
        socket.on("error", () => {});
        if (mode === "mitm") {
          const t = tls.connect({ socket, servername: "localhost", ca: pki.ca.certPem });
          t.on("error", () => {});
          await new Promise<void>((r) => t.once("secureConnect", () => r()));
          expect(await httpGet(t, "localhost", "/idle")).toContain("hello /idle");
        } else {
          socket.resume();
        }
        expect(await waitFor(() => socket.destroyed || socket.readableEnded, 250)).toBe(true);
        const rec = await waitFor(() => records(p)[0]);
        expect(rec?.errorCode).toBe("IDLE_TIMEOUT");
        if (mode === "passthrough") {
          expect(await waitFor(() => upstreamSide?.destroyed || upstreamSide?.readableEnded)).toBe(true);
        }
      } finally {
        await p.stop();
        quiet.close();
      }
    });
  }
});

describe("handshake timeouts come from the config", () => {
  test("a client that never starts its TLS handshake: TLS_HANDSHAKE after client_handshake_timeout_ms", async () => {
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      deps: { clientHandshakeTimeoutMs: 200 },
    });
    try {
      const { socket, status } = await rawConnect(p.port, connectRequest(`localhost:${h1.port}`));
      expect(status).toBe(200);
      socket.on("error", () => {});
      socket.resume();
      const rec = await waitFor(() => records(p)[0]);
      expect([rec?.errorCode, rec?.reason]).toEqual([
        "TLS_HANDSHAKE",
        "client TLS handshake timed out after 200 ms",
      ]);
      expect(await waitFor(() => socket.destroyed || socket.readableEnded)).toBe(true);
    } finally {
      await p.stop();
    }
  });

  test("an upstream that never answers the ClientHello: TLS_HANDSHAKE after the upstream timeout", async () => {
    const mute = net.createServer((s) => s.on("error", () => {}));
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    const port = (mute.address() as AddressInfo).port;
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      deps: { upstreamHandshakeTimeoutMs: 200 },
    });
    try {
      const { socket, status } = await rawConnect(p.port, connectRequest(`localhost:${port}`));
      expect(status).toBe(200);
      const t = tls.connect({ socket, servername: "localhost", ca: pki.ca.certPem });
      t.on("error", () => {});
      const rec = await waitFor(() => records(p)[0]);
      expect([rec?.errorCode, rec?.reason]).toEqual([
        "TLS_HANDSHAKE",
        "upstream TLS handshake timed out after 200 ms",
      ]);
      expect(await waitFor(() => t.destroyed)).toBe(true);
    } finally {
      await p.stop();
      mute.close();
    }
  });
});
