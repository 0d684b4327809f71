/**
 * Brute-force brake on proxy authentication (proxy.auth.max_failures / failure_window_ms): the
 * pure AuthBrake, then the listener answering 429 before checking credentials, logging once per burst.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as tls from "node:tls";
import { accessPolicy } from "../src/proxy/access.ts";
import { AuthBrake, type BrakeEvent } from "../src/proxy/auth-brake.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { connectRequest, httpGet, startProxy } from "./helpers/proxy-env.ts";
import { fixedProfiles, TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";
import { openSocket, readHead } from "./helpers/wait.ts";

describe("AuthBrake (pure, time passed in)", () => {
  const make = (maxEntries?: number) => {
    const events: BrakeEvent[] = [];
    const brake = new AuthBrake({
      maxFailures: 3,
      windowMs: 1000,
      ...(maxEntries ? { maxEntries } : {}),
      report: (e) => events.push(e),
    });
    return { brake, events };
  };

  test("engages at max failures, refuses until the window has passed, then reports one summary", () => {
    const { brake, events } = make();
    for (let i = 0; i < 3; i++) {
      expect(brake.retryAfterMs("1.2.3.4", 100 + i)).toBe(0);
      brake.fail("1.2.3.4", 100 + i);
    }
    expect(events).toEqual([{ kind: "engaged", client: "1.2.3.4", failures: 3, windowMs: 1000 }]);
    expect(brake.retryAfterMs("1.2.3.4", 600)).toBe(500); // window started at the first failure (100)
    for (let t = 601; t < 1100; t += 50) expect(brake.retryAfterMs("1.2.3.4", t)).toBeGreaterThan(0);
    expect(brake.retryAfterMs("5.6.7.8", 700)).toBe(0); // other IPs are not affected
    expect(events.length).toBe(1); // silence during the burst
    brake.sweep(1100);
    expect(events[1]).toEqual({
      kind: "released",
      client: "1.2.3.4",
      failures: 3,
      refused: 11,
      evicted: false,
    });
    expect(brake.retryAfterMs("1.2.3.4", 1101)).toBe(0);
    expect(brake.size).toBe(0);
  });

  test("failures below the limit expire with their window, silently", () => {
    const { brake, events } = make();
    brake.fail("a", 0);
    brake.fail("a", 10);
    brake.fail("a", 1000); // new window: counts 1
    brake.fail("a", 1001);
    expect(brake.retryAfterMs("a", 1002)).toBe(0);
    expect(events).toEqual([]);
  });

  test("the table is capped: the least recently failing IP is evicted first", () => {
    const { brake, events } = make(100);
    for (let i = 0; i < 3; i++) brake.fail("braked", i);
    for (let i = 0; i < 1000; i++) brake.fail(`10.0.${i >> 8}.${i & 255}`, 10);
    expect(brake.size).toBe(100);
    expect(events.at(-1)).toMatchObject({ kind: "released", client: "braked", evicted: true });
  });
});

describe("the listener's brake", () => {
  let pki: TestPki;
  let origin: Origin;
  const auth = (cred: string) => ({ "Proxy-Authorization": `Basic ${Buffer.from(cred).toString("base64")}` });

  beforeAll(async () => {
    pki = await makeTestPki();
    origin = await startTlsOrigin(await pki.leaf("localhost"));
  });
  afterAll(() => pki?.remove());
  afterAll(() => origin.close());

  test("429 after max failures, even for good credentials from that IP; one log line per burst; other IPs still log in", async () => {
    const MAX = 3;
    const p = await startProxy({
      pki,
      engine: new NativeEngine(),
      profiles: fixedProfiles([TEST_SPEC]),
      defaultProfile: "test-chrome",
      access: accessPolicy(["alice:pw"], []),
      listener: { authFailures: { max: MAX, windowMs: 60_000 } },
    });
    const ask = async (headers: Record<string, string>, from?: string) => {
      const s = await openSocket(p.port, from);
      s.write(connectRequest(`localhost:${origin.port}`, headers));
      const head = await readHead(s);
      s.destroy();
      return head;
    };
    try {
      expect(await ask({})).toStartWith("HTTP/1.1 407"); // no credentials: not a guess
      for (let i = 0; i < MAX; i++) expect(await ask(auth(`alice:guess${i}`))).toStartWith("HTTP/1.1 407");
      const braked: string[] = [];
      for (let i = 0; i < 20; i++) braked.push(await ask(auth(`alice:guess-more${i}`)));
      braked.push(await ask(auth("alice:pw")));
      for (const head of braked) {
        expect(head).toStartWith("HTTP/1.1 429");
        // The brake's remaining wait: the 60 s window just began.
        const retryAfter = Number(/\r\nRetry-After: (\d+)\r\n/.exec(head)?.[1]);
        expect(retryAfter).toBeGreaterThan(50);
        expect(retryAfter).toBeLessThanOrEqual(60);
      }
      // Another client IP with the right credentials gets its tunnel.
      const raw = await openSocket(p.port, "127.0.0.2");
      raw.write(connectRequest(`localhost:${origin.port}`, auth("alice:pw")));
      expect(await readHead(raw)).toStartWith("HTTP/1.1 200");
      const t = tls.connect({
        socket: raw,
        servername: "localhost",
        ca: pki.ca.certPem,
        ALPNProtocols: ["http/1.1"],
      });
      await new Promise<void>((r, j) => {
        t.once("secureConnect", r);
        t.once("error", j);
      });
      expect(await httpGet(t, "localhost", "/ok")).toContain("hello /ok");
      t.destroy();

      const recs = p.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
      const engaged = recs.filter((r) => r.msg === "proxy auth brake engaged");
      expect(engaged.length).toBe(1);
      expect(engaged[0]).toMatchObject({ level: "warn", client: "127.0.0.1", failures: MAX });
      // The 21 refused attempts wrote nothing; the 4 earlier 407s one line each (debug after the first).
      expect(recs.filter((r) => r.code === "AUTH_RATE_LIMITED").length).toBe(0);
      const rejected = recs.filter((r) => r.msg === "request rejected");
      expect(rejected.length).toBe(MAX + 1);
      expect(rejected.filter((r) => r.level !== "debug").length).toBe(1);
      for (const line of p.logs) expect(line).not.toContain("guess");
    } finally {
      await p.stop();
    }
  });
});
