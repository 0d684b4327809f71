/**
 * Profile fidelity on the wire, through the running proxy: the ClientHello the proxy sends
 * upstream (recorded between the proxy and a TLS origin) against the real browsers' captures.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type CompareOptions, compareFingerprints } from "../src/fingerprint/compare.ts";
import { EXT } from "../src/fingerprint/extensions.ts";
import { withoutGrease } from "../src/fingerprint/grease.ts";
import { ja3SortedString, ja3String } from "../src/fingerprint/ja3.ts";
import { ja4 } from "../src/fingerprint/ja4.ts";
import { peetprint } from "../src/fingerprint/peetprint.ts";
import { type ClientHelloFingerprint, GREASE } from "../src/fingerprint/types.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { type BuiltinName, type Capture, loadCapture } from "./helpers/wire-captures.ts";
import { helloThroughProxy, startWireEnv, tunnelRecord, type WireEnv } from "./helpers/wire-env.ts";

const PSK = EXT.PRE_SHARED_KEY;
const CONNECTIONS = 4; // per profile: enough to see Chrome permute, and resumption after the first

interface Case {
  name: BuiltinName;
  /** Chrome shuffles its extensions per connection. */
  permutes: boolean;
  /** The profile offers TLS 1.3 resumption (psk_key_exchange_modes), so 41 appears once cached. */
  resumes: boolean;
}

const CASES: Case[] = [
  { name: "chrome-143-macos-arm64", permutes: true, resumes: true },
  { name: "firefox-145-macos-arm64", permutes: false, resumes: false },
  { name: "safari-26.2-macos-arm64", permutes: false, resumes: true },
];

let env: WireEnv;
const hellos = new Map<BuiltinName, ClientHelloFingerprint[]>();
const clientPorts = new Map<BuiltinName, number[]>();

beforeAll(async () => {
  env = await startWireEnv();
  for (const c of CASES) {
    const recorder = await env.recorder(); // own port: the first connection has no cached session
    const list: ClientHelloFingerprint[] = [];
    const ports: number[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const { hello, clientAlpn, clientPort } = await helloThroughProxy(env.proxy, recorder, {
        profile: c.name,
      });
      expect(clientAlpn).toBe("h2");
      list.push(hello.fingerprint);
      ports.push(clientPort);
    }
    hellos.set(c.name, list);
    clientPorts.set(c.name, ports);
  }
});

afterAll(async () => {
  await env?.close();
});

const has = (fp: ClientHelloFingerprint, id: number) => fp.extensions.includes(id);
const without = (list: readonly number[], id: number) => list.filter((e) => e !== id);
const withoutPsk = (fp: ClientHelloFingerprint): ClientHelloFingerprint => ({
  ...fp,
  extensions: without(fp.extensions, PSK),
});

/** Compares a recorded hello with the capture; 41 is ignored when only one side carries it. */
function diffs(actual: ClientHelloFingerprint, capture: Capture, c: Case): string[] {
  const opts: CompareOptions = { ignoreExtensionOrder: c.permutes };
  if (has(actual, PSK) !== has(capture.fp, PSK)) opts.ignoreExtensions = [PSK];
  return compareFingerprints(actual, capture.fp, opts).diffs;
}

/** JA3 with the extension field sorted numerically, from the capture's own string. */
function sortedJa3(ja3: string, drop: number[] = []): string {
  const f = ja3.split(",");
  f[2] = f[2]!
    .split("-")
    .map(Number)
    .filter((e) => !drop.includes(e))
    .sort((a, b) => a - b)
    .join("-");
  return f.join(",");
}

/** The capture's peetprint without one extension in its (string-sorted) extension field. */
function peetprintWithout(pp: string, id: number): string {
  const f = pp.split("|");
  f[7] = f[7]!
    .split("-")
    .filter((e) => e !== String(id))
    .join("-");
  return f.join("|");
}

describe("every built-in profile's upstream hello equals its browser capture", () => {
  for (const c of CASES) {
    describe(c.name, () => {
      const capture = loadCapture(c.name);
      const get = () => hellos.get(c.name)!;

      test("first connection: every component (41 is per connection and absent)", () => {
        const first = get()[0]!;
        expect(diffs(first, capture, c)).toEqual([]);
        expect(has(first, PSK)).toBe(false);
        expect(first.legacyVersion).toBe(capture.fp.legacyVersion);
        expect(first.keyShares).toEqual(capture.fp.keyShares); // groups and key lengths (ML-KEM)
        expect(first.sni).toBe("localhost");
      });

      test("second connection: pre_shared_key exactly when the profile resumes, last", () => {
        const second = get()[1]!;
        expect(has(second, PSK)).toBe(c.resumes);
        if (c.resumes) expect(second.extensions.at(-1)).toBe(PSK);
        expect(diffs(second, capture, c)).toEqual([]);
        // Every later connection resumes too (or never does), and the origin accepts the PSK.
        for (const h of get().slice(1)) expect(has(h, PSK)).toBe(c.resumes);
      });

      test("the origin resumes the sessions the proxy offers", async () => {
        const records = await Promise.all(clientPorts.get(c.name)!.map((p) => tunnelRecord(env.logs, p)));
        expect(records.map((r) => r.resumed)).toEqual(get().map((h) => has(h, PSK)));
        expect(records.map((r) => r.profile)).toEqual(get().map(() => c.name));
      });

      test("ja3, ja4 and peetprint equal the capture's", () => {
        const [first, second] = get() as [ClientHelloFingerprint, ClientHelloFingerprint];
        const same = [first, second].find((h) => has(h, PSK) === has(capture.fp, PSK))!;
        expect(ja4(same)).toBe(capture.json.tls.ja4);
        expect(peetprint(same)).toBe(capture.json.tls.peetprint);
        if (c.permutes) expect(ja3SortedString(same)).toBe(sortedJa3(capture.json.tls.ja3));
        else expect(ja3String(same)).toBe(capture.json.tls.ja3);
      });
    });
  }

  test("chrome's first hello: the capture's ja4 with one extension fewer, no 41 in peetprint and ja3", () => {
    const capture = loadCapture("chrome-143-macos-arm64");
    const first = hellos.get(capture.name)![0]!;
    const [a, b] = capture.json.tls.ja4.split("_") as [string, string, string];
    const extCount = Number(a.slice(6, 8)); // JA4 a: t, version(2), d/i, ciphers(2), extensions(2), alpn(2)
    const fewer = `${a.slice(0, 6)}${String(extCount - 1).padStart(2, "0")}${a.slice(8)}`;
    const c = ja4(withoutPsk(capture.fp)).split("_")[2];
    expect(ja4(first)).toBe(`${fewer}_${b}_${c}`);
    expect(peetprint(first)).toBe(peetprintWithout(capture.json.tls.peetprint, PSK));
    expect(ja3SortedString(first)).toBe(sortedJa3(capture.json.tls.ja3, [PSK]));
  });
});

describe("extension order", () => {
  test("chrome permutes per connection; GREASE stays first and last before 41", () => {
    const list = hellos.get("chrome-143-macos-arm64")!;
    const orders = new Set(list.map((h) => withoutGrease(without(h.extensions, PSK)).join(",")));
    expect(orders.size).toBeGreaterThanOrEqual(2);
    for (const h of list) {
      const exts = without(h.extensions, PSK);
      expect(exts.filter((e) => e === GREASE)).toHaveLength(2);
      expect(exts[0]).toBe(GREASE);
      expect(exts.at(-1)).toBe(GREASE);
    }
  });

  for (const name of ["firefox-145-macos-arm64", "safari-26.2-macos-arm64"] as const) {
    test(`${name}: the capture's order on every connection`, () => {
      const want = without(loadCapture(name).fp.extensions, PSK);
      for (const h of hellos.get(name)!) expect(without(h.extensions, PSK)).toEqual(want);
    });
  }
});

describe("protocol coherence", () => {
  for (const c of CASES) {
    test(`${c.name}: an http/1.1 client gets an upstream hello offering only http/1.1, without ALPS`, async () => {
      const recorder = await env.recorder();
      const { hello, clientAlpn, clientPort } = await helloThroughProxy(env.proxy, recorder, {
        profile: c.name,
        alpn: ["http/1.1"],
      });
      expect(clientAlpn).toBe("http/1.1");
      const fp = hello.fingerprint;
      expect(fp.alpn).toEqual(["http/1.1"]);
      expect(fp.alps).toBeNull();
      expect(has(fp, EXT.ALPS)).toBe(false);
      expect(has(fp, EXT.ALPS_OLD)).toBe(false);
      // Documented deviation: only ALPN and ALPS differ from the browser's hello.
      const capture = loadCapture(c.name);
      const ignore = [EXT.ALPN, EXT.ALPS, PSK];
      const rest = compareFingerprints(fp, capture.fp, {
        ignoreExtensionOrder: c.permutes,
        ignoreExtensions: ignore,
      });
      expect(rest.diffs).toEqual([]);
      const record = await tunnelRecord(env.logs, clientPort);
      expect(record.upstreamAlpn).toBe("http/1.1");
      expect(record.errorCode).toBeNull();
    });
  }

  test("the h2 client's tunnels logged h2 on both sides", async () => {
    const records = env.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.msg === "tunnel closed" && r.clientAlpn === "h2");
    expect(records.length).toBeGreaterThanOrEqual(CASES.length * CONNECTIONS);
    for (const r of records) {
      expect(r.upstreamAlpn).toBe("h2");
      expect(r.errorCode).toBeNull();
    }
  });
});

describe("per-request profile selection", () => {
  /** One fresh tunnel; returns the profile logged for it and whether its hello is `expected`'s. */
  async function select(proxy: WireEnv["proxy"], logs: string[], header: string | undefined) {
    const recorder = await env.recorder();
    const { hello, clientPort } = await helloThroughProxy(
      proxy,
      recorder,
      header === undefined ? {} : { profile: header },
    );
    const record = await tunnelRecord(logs, clientPort);
    return { profile: record.profile, fp: hello.fingerprint };
  }

  const expectBrowser = (fp: ClientHelloFingerprint, name: BuiltinName) => {
    const c = CASES.find((k) => k.name === name)!;
    expect(diffs(fp, loadCapture(name), c)).toEqual([]);
  };

  // Every alias of the catalogue: profiles-catalogue.test.ts.
  const aliases: [string | undefined, BuiltinName][] = [
    ["firefox-145-macos-arm64", "firefox-145-macos-arm64"],
    ["safari", "safari-26.2-macos-arm64"],
    ["chrome-143-macos-arm64", "chrome-143-macos-arm64"],
    ["default", "chrome-143-macos-arm64"], // proxy.upstream.default_profile's default
    [undefined, "chrome-143-macos-arm64"],
  ];
  for (const [header, name] of aliases) {
    test(`${header === undefined ? "no header" : `header "${header}"`} selects ${name}`, async () => {
      const { profile, fp } = await select(env.proxy, env.logs, header);
      expect(profile).toBe(name);
      expectBrowser(fp, name);
    });
  }

  test('"default" and no header follow proxy.upstream.default_profile', async () => {
    const other = await env.startAnotherProxy("safari");
    for (const header of ["default", undefined]) {
      const { profile, fp } = await select(other.proxy, other.logs, header);
      expect(profile).toBe("safari-26.2-macos-arm64");
      expectBrowser(fp, "safari-26.2-macos-arm64");
    }
    // The explicit header still wins over the default.
    const { profile } = await select(other.proxy, other.logs, "firefox-145-macos-arm64");
    expect(profile).toBe("firefox-145-macos-arm64");
  });

  test("the cases above are built-in profiles (the whole catalogue: profiles-catalogue.test.ts)", () => {
    expect(new ProfileRegistry().names()).toEqual(expect.arrayContaining(CASES.map((c) => c.name)));
  });
});
