/** Loop protection (508) and the opt-in target deny lists (403), through a real proxy. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { networkInterfaces } from "node:os";
import { accessPolicy } from "../src/proxy/access.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { connectRequest, type ProxyHandle, rawConnect, startProxy } from "./helpers/proxy-env.ts";
import { fixedProfiles, TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";

let pki: TestPki;
let engine: NativeEngine;
const profiles = fixedProfiles([TEST_SPEC]);
/** A plain TCP origin on loopback that counts the connections it accepts. */
let origin: net.Server;
let originPort = 0;
let originAccepted = 0;

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
  origin = net.createServer((s) => {
    originAccepted += 1;
    s.on("error", () => {});
    s.end();
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  originPort = (origin.address() as AddressInfo).port;
});
afterAll(() => pki?.remove());

afterAll(() => {
  origin.close();
});

const records = (p: ProxyHandle) =>
  p.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === "tunnel closed");

/** CONNECTs to each target; returns the statuses and the local ports the requests came from. */
async function statuses(p: ProxyHandle, targets: string[], headers: Record<string, string> = {}) {
  const out: [string, number][] = [];
  const ports = new Set<number>();
  for (const t of targets) {
    const r = await rawConnect(p.port, connectRequest(t, headers));
    ports.add(r.socket.localPort ?? 0);
    out.push([t, r.status]);
    r.socket.destroy();
  }
  return { out, ports };
}

/** Every logged client is one of the test's own connections: the proxy never dialled itself. */
async function expectNoSelfDial(p: ProxyHandle, ports: Set<number>, tunnels: number) {
  for (let i = 0; i < 100 && records(p).length < tunnels; i++) await Bun.sleep(20);
  const clients = p.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => typeof r.client === "string")
    .map((r) => Number(String(r.client).split(":").at(-1)));
  expect(clients.filter((port) => !ports.has(port))).toEqual([]);
  expect(records(p).map((r) => r.errorCode)).toEqual(new Array(tunnels).fill("LOOP_DETECTED"));
}

describe("loop protection", () => {
  for (const mode of ["mitm", "passthrough"] as const) {
    test(`${mode}: every form of the proxy's own address and port is refused with 508, nothing dialled`, async () => {
      const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome", mode });
      try {
        const forms = [
          "127.0.0.1",
          "localhost",
          "LocalHost.",
          "0.0.0.0",
          "127.0.0.2",
          "127.1.2.3",
          "[::]",
          "[::1]",
          "[::ffff:127.0.0.1]",
          "[::ffff:7f00:1]",
          "[0:0:0:0:0:ffff:127.0.0.1]",
          "[::127.0.0.1]",
          "[64:ff9b::127.0.0.1]",
        ].map((h) => `${h}:${p.port}`);
        const { out, ports } = await statuses(p, forms);
        expect(out).toEqual(forms.map((f) => [f, 508]));
        // Decimal / octal / hex spellings never reach a resolver: refused as bad authorities.
        const odd = await statuses(
          p,
          ["2130706433", "0x7f.1", "017700000001", "127.1"].map((h) => `${h}:${p.port}`),
        );
        expect(odd.out.map(([, s]) => s)).toEqual([400, 400, 400, 400]);
        await expectNoSelfDial(p, new Set([...ports, ...odd.ports]), forms.length);
      } finally {
        await p.stop();
      }
    });
  }

  test("listening on 0.0.0.0: loopback, unspecified and every interface address are the proxy", async () => {
    const auth = { "Proxy-Authorization": `Basic ${Buffer.from("t:loop-test").toString("base64")}` };
    // Credentials keep the briefly exposed listener closed to anyone else.
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      mode: "passthrough",
      host: "0.0.0.0",
      access: accessPolicy(["t:loop-test"], []),
    });
    try {
      const local = Object.values(networkInterfaces())
        .flatMap((l) => l ?? [])
        .filter((i) => !i.address.includes("%"))
        .map((i) => (i.family === "IPv6" ? `[${i.address}]` : i.address));
      const forms = ["127.0.0.1", "127.0.0.2", "localhost", "0.0.0.0", "[::]", "[::1]", ...local].map(
        (h) => `${h}:${p.port}`,
      );
      const { out, ports } = await statuses(p, forms, auth);
      expect(out).toEqual(forms.map((f) => [f, 508]));
      await expectNoSelfDial(p, ports, forms.length);
    } finally {
      await p.stop();
    }
  });

  test("the same host on another port is not a loop", async () => {
    const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome", mode: "passthrough" });
    try {
      const r = await rawConnect(p.port, connectRequest(`127.0.0.1:${originPort}`));
      expect(r.status).toBe(200);
      r.socket.destroy();
    } finally {
      await p.stop();
    }
  });
});

describe("target deny lists", () => {
  test("deny_private: loopback targets in any form are 403 and never dialled", async () => {
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      mode: "passthrough",
      deps: { targetGuard: { denyPrivate: true, denyCidrs: [] } },
    });
    try {
      const before = originAccepted;
      const forms = ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "127.0.0.2"].map(
        (h) => `${h}:${originPort}`,
      );
      const { out } = await statuses(p, forms);
      expect(out).toEqual(forms.map((f) => [f, 403]));
      expect(originAccepted).toBe(before);
      for (let i = 0; i < 100 && records(p).length < forms.length; i++) await Bun.sleep(20);
      expect(records(p).map((r) => r.errorCode)).toEqual(new Array(forms.length).fill("TARGET_DENIED"));
    } finally {
      await p.stop();
    }
  });

  test("deny_cidrs: only the listed range is refused", async () => {
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      mode: "passthrough",
      deps: { targetGuard: { denyPrivate: false, denyCidrs: ["127.0.0.2/32"] } },
    });
    try {
      const { out } = await statuses(p, [`127.0.0.2:${originPort}`, `127.0.0.1:${originPort}`]);
      expect(out.map(([, s]) => s)).toEqual([403, 200]);
    } finally {
      await p.stop();
    }
  });
});
