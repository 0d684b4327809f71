/**
 * Upstream session resumption through the running proxy (issue 8): every built-in profile makes
 * three connections in a row to origins on three TLS stacks (OpenSSL via Node.js, the engine's own
 * server, Bun's BoringSSL node:tls). A profile that sends psk_key_exchange_modes resumes; one that
 * does not never offers pre_shared_key (RFC 8446 §4.2.9). Refused sessions leave the cache.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isProxyError } from "../src/errors/proxy-error.ts";
import type { ClientHelloFingerprint } from "../src/fingerprint/types.ts";
import type { Leaf } from "../src/pki/leaf.ts";
import { BUILTIN_PROFILES } from "../src/profiles/builtin.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { SessionCache } from "../src/upstream/session-cache.ts";
import { engineGet } from "./helpers/engine-client.ts";
import { startEngineServer } from "./helpers/engine-origin.ts";
import { startHelloGate } from "./helpers/hello-gate.ts";
import { nodeOpensslVersion, type OpensslOrigin, startOpensslOrigin } from "./helpers/openssl-origin.ts";
import { httpGet, type ProxyHandle, startProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";

const PROFILE_HEADER = "X-PolyTLS-Upstream-Profile";
/** Extension code points (IANA TLS ExtensionType values). */
const PRE_SHARED_KEY = 41;
const PSK_KEY_EXCHANGE_MODES = 45;

/** A session cache that also remembers which sessions the proxy dropped. */
class WatchedCache extends SessionCache {
  readonly dropped: string[] = [];
  override drop(key: string, session: Uint8Array | null): void {
    if (session !== null && this.get(key) === session) this.dropped.push(key);
    super.drop(key, session);
  }
}

interface OriginUnderTest {
  port: number;
  /** Whether each completed handshake so far resumed a session, as the server saw it. */
  resumed(): boolean[];
  close(): Promise<void> | void;
}

let pki: TestPki;
let leaf: Leaf;
let engine: NativeEngine;
let registry: ProfileRegistry;
let sessions: WatchedCache;
let proxy: ProxyHandle;
let openssl: OpensslOrigin;
const origins = new Map<string, OriginUnderTest>();

beforeAll(async () => {
  pki = await makeTestPki();
  leaf = await pki.leaf("localhost");
  engine = new NativeEngine();
  registry = new ProfileRegistry();
  sessions = new WatchedCache();
  proxy = await startProxy({
    pki,
    engine,
    profiles: registry,
    defaultProfile: "chrome-143-macos-arm64",
    deps: { sessions },
  });
  openssl = await startOpensslOrigin(leaf);
  origins.set(`OpenSSL ${nodeOpensslVersion()} (Node.js)`, {
    port: openssl.port,
    resumed: () => openssl.conns.map((c) => c.resumed),
    close: () => openssl.close(),
  });
  const own = await startEngineServer(engine, leaf, ["http/1.1"], () => "hello engine");
  origins.set("the engine's server", {
    port: own.port,
    resumed: () => own.accepted.map((i) => i.resumed),
    close: () => own.close(),
  });
  const bun = await startTlsOrigin(leaf, { alpn: ["http/1.1"] });
  origins.set("Bun node:tls (BoringSSL)", {
    port: bun.port,
    resumed: () => bun.accepted.map((a) => a.resumed),
    close: () => bun.close(),
  });
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await proxy.stop();
  for (const o of origins.values()) await o.close();
});

/** One HTTP/1.1 exchange through the proxy to localhost:port; resolves with the response text. */
async function viaProxy(profile: string, port: number, path = "/"): Promise<string> {
  const t = await tlsThroughProxy(proxy.port, `localhost:${port}`, {
    ca: pki.ca.certPem,
    servername: "localhost",
    headers: { [PROFILE_HEADER]: profile },
  });
  try {
    return await httpGet(t, "localhost", path).catch((e: unknown) => `failed: ${String(e)}`);
  } finally {
    t.destroy();
  }
}

/** Runs `n` connections in a row through a fresh gate (a fresh session-cache key). */
async function inARow(profile: string, origin: OriginUnderTest, n: number) {
  const gate = await startHelloGate(origin.port);
  const before = origin.resumed().length;
  const responses: string[] = [];
  try {
    for (let i = 0; i < n; i++) responses.push(await viaProxy(profile, gate.port, `/${i}`));
  } finally {
    await gate.close();
  }
  return { responses, hellos: gate.hellos, resumed: origin.resumed().slice(before), gate };
}

const offersPsk = (h: ClientHelloFingerprint) => h.extensions.includes(PRE_SHARED_KEY);

describe("three connections in a row through the proxy, every built-in profile", () => {
  test("the built-in list is the registry's", () => {
    expect(registry.names()).toEqual(BUILTIN_PROFILES.map((p) => p.name).sort());
    expect(registry.names().length).toBeGreaterThanOrEqual(3);
  });

  for (const { name } of BUILTIN_PROFILES) {
    for (const originName of ["OpenSSL", "the engine's server", "Bun node:tls"]) {
      test(`${name} → ${originName}: all succeed; resumes exactly when the profile sends psk_key_exchange_modes`, async () => {
        const [, origin] = [...origins].find(([k]) => k.startsWith(originName))!;
        const spec = registry.spec(name);
        const r = await inARow(name, origin, 3);
        expect(r.responses.map((t) => t.startsWith("HTTP/1.1 200 OK"))).toEqual([true, true, true]);
        expect(r.hellos.length).toBe(3);
        expect(r.resumed.length).toBe(3);
        if (spec.pskDheKe) {
          // A browser that resumes: the 2nd and 3rd hellos offer the session, last (RFC 8446 §4.2.11).
          expect(r.hellos.map(offersPsk)).toEqual([false, true, true]);
          for (const h of r.hellos.slice(1)) {
            expect(h.extensions.at(-1)).toBe(PRE_SHARED_KEY);
            expect(h.extensions).toContain(PSK_KEY_EXCHANGE_MODES);
          }
          expect(r.resumed).toEqual([false, true, true]);
        } else {
          // Firefox (private window): never pre_shared_key, never psk_key_exchange_modes.
          expect(r.hellos.map(offersPsk)).toEqual([false, false, false]);
          expect(r.hellos.some((h) => h.extensions.includes(PSK_KEY_EXCHANGE_MODES))).toBe(false);
          expect(r.resumed).toEqual([false, false, false]);
          expect(sessions.get(SessionCache.key(name, "localhost", r.gate.port))).toBeNull();
        }
      });
    }
  }
});

describe("a session the server refuses leaves the cache", () => {
  const resumingProfile = () => {
    const name = registry.names().find((n) => registry.spec(n).pskDheKe);
    if (name === undefined) throw new Error("no built-in profile resumes");
    return name;
  };

  test("new ticket keys on the OpenSSL origin: the stale session gets a full handshake, is dropped, and the new ticket resumes", async () => {
    const profile = resumingProfile();
    const gate = await startHelloGate(openssl.port);
    const key = SessionCache.key(profile, "localhost", gate.port);
    const before = openssl.conns.length;
    try {
      const ok = (t: string) => expect(t.startsWith("HTTP/1.1 200 OK")).toBe(true);
      ok(await viaProxy(profile, gate.port, "/1"));
      ok(await viaProxy(profile, gate.port, "/2"));
      await openssl.rotateTicketKeys();
      ok(await viaProxy(profile, gate.port, "/3")); // offers the now undecryptable ticket
      expect(sessions.dropped.filter((k) => k === key).length).toBe(1);
      ok(await viaProxy(profile, gate.port, "/4"));
      expect(gate.hellos.map(offersPsk)).toEqual([false, true, true, true]);
      expect(openssl.conns.slice(before).map((c) => c.resumed)).toEqual([false, true, false, true]);
    } finally {
      await gate.close();
    }
  });

  test("a handshake aborted on a resumption attempt drops the session: the next connection succeeds with a full handshake", async () => {
    const profile = resumingProfile();
    const gate = await startHelloGate(openssl.port);
    const key = SessionCache.key(profile, "localhost", gate.port);
    const before = openssl.conns.length;
    try {
      expect(await viaProxy(profile, gate.port, "/1")).toStartWith("HTTP/1.1 200 OK");
      expect(sessions.get(key)).not.toBeNull();
      gate.refuse = offersPsk; // a strict server's abort: fatal handshake_failure alert
      expect(await viaProxy(profile, gate.port, "/2")).not.toStartWith("HTTP/1.1 200 OK");
      expect(sessions.get(key)).toBeNull();
      // The reason names the alert once, without stacked prefixes.
      const reason = proxy.logs
        .map((l) => JSON.parse(l) as { msg?: string; reason?: string })
        .filter((l) => l.msg === "tunnel error")
        .at(-1)?.reason;
      expect(reason).toContain("received alert handshake_failure");
      expect(reason).not.toMatch(/handshake: handshake|unknown error/);
      expect(await viaProxy(profile, gate.port, "/3")).toStartWith("HTTP/1.1 200 OK");
      gate.refuse = () => false;
      expect(await viaProxy(profile, gate.port, "/4")).toStartWith("HTTP/1.1 200 OK");
      expect(gate.hellos.map(offersPsk)).toEqual([false, true, false, true]);
      expect(openssl.conns.slice(before).map((c) => c.resumed)).toEqual([false, false, true]);
    } finally {
      gate.refuse = () => false;
      await gate.close();
    }
  });
});

describe("a ClientHello that breaks RFC 8446 is refused", () => {
  function configError(user: Record<string, unknown>): string {
    try {
      new ProfileRegistry(user);
    } catch (err) {
      expect(isProxyError(err, "CONFIG_INVALID")).toBe(true);
      return (err as Error).message;
    }
    throw new Error("expected CONFIG_INVALID");
  }
  const firefoxOrder = () => [...(registry.get("firefox-145-macos-arm64").extensionOrder ?? [])];

  test("profile validation names the key", () => {
    const middle = firefoxOrder();
    middle.splice(2, 0, "pre_shared_key");
    const message = configError({
      middle: { extends: "safari", extension_order: [...middle, "psk_key_exchange_modes"] },
      nomodes: { extends: "firefox-145-macos-arm64", extension_order: [...firefoxOrder(), "pre_shared_key"] },
      shares: { extends: "chrome", key_shares: ["secp521r1"] },
      tls12: { extends: "firefox-145-macos-arm64", max_version: "1.2", psk_dhe_ke: true },
      noversions: {
        extends: "firefox-145-macos-arm64",
        extension_order: firefoxOrder().filter((e) => e !== "supported_versions"),
      },
    });
    expect(message).toContain(
      'profiles."middle".extension_order[2]: pre_shared_key must be the last extension',
    );
    expect(message).toContain('profiles."nomodes".extension_order[15]: pre_shared_key');
    expect(message).toContain("psk_key_exchange_modes");
    expect(message).toContain('profiles."shares".key_shares[0]: "secp521r1" is not in groups');
    expect(message).toContain('profiles."tls12".psk_dhe_ke: needs max_version "1.3"');
    expect(message).toContain('profiles."noversions".extension_order: missing "supported_versions"');
  });

  test("the engine refuses a raw spec that bypassed validation, naming the knob", () => {
    const base = registry.spec("firefox-145-macos-arm64");
    const refused = (patch: Record<string, unknown>): string => {
      try {
        engine.createConnector({ ...base, ...patch, name: "raw" });
      } catch (err) {
        expect(isProxyError(err, "TLS_CONFIG")).toBe(true);
        return (err as Error).message;
      }
      throw new Error("expected TLS_CONFIG");
    };
    const order = base.extensionOrder ?? [];
    expect(refused({ pskDheKe: true, extensionOrder: [0, PRE_SHARED_KEY, ...order.slice(1)] })).toContain(
      "extension_order: pre_shared_key (41) must be last",
    );
    expect(refused({ extensionOrder: [...order, PRE_SHARED_KEY] })).toContain(
      "extension_order: pre_shared_key (41) without psk_key_exchange_modes",
    );
    expect(refused({ keyShares: [29, 30] })).toContain("key_shares: 30 is not in groups");
    expect(refused({ keyShares: [29, 29] })).toContain("key_shares: 29 appears twice");
    expect(refused({ keyShares: [29, 256] })).toContain("key_shares: 256");
    expect(refused({ ciphers: base.ciphers.filter((c) => c >> 8 !== 0x13) })).toContain("ciphers:");
    expect(refused({ extensionOrder: order.filter((e) => e !== 43) })).toContain(
      "extension_order: supported_versions (43)",
    );
  });

  test("a connector without psk_key_exchange_modes keeps no session and refuses one passed in", async () => {
    const bun = origins.get("Bun node:tls (BoringSSL)")!;
    const verify = { verify: true, verifyHostname: true, caFile: pki.caCertPath };
    using chrome = engine.createConnector(registry.spec("chrome"));
    using firefox = engine.createConnector(registry.spec("firefox-145-macos-arm64"));
    const c = await engineGet(chrome, bun.port, { host: "localhost", alpn: ["http/1.1"], verify });
    const f = await engineGet(firefox, bun.port, { host: "localhost", alpn: ["http/1.1"], verify });
    expect(c.sessions.length).toBeGreaterThan(0);
    expect(f.sessions.length).toBe(0);
    let err: unknown;
    try {
      firefox.connect({ host: "localhost", verify, session: c.sessions.at(-1)! });
    } catch (e) {
      err = e;
    }
    expect(isProxyError(err, "CONFIG_INVALID")).toBe(true);
    expect(String(err)).toContain("psk_dhe_ke");
  });
});
