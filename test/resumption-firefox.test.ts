/**
 * `session_tickets_when_resuming`: NSS (Firefox, Tor) leaves session_ticket (35) out of a
 * ClientHello that offers a TLS 1.3 session; Chromium keeps it. Through the running proxy (HTTP
 * mode, so the upstream offers the profile's own ALPN) to a real OpenSSL origin (Node.js) behind a
 * ClientHello recorder, compared with our captures of the same situation
 * (test/fixtures/hellos/README.md: Firefox ESR 153 fresh and resumed, Chromium 156 resumed).
 * OpenSSL 3.0 issues no new ticket on a resumed TLS 1.3 connection (its third connection resumes
 * with the first one's ticket), so whether a hello without session_ticket still takes the
 * server's NewSessionTicket is checked against Bun's node:tls (BoringSSL), which issues one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { isProxyError } from "../src/errors/proxy-error.ts";
import { parseClientHello } from "../src/fingerprint/clienthello.ts";
import { compareFingerprints, formatDiff } from "../src/fingerprint/compare.ts";
import { EXT } from "../src/fingerprint/extensions.ts";
import { ja4 } from "../src/fingerprint/ja4.ts";
import { type RecordedHello, startRecorder } from "../src/fingerprint/recorder.ts";
import type { ClientHelloFingerprint } from "../src/fingerprint/types.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { profileToToml } from "../src/profiles/schema.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { SessionCache } from "../src/upstream/session-cache.ts";
import { startOpensslOrigin } from "./helpers/openssl-origin.ts";
import { httpGet, type ProxyHandle, startProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";

const FIX = join(import.meta.dir, "fixtures");
const FIREFOX = "firefox-esr-153-linux-x64";
const FIREFOX_BASE = "firefox-145-macos-arm64"; // the base every Firefox and Tor built-in extends
const CHROMIUM = "chromium-156-linux-x64"; // the test fixture profile (a user profile here)
const PSK = EXT.PRE_SHARED_KEY;
const TICKET = EXT.SESSION_TICKET;
/** JA4 of our captures (test/fixtures/hellos/README.md). */
const JA4_FIREFOX_FRESH = "t13d1617h2_86a278354501_3cbfd9057e0d";
const JA4_FIREFOX_RESUMED = "t13d1617h2_86a278354501_e6dcd7ae0a9e";
const JA4_CHROMIUM_RESUMED = "t13d1518h2_8daaf6152771_e2d80978ab2e";

const captured = (file: string): ClientHelloFingerprint =>
  parseClientHello(Buffer.from(readFileSync(join(FIX, "hellos", file), "utf8").trim(), "hex"));

function userProfiles(): Record<string, unknown> {
  const fixture = parseToml(readFileSync(join(FIX, "profiles/chromium-156-linux-x64.toml"), "utf8")) as {
    profiles: Record<string, unknown>;
  };
  return {
    [CHROMIUM]: fixture.profiles[CHROMIUM],
    "chrome-nss-like": { extends: "chrome", session_tickets_when_resuming: false },
    "firefox-keeps-ticket": { extends: FIREFOX, session_tickets_when_resuming: true },
  };
}

let pki: TestPki;
let registry: ProfileRegistry;
let sessions: SessionCache;
let proxy: ProxyHandle;
/** An origin under test: its port, and per completed handshake whether it resumed and its version. */
interface Origin {
  port: number;
  conns(): { resumed: boolean; version: string }[];
  close(): Promise<void> | void;
}
let tls13: Origin;
let tls12: Origin;
let boring: Origin;

beforeAll(async () => {
  pki = await makeTestPki();
  const leaf = await pki.leaf("localhost");
  registry = new ProfileRegistry(userProfiles());
  sessions = new SessionCache();
  proxy = await startProxy({
    pki,
    engine: new NativeEngine(),
    profiles: registry,
    defaultProfile: FIREFOX,
    deps: {
      sessions,
      http: { mode: "full", keepClient: new Set(), maxConcurrentStreams: 100, maxRequestHeadBytes: 65_536 },
    },
  });
  const openssl = async (maxVersion?: "TLSv1.2") => {
    const o = await startOpensslOrigin(leaf, maxVersion ? { maxVersion } : {});
    return { port: o.port, conns: () => o.conns, close: () => o.close() };
  };
  tls13 = await openssl();
  tls12 = await openssl("TLSv1.2");
  const bun = await startTlsOrigin(leaf, { alpn: ["http/1.1"] });
  boring = {
    port: bun.port,
    conns: () => bun.accepted.map((a) => ({ resumed: a.resumed, version: "TLSv1.3" })),
    close: () => bun.close(),
  };
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await proxy?.stop();
  for (const o of [tls13, tls12, boring]) await o?.close();
});

/** The body of extension `id` in a raw ClientHello record (RFC 8446 §4.1.2), or null. */
function extensionBody(raw: Uint8Array, id: number): Buffer | null {
  const b = Buffer.from(raw);
  let at = 5 + 4 + 2 + 32; // record header, handshake header, legacy_version, random
  at += 1 + b[at]!; // legacy_session_id
  at += 2 + b.readUInt16BE(at); // cipher_suites
  at += 1 + b[at]!; // legacy_compression_methods
  const end = at + 2 + b.readUInt16BE(at);
  for (at += 2; at + 4 <= end; ) {
    const type = b.readUInt16BE(at);
    const len = b.readUInt16BE(at + 2);
    if (type === id) return b.subarray(at + 4, at + 4 + len);
    at += 4 + len;
  }
  return null;
}

/** The first PSK identity (the ticket) of a hello's pre_shared_key (RFC 8446 §4.2.11). */
function pskIdentity(h: RecordedHello): Buffer {
  const body = extensionBody(h.raw, PSK);
  if (body === null) throw new Error("no pre_shared_key");
  return body.subarray(4, 4 + body.readUInt16BE(2));
}

interface Run {
  hellos: RecordedHello[];
  resumed: boolean[];
  versions: string[];
  /** The cached session after each connection. */
  cached: (Uint8Array | null)[];
}

/** `n` connections in a row with `profile` through the proxy to `origin`, behind a fresh recorder. */
async function inARow(profile: string, origin: Origin, n: number): Promise<Run> {
  const recorder = await startRecorder(origin.port);
  const key = SessionCache.key(profile, "localhost", recorder.port);
  const before = origin.conns().length;
  const cached: (Uint8Array | null)[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = await tlsThroughProxy(proxy.port, `localhost:${recorder.port}`, {
        ca: pki.ca.certPem,
        servername: "localhost",
        headers: { "X-PolyTLS-Upstream-Profile": profile },
      });
      try {
        expect(await httpGet(t, "localhost", `/${i}`)).toStartWith("HTTP/1.1 200");
      } finally {
        t.destroy();
      }
      await recorder.waitFor(i);
      cached.push(sessions.get(key));
    }
    const conns = origin.conns().slice(before);
    return {
      hellos: recorder.hellos.slice(),
      resumed: conns.map((c) => c.resumed),
      versions: conns.map((c) => c.version),
      cached,
    };
  } finally {
    await recorder.close();
  }
}

const has = (h: RecordedHello, id: number) => h.fingerprint.extensions.includes(id);
/** Whether a serialized session (SSL_SESSION_to_bytes) carries `ticket`. */
const inside = (blob: Uint8Array, ticket: Buffer) => Buffer.from(blob).includes(ticket);
const expectSame = (actual: ClientHelloFingerprint, expected: ClientHelloFingerprint, opts = {}) =>
  expect(formatDiff(compareFingerprints(actual, expected, opts))).toBe("fingerprints match");
/** What a resumed hello must list: the fresh hello's extensions, session_ticket out if `drops`, 41 last. */
const resumedOrder = (fresh: RecordedHello, drops: boolean) => [
  ...fresh.fingerprint.extensions.filter((e) => !(drops && e === TICKET)),
  PSK,
];

describe("Firefox built-ins that resume: no session_ticket in a resumed hello", () => {
  const builtins = new ProfileRegistry();
  const nss = builtins.names().filter((n) => builtins.get(n).chain.at(-1) === FIREFOX_BASE);
  const resuming = nss.filter((n) => builtins.spec(n).pskDheKe);

  test("the knob is Firefox family data: set in the base, inherited by every Firefox and Tor built-in", () => {
    expect(registry.get(FIREFOX_BASE).sessionTicketsWhenResuming).toBe(false);
    for (const n of nss) expect([n, builtins.get(n).sessionTicketsWhenResuming]).toEqual([n, false]);
    // In the engine spec it counts only for a profile that may resume.
    for (const n of nss)
      expect([n, builtins.spec(n).sessionTicketsWhenResuming]).toEqual([n, !builtins.spec(n).pskDheKe]);
    expect(nss).toContain("tor-14.5-macos-arm64");
    expect(resuming).toContain(FIREFOX);
    expect(resuming.length).toBeGreaterThanOrEqual(8);
    expect(registry.spec("chrome").sessionTicketsWhenResuming).toBe(true);
    const shown = profileToToml(registry.get(FIREFOX));
    expect(shown).toContain("\nsession_tickets_when_resuming = false\n");
  });

  for (const name of nss) {
    test(`${name} → OpenSSL, 3 in a row: the fresh hello keeps session_ticket; the 2nd and 3rd resume without it`, async () => {
      const spec = registry.spec(name);
      const r = await inARow(name, tls13, 3);
      expect(r.versions).toEqual(["TLSv1.3", "TLSv1.3", "TLSv1.3"]);
      const [fresh, second, third] = r.hellos as [RecordedHello, RecordedHello, RecordedHello];
      if (!spec.pskDheKe) {
        // Tor, Firefox 145 (private window): never a session, session_ticket as the profile says.
        expect(r.resumed).toEqual([false, false, false]);
        expect(r.hellos.map((h) => [has(h, PSK), has(h, TICKET)])).toEqual(
          r.hellos.map(() => [false, spec.sessionTickets]),
        );
        return;
      }
      expect(r.resumed).toEqual([false, true, true]);
      expect([has(fresh, PSK), has(fresh, TICKET)]).toEqual([false, true]);
      for (const h of [second, third]) {
        expect(h.fingerprint.extensions).toEqual(resumedOrder(fresh, true));
        expectSame(h.fingerprint, fresh.fingerprint, { ignoreExtensions: [PSK, TICKET] });
      }
      // Both offer the ticket of the first connection (OpenSSL issues none on resumption).
      const [s1] = r.cached as [Uint8Array];
      expect(pskIdentity(second).length).toBeGreaterThan(16);
      expect(inside(s1, pskIdentity(second))).toBe(true);
      expect(pskIdentity(third)).toEqual(pskIdentity(second));
    });
  }

  test(`${FIREFOX} → BoringSSL (Bun node:tls), 3 in a row: a resumed hello without session_ticket still takes the server's NewSessionTicket, and the next connection offers it`, async () => {
    const r = await inARow(FIREFOX, boring, 3);
    expect(r.resumed).toEqual([false, true, true]);
    const [, second, third] = r.hellos as [RecordedHello, RecordedHello, RecordedHello];
    expect([second, third].map((h) => [has(h, TICKET), has(h, PSK)])).toEqual([
      [false, true],
      [false, true],
    ]);
    const [s1, s2, s3] = r.cached as [Uint8Array, Uint8Array, Uint8Array];
    expect(s2).not.toBe(s1); // a new session from the resumed 2nd connection
    expect(s3).not.toBe(s2);
    expect(inside(s1, pskIdentity(second))).toBe(true);
    expect(inside(s2, pskIdentity(third))).toBe(true);
    expect(pskIdentity(third)).not.toEqual(pskIdentity(second));
  });

  test(`${FIREFOX}: the fresh and resumed hellos are real Firefox ESR 153's (firefox-h1 cap-conn1 and cap-conn2), component by component`, async () => {
    const capFresh = captured("firefox-esr-153-h1-conn1-fresh.hello.hex");
    const capResumed = captured("firefox-esr-153-h1-conn2-resumed.hello.hex");
    expect(capFresh.extensions).toContain(TICKET);
    expect(capResumed.extensions).not.toContain(TICKET);
    expect(ja4(capFresh)).toBe(JA4_FIREFOX_FRESH);
    expect(ja4(capResumed)).toBe(JA4_FIREFOX_RESUMED);
    const r = await inARow(FIREFOX, tls13, 3);
    expect(r.resumed).toEqual([false, true, true]);
    const [fresh, ...resumed] = r.hellos as [RecordedHello, ...RecordedHello[]];
    expectSame(fresh.fingerprint, capFresh);
    expect(ja4(fresh.fingerprint)).toBe(JA4_FIREFOX_FRESH);
    for (const h of resumed) {
      expectSame(h.fingerprint, capResumed);
      expect(h.fingerprint.extensions).toEqual(capResumed.extensions);
      expect(ja4(h.fingerprint)).toBe(JA4_FIREFOX_RESUMED);
    }
  });

  test("a TLS 1.2 session keeps session_ticket: its ticket travels there (OpenSSL origin stopping at TLS 1.2)", async () => {
    const r = await inARow(FIREFOX, tls12, 3);
    expect(r.versions).toEqual(["TLSv1.2", "TLSv1.2", "TLSv1.2"]);
    expect(r.resumed).toEqual([false, true, true]);
    const [fresh, ...again] = r.hellos as [RecordedHello, ...RecordedHello[]];
    expect(extensionBody(fresh.raw, TICKET)?.length).toBe(0);
    for (const h of again) {
      expect(has(h, PSK)).toBe(false);
      expect(h.fingerprint.extensions).toEqual(fresh.fingerprint.extensions);
      expect(extensionBody(h.raw, TICKET)?.length).toBeGreaterThan(16);
    }
  });
});

describe("Chromium keeps session_ticket when resuming", () => {
  test(`${CHROMIUM} (fixture profile): the resumed hello is real Chromium 156's (chromium-h1/cap-conn3), session_ticket included`, async () => {
    const cap = captured("chromium-156-h1-conn3-resumed.hello.hex");
    expect([cap.extensions.includes(TICKET), cap.extensions.includes(PSK)]).toEqual([true, true]);
    expect(ja4(cap)).toBe(JA4_CHROMIUM_RESUMED);
    const r = await inARow(CHROMIUM, tls13, 3);
    expect(r.resumed).toEqual([false, true, true]);
    for (const h of r.hellos.slice(1)) {
      expect([has(h, TICKET), h.fingerprint.extensions.at(-1)]).toEqual([true, PSK]);
      expectSame(h.fingerprint, cap, { ignoreExtensionOrder: true });
      expect(ja4(h.fingerprint)).toBe(JA4_CHROMIUM_RESUMED);
    }
  });

  const chromiumFamilies = new Set(["chrome", "edge", "brave", "opera"]);
  const builtins = new ProfileRegistry();
  const chromium = builtins
    .names()
    .filter((n) => chromiumFamilies.has(builtins.get(n).metadata?.family ?? "") && builtins.spec(n).pskDheKe);
  test.each(chromium)("%s: the resumed hello keeps session_ticket", async (name) => {
    expect(registry.spec(name).sessionTicketsWhenResuming).toBe(true);
    const r = await inARow(name, tls13, 2);
    expect(r.resumed).toEqual([false, true]);
    const [fresh, resumed] = r.hellos as [RecordedHello, RecordedHello];
    expect(has(fresh, TICKET)).toBe(true);
    expect(has(resumed, TICKET)).toBe(true);
    // Padding (21) follows each hello's own length (RFC 7685), so it is left out.
    const set = (ids: number[]) => ids.filter((e) => e !== EXT.PADDING).sort();
    expect(set(resumed.fingerprint.extensions)).toEqual(set(resumedOrder(fresh, false)));
  });
});

describe("the knob is data, not a Firefox special case", () => {
  test("chrome with session_tickets_when_resuming = false drops session_ticket when resuming; Firefox with true keeps it", async () => {
    const chrome = await inARow("chrome-nss-like", tls13, 2);
    expect(chrome.resumed).toEqual([false, true]);
    expect(chrome.hellos.map((h) => [has(h, TICKET), has(h, PSK)])).toEqual([
      [true, false],
      [false, true],
    ]);
    const firefox = await inARow("firefox-keeps-ticket", tls13, 2);
    expect(firefox.resumed).toEqual([false, true]);
    const [fresh, resumed] = firefox.hellos as [RecordedHello, RecordedHello];
    expect(resumed.fingerprint.extensions).toEqual(resumedOrder(fresh, false));
  });

  test("a value that is not a boolean is refused with its key path", () => {
    let err: unknown;
    try {
      new ProfileRegistry({ x: { extends: "chrome", session_tickets_when_resuming: "no" } });
    } catch (e) {
      err = e;
    }
    expect(isProxyError(err, "CONFIG_INVALID")).toBe(true);
    expect(String(err)).toContain('profiles."x".session_tickets_when_resuming: expected a boolean');
  });
});
