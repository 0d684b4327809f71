/**
 * Connection limits counted from accept (proxy.limits.max_tunnels → 503 CAPACITY,
 * max_tunnels_per_client → 429 CLIENT_LIMIT), the open-file budget, and the incremental CONNECT
 * reader over a real socket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tunnelsThatFit } from "../src/proxy/fd-limit.ts";
import { ConnectionLimiter, clientKey } from "../src/proxy/limits.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { connectRequest, httpGet, rawConnect, startProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { fixedProfiles, TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";
import { openSocket, readHead, waitUntil } from "./helpers/wait.ts";

let pki: TestPki;
let engine: NativeEngine;
let origin: Origin;
const profiles = fixedProfiles([TEST_SPEC]);

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
  origin = await startTlsOrigin(await pki.leaf("localhost"));
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await origin.close();
});

const logsOf = (logs: string[]) => logs.map((l) => JSON.parse(l) as Record<string, unknown>);

describe("connection limits", () => {
  test("max_tunnels: the (N+1)th connection gets 503 + Retry-After while N are open; a freed slot is used again", async () => {
    const N = 3;
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      listener: { maxTunnels: N },
    });
    try {
      // Two idle MITM tunnels and one client still in its CONNECT head (slowloris): all three count.
      const t1 = await tlsThroughProxy(p.port, `localhost:${origin.port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
      });
      const t2 = await tlsThroughProxy(p.port, `localhost:${origin.port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
      });
      const slow = await openSocket(p.port);
      slow.write("CONNECT local");
      await waitUntil(() => p.proxy.openConnections === N, "three connections admitted");

      const over = await rawConnect(p.port, connectRequest(`localhost:${origin.port}`));
      expect(over.status).toBe(503);
      expect(over.head).toContain("Retry-After: 1");
      expect(over.rest.toString()).toContain("max_tunnels");
      over.socket.destroy();
      expect(p.proxy.openConnections).toBe(N);

      t1.destroy();
      await waitUntil(() => p.proxy.openConnections === N - 1, "slot freed");
      const t3 = await tlsThroughProxy(p.port, `localhost:${origin.port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
      });
      expect(await httpGet(t3, "localhost", "/again")).toContain("hello /again");
      const rejected = logsOf(p.logs).filter((r) => r.msg === "request rejected" && r.code === "CAPACITY");
      expect(rejected.length).toBe(1);
      for (const s of [t2, t3, slow]) s.destroy();
    } finally {
      await p.stop();
    }
  });

  test("max_tunnels_per_client: one IP over its share gets 429; another IP is still admitted", async () => {
    const p = await startProxy({
      pki,
      engine,
      profiles,
      defaultProfile: "test-chrome",
      listener: { maxTunnelsPerClient: 2 },
    });
    try {
      const held = [await openSocket(p.port), await openSocket(p.port)];
      await waitUntil(() => p.proxy.openConnections === 2, "two connections admitted");
      const third = await rawConnect(p.port, connectRequest(`localhost:${origin.port}`));
      expect(third.status).toBe(429);
      expect(third.head).toContain("Retry-After: 1");
      third.socket.destroy();
      // 127.0.0.2 is another client IP on the loopback network.
      const other = await openSocket(p.port, "127.0.0.2");
      other.write(connectRequest(`localhost:${origin.port}`, { "X-PolyTLS-Upstream-Profile": "nope" }));
      expect(await readHead(other)).toStartWith("HTTP/1.1 400");
      other.destroy();
      for (const s of held) s.destroy();
    } finally {
      await p.stop();
    }
  });

  test("limiter and fd budget (pure)", () => {
    const l = new ConnectionLimiter(3, 2);
    expect([l.acquire("a"), l.acquire("a"), l.acquire("a")]).toEqual([null, null, "CLIENT_LIMIT"]);
    expect([l.acquire("b"), l.acquire("c")]).toEqual([null, "CAPACITY"]);
    l.release("a");
    expect(l.acquire("c")).toBeNull();
    expect([l.open, l.clients]).toEqual([3, 3]);
    expect(clientKey("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(clientKey("::1")).toBe("::1");
    // 2 fds per tunnel plus the reserve fit in the limit.
    for (const limit of [64, 1024, 20_000, 1_048_576]) {
      const n = tunnelsThatFit(limit);
      expect(2 * n).toBeLessThan(limit - 32);
      expect(n).toBeGreaterThan(limit / 2 - limit / 16 - 40);
    }
  });
});

describe("incremental CONNECT reader over a socket", () => {
  test("a head sent one byte per write is parsed once complete; the leftover is kept", async () => {
    const p = await startProxy({ pki, engine, profiles, defaultProfile: "test-chrome" });
    try {
      const s = await openSocket(p.port);
      s.setNoDelay(true);
      const head = connectRequest(`localhost:${origin.port}`, {
        "X-Pad": "p".repeat(2000),
        "X-PolyTLS-Upstream-Profile": "nope",
      });
      for (const ch of head) {
        s.write(ch);
        await Bun.sleep(0);
      }
      expect(await readHead(s)).toStartWith("HTTP/1.1 400");
      s.destroy();
    } finally {
      await p.stop();
    }
  });
});
