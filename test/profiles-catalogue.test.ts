/**
 * The built-in catalogue against its captures. Through the running proxy in the full HTTP mode
 * (the default), curl (a client that is not ours) asks a node:http2 origin (not ours) for a page
 * with each profile; a recorder between the proxy and the origin keeps the ClientHellos of a fresh
 * and a repeat connection, compared component by component with the profile's own capture. The
 * HTTP/2 start and the navigation's header order are checked with `polytls fingerprint`'s probe.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { compareFingerprints } from "../src/fingerprint/compare.ts";
import { EXT } from "../src/fingerprint/extensions.ts";
import { SITUATIONAL_HEADERS } from "../src/fingerprint/h2-compare.ts";
import { summarizeH2 } from "../src/fingerprint/h2-summary.ts";
import { ja3SortedString } from "../src/fingerprint/ja3.ts";
import { ja4r } from "../src/fingerprint/ja4.ts";
import { probeProfileWire } from "../src/fingerprint/probe.ts";
import { type RecordedHello, type Recorder, startRecorder } from "../src/fingerprint/recorder.ts";
import type { ClientHelloFingerprint } from "../src/fingerprint/types.ts";
import { BUILTIN_ALIASES } from "../src/profiles/builtin.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import {
  asResumed,
  CATALOGUE,
  type CatalogueCapture,
  EXPECTED_ALIASES,
  loadAnchorOrders,
  loadCatalogueCapture,
  paddingFollowsLength,
} from "./helpers/catalogue.ts";
import { curlThroughProxy, type ProxyHandle, startProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";

const PSK = EXT.PRE_SHARED_KEY;
const PROFILE_HEADER = "X-PolyTLS-Upstream-Profile";
const registry = new ProfileRegistry();
const engine = new NativeEngine();
const NAMES = registry.names();

interface Seen {
  version: string;
  raw: string[];
}

let pki: TestPki;
let proxy: ProxyHandle;
let originPort = 0;
let closeOrigin: () => void = () => {};
const seen: Seen[] = [];
const recorders: Recorder[] = [];
/** Per profile: the fresh and the repeat hello, and what the origin saw for the first request. */
const wire = new Map<string, { hellos: RecordedHello[]; first: Seen }>();

/**
 * Headers a capture lacks because of how its page load happened, per profile, with the reason
 * (on top of SITUATIONAL_HEADERS: a reload's cache-control, cookies, referer).
 */
const CAPTURE_CIRCUMSTANCES: Readonly<Record<string, ReadonlyMap<string, string>>> = {
  "firefox-esr-153-linux-x64": new Map([
    ["sec-fetch-user", "the captured navigation came from the command line, without user activation"],
  ]),
};

function curl(profile: string, port: number): Promise<{ code: number; out: string; err: string }> {
  return curlThroughProxy(proxy.port, pki.caCertPath, [
    "--http2",
    "--proxy-header",
    `${PROFILE_HEADER}: ${profile}`,
    `https://localhost:${port}/`,
  ]);
}

/** One request with `profile` through the proxy to `recorder`; its hello and what the origin saw. */
async function through(profile: string, recorder: Recorder) {
  const index = recorder.hellos.length;
  const before = seen.length;
  const r = await curl(profile, recorder.port);
  expect(`${profile}: ${r.err}${r.out}`).toBe(`${profile}: ok`);
  const hello = await recorder.waitFor(index);
  return { hello, seen: seen[before]! };
}

beforeAll(async () => {
  pki = await makeTestPki();
  const leaf = await pki.leaf("localhost");
  const origin = http2.createSecureServer(
    { key: leaf.keyPem, cert: leaf.chainPem, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] },
    (req, res) => {
      seen.push({ version: req.httpVersion, raw: req.rawHeaders });
      res.end("ok");
    },
  );
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  originPort = (origin.address() as AddressInfo).port;
  closeOrigin = () => origin.close();
  proxy = await startProxy({
    pki,
    engine,
    profiles: registry,
    defaultProfile: "chrome-143-macos-arm64",
    deps: {
      http: { mode: "full", keepClient: new Set(), maxConcurrentStreams: 100, maxRequestHeadBytes: 65_536 },
    },
  });
  for (const name of NAMES) {
    const recorder = await startRecorder(originPort); // own port: the first connection has no session
    recorders.push(recorder);
    const a = await through(name, recorder);
    const b = await through(name, recorder);
    wire.set(name, { hellos: [a.hello, b.hello], first: a.seen });
  }
}, 60_000);
afterAll(() => pki?.remove());

afterAll(async () => {
  await proxy?.stop();
  for (const r of recorders) await r.close();
  closeOrigin();
});

const has = (fp: ClientHelloFingerprint, id: number) => fp.extensions.includes(id);

/** Sorted JA3 extension field, `drop` removed (Chrome permutes its extensions). */
function sortedJa3(ja3: string, drop: number[] = []): string {
  const f = ja3.split(",");
  f[2] = (f[2] ?? "")
    .split("-")
    .map(Number)
    .filter((e) => !drop.includes(e))
    .sort((a, b) => a - b)
    .join("-");
  return f.join(",");
}

const hexId = (id: Uint8Array | readonly number[]) => Buffer.from(id).toString("hex");

/**
 * Every TLS component of `hello` against the capture. 41 is per connection, compared apart.
 * Padding (21) follows the hello's own length (RFC 7685 §4 as BoringSSL and Apple TLS apply it: a
 * 256..511-byte hello is padded to 512), and a capture's length depends on its host name: when
 * only one side has it, the recorded hello must obey the rule (exactly 512 bytes with it, at least
 * 512 without it).
 * trust_anchors IDs are compared by content (compareFingerprints): in wire order, or as a set for
 * a profile that shuffles them per process (`shuffledAnchors`), as Chrome 152-153 and Opera 136 do.
 */
function tlsDiffs(
  hello: RecordedHello,
  cap: CatalogueCapture,
  permutes: boolean,
  shuffledAnchors = false,
): string[] {
  const actual = hello.fingerprint;
  if (cap.fp !== null) {
    const ignore: number[] = has(actual, PSK) !== has(cap.fp, PSK) ? [PSK] : [];
    if (paddingFollowsLength(hello.raw.length, has(actual, EXT.PADDING), has(cap.fp, EXT.PADDING)))
      ignore.push(EXT.PADDING);
    const d = compareFingerprints(actual, cap.fp, {
      ignoreExtensionOrder: permutes,
      ignoreExtensions: ignore,
      trustAnchorsAsSet: shuffledAnchors,
    });
    const out = [...d.diffs];
    const shares = (fp: ClientHelloFingerprint) => JSON.stringify(fp.keyShares);
    if (shares(actual) !== shares(cap.fp)) out.push(`key shares ${shares(actual)} != ${shares(cap.fp)}`);
    if (actual.legacyVersion !== cap.fp.legacyVersion) out.push("legacy_version");
    return out;
  }
  const f = cap.facts!;
  const out: string[] = [];
  const noPsk = { ...actual, extensions: actual.extensions.filter((e) => e !== PSK) };
  if (ja3SortedString(noPsk) !== sortedJa3(f.ja3)) out.push(`ja3 ${ja3SortedString(noPsk)} != ${f.ja3}`);
  if (ja4r(noPsk) !== f.ja4r) out.push(`ja4_r ${ja4r(noPsk)} != ${f.ja4r}`);
  if (actual.alps?.codepoint !== f.alps) out.push(`alps ${actual.alps?.codepoint} != ${f.alps}`);
  const shares = actual.keyShares.filter((k) => k.length > 1); // GREASE share: 1 byte
  if (JSON.stringify(shares) !== JSON.stringify(f.keyShares))
    out.push(`key shares ${JSON.stringify(shares)}`);
  return out;
}

const shuffles = (name: string) => registry.spec(name).trustAnchors?.order === "shuffled-per-process";
const userAgent = (name: string) => registry.get(name).http.headers?.navigate.values["user-agent"];
const names = (raw: string[]) => raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
const value = (raw: string[], name: string) => {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) return raw[i + 1];
  return undefined;
};

describe("every built-in profile reproduces its capture", () => {
  test("every built-in profile has a capture in the catalogue, and no capture is left over", () => {
    expect(NAMES).toEqual(Object.keys(CATALOGUE).sort());
    expect(NAMES.length).toBe(37);
  });

  for (const name of NAMES) {
    describe(name, () => {
      const cap = loadCatalogueCapture(name);
      const spec = registry.spec(name);
      const get = () => wire.get(name)!;

      test("fresh connection through the proxy: every TLS component of the capture, no pre_shared_key", () => {
        const [first] = get().hellos as [RecordedHello];
        expect(has(first.fingerprint, PSK)).toBe(false);
        expect(tlsDiffs(first, cap, spec.permuteExtensions, shuffles(name))).toEqual([]);
        expect(first.fingerprint.sni).toBe("localhost");
      });

      test("repeat connection: pre_shared_key (last) exactly when the profile resumes, session_ticket out of it when the profile says so; the rest unchanged", () => {
        const [, second] = get().hellos as [RecordedHello, RecordedHello];
        expect(has(second.fingerprint, PSK)).toBe(spec.pskDheKe);
        if (spec.pskDheKe) expect(second.fingerprint.extensions.at(-1)).toBe(PSK);
        const ticket = spec.sessionTickets && !(spec.pskDheKe && spec.sessionTicketsWhenResuming === false);
        expect(has(second.fingerprint, EXT.SESSION_TICKET)).toBe(ticket);
        const expected = spec.pskDheKe ? asResumed(cap, spec.sessionTicketsWhenResuming !== false) : cap;
        expect(tlsDiffs(second, expected, spec.permuteExtensions, shuffles(name))).toEqual([]);
      });

      if (spec.trustAnchors != null) {
        const anchors = spec.trustAnchors;
        test(`trust_anchors: the capture's IDs, ${anchors.order === "as-listed" ? "in its order" : "one order per process"}; a wrong ID is seen`, () => {
          const [first, second] = get().hellos as [RecordedHello, RecordedHello];
          const sent = (first.fingerprint.trustAnchors ?? []).map(hexId);
          const captured = (cap.fp?.trustAnchors ?? []).map(hexId);
          expect(captured.length).toBeGreaterThan(0);
          expect([...sent].sort()).toEqual([...captured].sort());
          expect((second.fingerprint.trustAnchors ?? []).map(hexId)).toEqual(sent); // same process
          if (anchors.order === "as-listed") expect(sent).toEqual(captured);
          // The content comparison is live: one ID replaced (and, as listed, the order reversed) is a diff.
          const wrong = [...(first.fingerprint.trustAnchors ?? [])];
          wrong[0] = Uint8Array.of(0x2a);
          const bad = { ...first, fingerprint: { ...first.fingerprint, trustAnchors: wrong } };
          expect(tlsDiffs(bad, cap, spec.permuteExtensions, shuffles(name)).join()).toContain(
            "trust anchors",
          );
          if (anchors.order === "as-listed") {
            const swapped = [...(first.fingerprint.trustAnchors ?? [])].reverse();
            const other = { ...first, fingerprint: { ...first.fingerprint, trustAnchors: swapped } };
            expect(tlsDiffs(other, cap, spec.permuteExtensions).join()).toContain("trust anchors");
          }
        });

        const recorded = loadAnchorOrders(name);
        if (recorded !== null) {
          test("every anchor order the browser's processes sent is a permutation of the profile's IDs", () => {
            const listed = anchors.ids.map(hexId);
            expect(recorded.length).toBeGreaterThan(0);
            for (const order of recorded) expect([...order].sort()).toEqual([...listed].sort());
            // As listed: every process sent this one order; shuffled: processes differ.
            if (anchors.order === "as-listed") expect(recorded).toEqual([listed]);
            else expect(recorded.length).toBeGreaterThan(1);
          });
        }
      }

      test("the origin got HTTP/2 with the profile's user agent and the capture's pseudo-header order", () => {
        const { first } = get();
        expect(first.version).toBe("2.0");
        expect(value(first.raw, "user-agent")).toBe(userAgent(name));
        if (cap.h2?.pseudo) expect(names(first.raw).slice(0, 4)).toEqual(cap.h2.pseudo);
      });

      if (cap.h2 !== null) {
        const h2 = cap.h2;
        test(`HTTP/2 start${h2.akamai ? " (Akamai string)" : ""} and navigation header order: the capture's`, async () => {
          const probe = await probeProfileWire(engine, spec, registry.get(name).http, 1);
          expect(probe.h2?.ok).toBe(true);
          const s = summarizeH2(probe.h2?.ok ? probe.h2.bytes : new Uint8Array());
          if (h2.akamai !== null) expect(s.akamai).toBe(h2.akamai);
          expect(s.akamai.split("|").slice(0, 2).join("|")).toBe(h2.start);
          const sent = s.firstHeaders.headers.map(([n]) => n);
          // A header that depends on the page load (a reload's cache-control, cookies) is not the browser's.
          const captured = (list: string[]) => list.filter((n) => !SITUATIONAL_HEADERS.has(n));
          const circumstances = CAPTURE_CIRCUMSTANCES[name] ?? new Map<string, string>();
          if (h2.order !== null)
            expect(sent.filter((n) => !circumstances.has(n))).toEqual(captured(h2.order));
          else if (h2.names !== null) expect([...sent].sort()).toEqual(captured(h2.names).sort());
        });
      }
    });
  }
});

describe("aliases", () => {
  test("each alias names the newest profile of its family (the README table)", () => {
    const { default: def, ...aliases } = BUILTIN_ALIASES;
    expect(aliases).toEqual(EXPECTED_ALIASES);
    expect(def).toBe("chrome-143-macos-arm64");
    for (const target of Object.values(aliases)) expect(NAMES).toContain(target);
    for (const [alias, target] of Object.entries(EXPECTED_ALIASES)) {
      expect(registry.resolveName(alias)).toBe(target);
    }
  });

  for (const [alias, target] of Object.entries(EXPECTED_ALIASES)) {
    test(`"${alias}" through the proxy sends ${target}'s hello and user agent`, async () => {
      const recorder = await startRecorder(originPort);
      recorders.push(recorder);
      const { hello, seen: s } = await through(alias, recorder);
      const spec = registry.spec(target);
      expect(tlsDiffs(hello, loadCatalogueCapture(target), spec.permuteExtensions, shuffles(target))).toEqual(
        [],
      );
      expect(value(s.raw, "user-agent")).toBe(userAgent(target));
    });
  }
});

/**
 * Chromium's brand list (README, "Identity headers of Chromium builds"): a GREASE brand, Chromium
 * and the browser's brand, the GREASE characters, version and order chosen by the Chromium major
 * (`GenerateBrandVersionList` in Chromium's user_agent_utils.cc, seed = major version). An
 * unbranded Chromium (`brand` null) sends two brands: GREASE in slot `major % 2`, Chromium in the other.
 */
function chromiumBrands(major: number, brand: string | null, brandVersion: number): string {
  const chars = [" ", "(", ":", "-", ".", "/", ")", ";", "=", "?", "_"];
  const versions = ["8", "99", "24"];
  const orders = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  const grease = `"Not${chars[major % 11]}A${chars[(major + 1) % 11]}Brand";v="${versions[major % 3]}"`;
  const chromium = `"Chromium";v="${major}"`;
  if (brand === null) return (major % 2 === 0 ? [grease, chromium] : [chromium, grease]).join(", ");
  const list = [grease, chromium, `"${brand}";v="${brandVersion}"`];
  const out: string[] = [];
  (orders[major % 6] ?? []).forEach((slot, i) => {
    out[slot] = list[i] ?? "";
  });
  return out.join(", ");
}

/** The browser brand of each Chromium family; null: an unbranded Chromium build. */
const BRANDS: Readonly<Record<string, string | null>> = {
  chromium: null,
  chrome: "Google Chrome",
  edge: "Microsoft Edge",
  opera: "Opera",
  brave: "Brave",
};
const PLATFORM: Readonly<Record<string, [ua: string, header: string]>> = {
  windows: ["Windows NT 10.0; Win64; x64", '"Windows"'],
  macos: ["Macintosh; Intel Mac OS X 10_15_7", '"macOS"'],
  linux: ["X11; Linux x86_64", '"Linux"'],
  android: ["Linux; Android 10; K", '"Android"'],
};

describe("identity headers of Chromium builds follow the documented rule", () => {
  test("the rule gives the captured brand lists (Chrome 143 on tls.peet.ws, Chromium 156 locally)", () => {
    expect(chromiumBrands(143, "Google Chrome", 143)).toBe(
      '"Google Chrome";v="143", "Chromium";v="143", "Not A(Brand";v="24"',
    );
    // Chromium has no third brand: GREASE in slot 156 % 2 = 0, as the local capture shows.
    expect(chromiumBrands(156, null, 156)).toBe('"Not:A-Brand";v="8", "Chromium";v="156"');
  });

  const chromium = NAMES.filter((n) => BRANDS[registry.get(n).metadata?.family ?? ""] !== undefined);
  test.each(chromium)("%s: user agent and sec-ch-ua from its version and OS", (name) => {
    const meta = registry.get(name).metadata!;
    const values = registry.get(name).http.headers!.navigate.values;
    const ua = values["user-agent"] ?? "";
    const major = Number(/ Chrome\/(\d+)\.0\.0\.0 /.exec(ua)?.[1]);
    const own = meta.family === "opera" ? Number(/ OPR\/(\d+)\.0\.0\.0$/.exec(ua)?.[1]) : major;
    if (meta.family !== "opera") expect(String(major)).toBe(meta.version.split(".")[0]!);
    else expect(String(own)).toBe(meta.version.split(".")[0]!);
    const [platform, header] = PLATFORM[meta.os]!;
    const mobile = meta.os === "android";
    const suffix =
      meta.family === "edge" ? ` Edg/${major}.0.0.0` : meta.family === "opera" ? ` OPR/${own}.0.0.0` : "";
    expect(ua).toBe(
      `Mozilla/5.0 (${platform}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 ${mobile ? "Mobile " : ""}Safari/537.36${suffix}`,
    );
    expect(values["sec-ch-ua"]).toBe(chromiumBrands(major, BRANDS[meta.family] ?? null, own));
    expect(values["sec-ch-ua-mobile"]).toBe(mobile ? "?1" : "?0");
    expect(values["sec-ch-ua-platform"]).toBe(header);
  });
});
