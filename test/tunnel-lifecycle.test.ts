/**
 * How tunnels end: a client leaving during a stalled upload, the proxy stopping, a client closing
 * without close_notify after a complete exchange; and no leaf minted for an upstream never reached.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as tls from "node:tls";
import { LeafCache } from "../src/mitm/leaf-cache.ts";
import type { Leaf } from "../src/pki/leaf.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { connectRequest, httpGet, type ProxyHandle, rawConnect, startProxy } from "./helpers/proxy-env.ts";
import { fixedProfiles, TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";

const UPLOAD_CHUNK = Buffer.alloc(256 * 1024, 0x75); // bytes per write of the stalled upload
const MAX_UPLOAD_WRITES = 400; // bound: 100 MiB, far beyond every buffer on the path
const profiles = fixedProfiles([TEST_SPEC]);
let pki: TestPki;
let engine: NativeEngine;
let h1: Origin;
/** A TLS origin that reads the request head, then stops reading for good. */
let stalled: Origin;
const stalledSockets: tls.TLSSocket[] = [];

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
  const leaf = await pki.leaf("localhost");
  h1 = await startTlsOrigin(leaf);
  stalled = await startTlsOrigin(leaf, {
    handler(s) {
      stalledSockets.push(s);
      s.on("error", () => {});
      s.once("data", () => s.pause());
    },
  });
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await h1.close();
  for (const s of stalledSockets) s.destroy();
  await stalled.close();
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

/** CONNECT plus, in MITM, the client's TLS handshake; returns the stream to write on. */
async function open(p: ProxyHandle, port: number) {
  const { socket, status } = await rawConnect(p.port, connectRequest(`localhost:${port}`));
  expect(status).toBe(200);
  socket.on("error", () => {});
  // Passthrough: the client speaks TLS to the origin itself, end to end.
  const t = tls.connect({ socket, servername: "localhost", ca: pki.ca.certPem });
  t.on("error", () => {});
  await new Promise<void>((r) => t.once("secureConnect", () => r()));
  return { raw: socket, t };
}

describe("a client that leaves during a stalled upload", () => {
  for (const mode of ["mitm", "passthrough"] as const) {
    test(`${mode}: both of the tunnel's sockets are released`, async () => {
      const p = await startProxy({
        pki,
        engine,
        profiles,
        defaultProfile: "test-chrome",
        mode,
        deps: { idleTimeoutMs: 500 },
      });
      const before = stalledSockets.length;
      try {
        const { raw, t } = await open(p, stalled.port);
        t.write("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000000\r\n\r\n");
        // Upload until the whole path is full: the origin reads nothing, the proxy pauses the client.
        let full = 0;
        for (let i = 0; i < MAX_UPLOAD_WRITES && full < 3; i++) {
          if (!t.write(UPLOAD_CHUNK)) {
            full += 1;
            await Bun.sleep(50);
          }
        }
        expect(full).toBe(3);
        t.destroy();
        raw.destroy();
        expect(await waitFor(() => p.proxy.openConnections === 0, 500)).toBe(true);
        const up = stalledSockets[before];
        expect(await waitFor(() => up?.destroyed || up?.readableEnded, 250)).toBe(true);
        expect(await waitFor(() => records(p)[0])).not.toBeNull();
      } finally {
        await p.stop();
      }
    });
  }
});

describe("shutdown", () => {
  for (const mode of ["mitm", "passthrough"] as const) {
    test(`${mode}: stopping aborts open tunnels: SHUTDOWN line each, clients reset`, async () => {
      const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome", mode });
      const a = await open(p, h1.port);
      const b = await open(p, h1.port);
      expect(await httpGet(a.t, "localhost", "/before-stop")).toContain("hello /before-stop");
      await p.proxy.stop(50);
      expect(await waitFor(() => a.raw.destroyed && b.raw.destroyed)).toBe(true);
      const recs = records(p);
      expect(recs.map((r) => r.errorCode)).toEqual(["SHUTDOWN", "SHUTDOWN"]);
      await p.stop();
    });
  }
});

describe("how the client closes does not make a tunnel a failure", () => {
  for (const mode of ["mitm", "passthrough"] as const) {
    for (const how of ["fin", "reset"] as const) {
      test(`${mode}: client ${how} without close_notify after a complete exchange → INFO, no error code`, async () => {
        const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome", mode });
        try {
          const { raw, t } = await open(p, h1.port);
          expect(await httpGet(t, "localhost", "/done")).toContain("hello /done");
          // Below the TLS layer: no close_notify is sent either way.
          if (how === "fin") raw.end();
          else raw.resetAndDestroy();
          const rec = await waitFor(() => records(p)[0]);
          expect([rec?.level, rec?.errorCode, rec?.reason]).toEqual(["info", null, undefined]);
        } finally {
          await p.stop();
        }
      });
    }
  }
});

describe("leaf minting", () => {
  test("no leaf is minted when the upstream cannot be reached or is refused", async () => {
    const asked: string[] = [];
    const cache = new LeafCache(pki.minter, { ttlSeconds: 3600 });
    const leaves = {
      get(host: string): Promise<Leaf> {
        asked.push(host);
        return cache.get(host);
      },
    };
    const gone = net.createServer();
    await new Promise<void>((r) => gone.listen(0, "127.0.0.1", r));
    const closedPort = (gone.address() as AddressInfo).port;
    await new Promise<void>((r) => gone.close(() => r()));
    const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome", deps: { leaves } });
    try {
      for (const [target, status] of [
        [`localhost:${closedPort}`, 502],
        [`127.0.0.1:${p.port}`, 508],
      ] as const) {
        const r = await rawConnect(p.port, connectRequest(target));
        r.socket.destroy();
        expect([target, r.status, asked]).toEqual([target, status, []]);
      }
      const ok = await open(p, h1.port);
      expect(asked).toEqual(["localhost"]);
      ok.t.destroy();
    } finally {
      await p.stop();
    }
  });
});

describe("failures after 200 reset the client", () => {
  /** How the client connection ended: "reset" (ECONNRESET on the socket or its TLS layer) or "closed". */
  const ending = (raw: net.Socket, t: tls.TLSSocket) =>
    new Promise<string>((resolve) => {
      const codes: string[] = [];
      const note = (e: NodeJS.ErrnoException) => codes.push(e.code ?? "?");
      raw.on("error", note);
      t.on("error", note);
      t.on("close", () =>
        setTimeout(() => resolve(codes.includes("ECONNRESET") ? "reset" : `closed ${codes}`), 20),
      );
    });

  test("SNI mismatch and upstream verification failure end with a reset", async () => {
    const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome" });
    const noCa = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome", caFile: null });
    try {
      const cases = [
        [p, "evil.test", "SNI_MISMATCH"],
        [noCa, "localhost", "TLS_VERIFY"],
      ] as const;
      for (const [proxy, servername, code] of cases) {
        const { socket, status } = await rawConnect(proxy.port, connectRequest(`localhost:${h1.port}`));
        expect(status).toBe(200);
        const t = tls.connect({
          socket,
          servername,
          ca: pki.ca.certPem,
          checkServerIdentity: () => undefined,
        });
        const ended = ending(socket, t);
        t.once("secureConnect", () => t.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        expect([code, await ended]).toEqual([code, "reset"]);
        expect((await waitFor(() => records(proxy).at(-1)))?.errorCode).toBe(code);
      }
    } finally {
      await p.stop();
      await noCa.stop();
    }
  });
});
