import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { isProxyError } from "../src/errors/proxy-error.ts";
import { type ClientHelloFingerprint, GREASE } from "../src/fingerprint/types.ts";
import { profileFromFingerprint } from "../src/profiles/import.ts";
import { CERT_COMPRESSION, EXTENSIONS, GROUPS, SIGALGS } from "../src/profiles/registry.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { profileToToml } from "../src/profiles/schema.ts";
import { sentExtensions } from "../src/profiles/spec.ts";

const FIXTURES = [
  path.join(import.meta.dir, "fixtures/fingerprints"),
  "/work/shared/reference/fingerprints",
].find((dir) => existsSync(path.join(dir, "chrome-143-macos-arm64.json")))!;

interface Capture {
  tls: {
    ja3: string;
    peetprint: string;
    extensions: Array<Record<string, unknown> & { name: string }>;
  };
}

function capture(name: string): Capture {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as Capture;
}

const nums = (s: string) => (s === "" ? [] : s.split("-").map(Number));
const ext = (c: Capture, id: number) => c.tls.extensions.find((e) => e.name.endsWith(`(${id})`));
/** "X25519MLKEM768 (4588)" -> 4588 */
const idOf = (label: string) => Number(/\((\d+)\)$/.exec(label)?.[1]);

/** The ClientHello components of a capture, from ja3 / peetprint (orders) and extension details. */
function components(c: Capture) {
  const [, ja3Ciphers = "", ja3Exts = "", ja3Groups = ""] = c.tls.ja3.split(",");
  const pp = c.tls.peetprint.split("|");
  const keyShare = ext(c, 51)?.shared_keys as Array<Record<string, string>>;
  const dc = ext(c, 34)?.signature_hash_algorithms as string[] | undefined;
  return {
    ciphers: nums(ja3Ciphers),
    extensions: nums(ja3Exts),
    groups: nums(ja3Groups),
    versions: pp[0]!
      .split("-")
      .filter((v) => v !== "GREASE")
      .map(Number),
    sigalgs: nums(pp[3]!),
    certCompression: nums(pp[5]!),
    grease: c.tls.peetprint.includes("GREASE"),
    keyShareSet: keyShare.map((k) => idOf(Object.keys(k)[0]!)).filter((g) => !Number.isNaN(g)),
    alpn: ext(c, 16)?.protocols as string[],
    alps: (ext(c, 17613)?.protocols as string[] | undefined) ?? null,
    recordSizeLimit: ext(c, 28) === undefined ? null : Number.parseInt(ext(c, 28)!.data as string, 16),
    delegatedCredentials: dc === undefined ? null : dc.map((n) => SIGALGS.id(n)!),
  };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const PSK = 41;

function expectConfigError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isProxyError(err, "CONFIG_INVALID")).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected CONFIG_INVALID");
}

describe("built-in profiles reproduce their captures", () => {
  const registry = new ProfileRegistry();
  const cases = [
    { name: "chrome-143-macos-arm64", keyShares: [4588, 29], session: true, psk: true, ech: true },
    { name: "firefox-145-macos-arm64", keyShares: [4588, 29, 23], session: false, psk: false, ech: true },
    { name: "safari-26.2-macos-arm64", keyShares: [4588, 29], session: false, psk: true, ech: false },
  ];

  test("the original three load and are listed (the whole catalogue: profiles-catalogue.test.ts)", () => {
    expect(registry.names()).toEqual(expect.arrayContaining(cases.map((c) => c.name)));
  });

  for (const c of cases) {
    test(c.name, () => {
      const want = components(capture(c.name));
      const spec = registry.spec(c.name);
      expect(spec.ciphers).toEqual(want.ciphers);
      expect(spec.groups).toEqual(want.groups);
      expect(spec.sigalgs).toEqual(want.sigalgs);
      expect(spec.grease).toBe(want.grease);
      expect(spec.keyShares).toEqual(c.keyShares);
      expect(sorted(spec.keyShares)).toEqual(sorted(want.keyShareSet));
      expect(spec.certCompression.map((n) => CERT_COMPRESSION.id(n))).toEqual(want.certCompression);
      expect(spec.alpn).toEqual(want.alpn);
      expect(spec.recordSizeLimit).toBe(want.recordSizeLimit);
      expect(spec.delegatedCredentials).toEqual(want.delegatedCredentials);
      expect([spec.maxVersion, spec.minVersion]).toEqual(want.versions);
      expect(spec.alps === null ? null : spec.alps.protocols).toEqual(want.alps);
      if (spec.alps !== null) expect(spec.alps.newCodepoint).toBe(true);
      expect(spec.sessionTickets).toBe(c.session);
      expect(spec.pskDheKe).toBe(c.psk);
      expect(spec.echGrease).toBe(c.ech);
      // The extension set a hello from this spec carries is the capture's, minus per-connection PSK.
      const wireExts = want.extensions.filter((e) => e !== PSK);
      expect(sorted(sentExtensions(spec))).toEqual(sorted(wireExts));
      if (c.name.startsWith("chrome")) {
        expect(spec.permuteExtensions).toBe(true);
        expect(spec.extensionOrder).toBeNull();
      } else {
        expect(spec.permuteExtensions).toBe(false);
        expect(spec.extensionOrder).toEqual(wireExts);
      }
    });
  }

  test("Safari keeps its duplicate rsa_pss_rsae_sha384 and 3DES suites", () => {
    const spec = registry.spec("safari");
    expect(spec.sigalgs.filter((s) => s === 0x0805)).toHaveLength(2);
    expect(spec.ciphers.slice(-3)).toEqual([0xc008, 0xc012, 0x000a]);
  });

  test("profiles show output parses back to the same spec", () => {
    for (const name of registry.names()) {
      const toml = profileToToml(registry.get(name));
      const user = (parseToml(toml) as { profiles: Record<string, unknown> }).profiles;
      const copy = new ProfileRegistry({ [`${name}-copy`]: user[name] });
      expect({ ...copy.spec(`${name}-copy`), name }).toEqual({ ...registry.spec(name) });
    }
  });
});

describe("names and aliases", () => {
  test("aliases resolve; default follows the configured default", () => {
    const registry = new ProfileRegistry();
    expect(registry.resolveName("chrome")).toBe("chrome-153-windows-x64");
    expect(registry.get("firefox").name).toBe("firefox-156-windows-x64");
    expect(registry.spec("safari").name).toBe("safari-26.2-macos-arm64");
    expect(registry.resolveName("default")).toBe("chrome-143-macos-arm64");
    expect(registry.has("chrome")).toBe(true);
    expect(registry.has("netscape")).toBe(false);
    const other = new ProfileRegistry(
      { mine: { extends: "default", grease: true } },
      { defaultProfile: "firefox-145-macos-arm64" },
    );
    expect(other.resolveName("default")).toBe("firefox-145-macos-arm64");
    expect(other.get("mine").chain).toEqual(["mine", "firefox-145-macos-arm64"]);
  });

  test("unknown profile is UNKNOWN_PROFILE", () => {
    const registry = new ProfileRegistry();
    expect(() => registry.get("netscape")).toThrow('unknown profile "netscape"');
    let caught: unknown;
    try {
      registry.spec("netscape");
    } catch (err) {
      caught = err;
    }
    expect(isProxyError(caught, "UNKNOWN_PROFILE")).toBe(true);
  });

  test("unknown default profile is a config error", () => {
    expect(expectConfigError(() => new ProfileRegistry({}, { defaultProfile: "nope" }))).toContain(
      'proxy.upstream.default_profile: unknown profile "nope"',
    );
  });

  test("group aliases are accepted and printed canonically", () => {
    expect(GROUPS.id("P-256")).toBe(23);
    expect(GROUPS.id("X25519")).toBe(29);
    expect(EXTENSIONS.id("application_settings")).toBe(17613);
    expect(EXTENSIONS.id("application_settings_old")).toBe(17513);
    const registry = new ProfileRegistry({
      mine: { extends: "chrome", groups: ["X25519", "P-256"], key_shares: ["X25519"] },
    });
    expect(registry.get("mine").groups).toEqual(["x25519", "secp256r1"]);
    expect(registry.spec("mine").groups).toEqual([29, 23]);
  });
});

describe("extends", () => {
  test("a child overrides only the keys it sets", () => {
    const registry = new ProfileRegistry({
      "ff-h1": { extends: "firefox-145-macos-arm64", alpn: ["http/1.1"] },
      "ff-h1-nodc": { extends: "ff-h1", delegated_credentials: false, extension_order: false },
    });
    const base = registry.spec("firefox-145-macos-arm64");
    expect(registry.spec("ff-h1")).toEqual({ ...base, name: "ff-h1", alpn: ["http/1.1"] });
    expect(registry.get("ff-h1-nodc").chain).toEqual(["ff-h1-nodc", "ff-h1", "firefox-145-macos-arm64"]);
    expect(registry.spec("ff-h1-nodc").delegatedCredentials).toBeNull();
    expect(registry.spec("ff-h1-nodc").extensionOrder).toBeNull();
  });

  test("a user profile can replace and refine a built-in of the same name", () => {
    const registry = new ProfileRegistry({
      "chrome-143-macos-arm64": { extends: "chrome-143-macos-arm64", grease: false },
    });
    expect(registry.get("chrome-143-macos-arm64").origin).toBe("config");
    expect(registry.spec("chrome-143-macos-arm64").grease).toBe(false);
    expect(registry.spec("chrome-143-macos-arm64").ciphers[0]).toBe(0x1301);
  });

  test("a replaced or refined built-in stays the parent of the built-ins that extend it", () => {
    const plain = new ProfileRegistry();
    // Refined: an HTTP/1.1-only Chrome (its ALPS would name h2, so it goes too).
    const refined = new ProfileRegistry({
      "chrome-143-macos-arm64": { extends: "chrome-143-macos-arm64", alpn: ["http/1.1"], alps: false },
    });
    expect(refined.spec("chrome-143-macos-arm64").alpn).toEqual(["http/1.1"]);
    // Replaced by a whole other profile (Firefox's built-in file under Chrome's name).
    const firefoxFile = readFileSync(
      path.join(import.meta.dir, "..", "profiles", "firefox-145-macos-arm64.toml"),
      "utf8",
    );
    const replaced = new ProfileRegistry({ "chrome-143-macos-arm64": parseToml(firefoxFile) });
    expect(replaced.spec("chrome-143-macos-arm64").grease).toBe(false);
    for (const registry of [refined, replaced]) {
      for (const child of ["edge-154-windows-x64", "chrome-131-macos-arm64", "chrome-131-android-arm64"]) {
        expect(registry.spec(child)).toEqual(plain.spec(child));
        expect(registry.get(child).http).toEqual(plain.get(child).http);
        expect(registry.get(child).chain).toEqual(plain.get(child).chain);
      }
    }
    // A user profile extending the replaced name gets the user's.
    const mine = new ProfileRegistry({
      "chrome-143-macos-arm64": { extends: "chrome-143-macos-arm64", grease: false },
      "my-chrome": { extends: "chrome-143-macos-arm64" },
    });
    expect(mine.spec("my-chrome").grease).toBe(false);
  });

  test("a user profile named like an alias hides the alias, in lookups and in the alias list", () => {
    const registry = new ProfileRegistry({ chrome: { extends: "firefox" } });
    expect(registry.resolveName("chrome")).toBe("chrome");
    expect(registry.get("chrome").origin).toBe("config");
    expect(registry.aliases().has("chrome")).toBe(false);
    expect(registry.aliases().get("firefox")).toBe(new ProfileRegistry().aliases().get("firefox"));
  });

  test("a user profile cannot be named default: that name follows proxy.upstream.default_profile", () => {
    const message = expectConfigError(() => new ProfileRegistry({ default: { extends: "firefox" } }));
    expect(message).toContain('profiles."default": "default" is reserved for proxy.upstream.default_profile');
    const config = new ProfileRegistry({ mine: { extends: "firefox" } }, { defaultProfile: "mine" });
    expect(config.resolveName("default")).toBe("mine");
  });

  test("permute_extensions in a child drops the inherited extension_order", () => {
    const registry = new ProfileRegistry({ shuffled: { extends: "safari", permute_extensions: true } });
    expect(registry.spec("shuffled").extensionOrder).toBeNull();
    expect(registry.spec("shuffled").permuteExtensions).toBe(true);
  });

  test("cycles are an error naming the chain", () => {
    const message = expectConfigError(
      () => new ProfileRegistry({ a: { extends: "b" }, b: { extends: "c" }, c: { extends: "a" } }),
    );
    expect(message).toContain('profiles."a".extends: cycle a -> b -> c -> a');
  });

  test("unknown parent and missing required keys", () => {
    const message = expectConfigError(
      () => new ProfileRegistry({ x: { extends: "netscape" }, y: { grease: true } }),
    );
    expect(message).toContain('profiles."x".extends: unknown profile "netscape"');
    expect(message).toContain('profiles."y".ciphers: missing');
    expect(message).toContain('profiles."y".signature_algorithms: missing');
  });
});

describe("validation names the key path of every problem at once", () => {
  test("per-key errors", () => {
    const message = expectConfigError(
      () =>
        new ProfileRegistry({
          "my-chrome": {
            extends: "chrome",
            groups: ["X25519MLKEM768", "x25519", "x448"],
            alpn: ["h2", "http/1.1", "h2"],
            cipher: [],
            record_size_limit: 20000,
          },
          empty: { extends: "chrome", ciphers: [] },
        }),
    );
    const lines = message.split("\n");
    expect(lines).toContain('profiles."my-chrome".groups[2]: unknown group "x448"');
    expect(lines).toContain('profiles."my-chrome".alpn[2]: duplicate protocol "h2"');
    expect(lines).toContain('profiles."my-chrome".cipher: unknown key');
    expect(lines).toContain('profiles."my-chrome".record_size_limit: 20000 is out of range 64..16385');
    expect(lines).toContain('profiles."empty".ciphers: empty cipher suite list');
  });

  test("description is one line: C0 control characters and DEL are refused, naming the key path", () => {
    const bad = ["line1\nline2", "a\rb", "tab\there", "esc\u001b[31m", "del\u007f"];
    const message = expectConfigError(
      () =>
        new ProfileRegistry(
          Object.fromEntries(bad.map((description, i) => [`d${i}`, { extends: "chrome", description }])),
        ),
    );
    expect(message.split("\n").slice(1)).toEqual([
      'profiles."d0".description: control character U+000A at offset 5: one line of text, without control characters',
      'profiles."d1".description: control character U+000D at offset 1: one line of text, without control characters',
      'profiles."d2".description: control character U+0009 at offset 3: one line of text, without control characters',
      'profiles."d3".description: control character U+001B at offset 3: one line of text, without control characters',
      'profiles."d4".description: control character U+007F at offset 3: one line of text, without control characters',
    ]);
    // Other text, Unicode included, is fine.
    const ok = new ProfileRegistry({
      fine: { extends: "chrome", description: "Chrome — für Tests, 100 % «one line»" },
    });
    expect(ok.get("fine").description).toBe("Chrome — für Tests, 100 % «one line»");
  });

  test("cross-key rules", () => {
    const message = expectConfigError(
      () =>
        new ProfileRegistry({
          shares: {
            extends: "firefox-145-macos-arm64",
            key_shares: ["x25519", "X25519MLKEM768", "secp521r1", "ffdhe2048"],
          },
          order: { extends: "safari", permute_extensions: true, extension_order: ["server_name"] },
          missing: { extends: "safari", session_tickets: true },
          tls13first: {
            extends: "chrome",
            ciphers: ["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_AES_128_GCM_SHA256"],
          },
          alps: { extends: "chrome", alpn: ["http/1.1"] },
        }),
    );
    expect(message).toContain('profiles."shares".key_shares[1]: "X25519MLKEM768" is out of order');
    expect(message).toContain('profiles."shares".key_shares[3]: "ffdhe2048" cannot carry a key share');
    expect(message).toContain(
      'profiles."order": extension_order and permute_extensions = true are exclusive',
    );
    expect(message).toContain('profiles."missing".extension_order: missing "session_ticket"');
    expect(message).toContain(
      'profiles."tls13first".ciphers[1]: TLS 1.3 suite "TLS_AES_128_GCM_SHA256" after',
    );
    expect(message).toContain('profiles."alps".alps.protocols[0]: "h2" is not in alpn');
  });

  test("key_shares must be in groups; wrong types are named", () => {
    const message = expectConfigError(
      () =>
        new ProfileRegistry({
          k: { extends: "chrome", key_shares: ["secp521r1"], grease: "yes", alpn: "h2" },
        }),
    );
    expect(message).toContain('profiles."k".grease: expected a boolean, got string "yes"');
    expect(message).toContain('profiles."k".alpn: expected an array of strings, got string "h2"');
    const message2 = expectConfigError(
      () => new ProfileRegistry({ k: { extends: "chrome", key_shares: ["secp521r1"] } }),
    );
    expect(message2).toContain('profiles."k".key_shares[0]: "secp521r1" is not in groups');
  });
});

function fingerprint(over: Partial<ClientHelloFingerprint>): ClientHelloFingerprint {
  return {
    legacyVersion: 0x0303,
    ciphers: [GREASE, 0x1302, 0x1303, 0x1301, 0xc02c, 0xc008, 0x000a],
    extensions: [GREASE, 0, 23, 65281, 10, 11, 16, 5, 13, 18, 51, 45, 43, 27, 17513, GREASE],
    groups: [GREASE, 4588, 29, 23, 24],
    pointFormats: [0],
    sigalgs: [0x0403, 0x0804, 0x0805, 0x0805, 0x0201],
    versions: [GREASE, 0x0304, 0x0303],
    keyShares: [
      { group: GREASE, length: 1 },
      { group: 4588, length: 1216 },
      { group: 29, length: 32 },
    ],
    pskModes: [1],
    alpn: ["h2", "http/1.1"],
    alps: { codepoint: 17513, protocols: ["h2"] },
    certCompression: [1],
    recordSizeLimit: null,
    delegatedCredentials: null,
    ocsp: true,
    sct: true,
    ech: false,
    sni: "example.com",
    ...over,
  };
}

function importToRegistry(fp: ClientHelloFingerprint, name: string) {
  const result = profileFromFingerprint(fp, name);
  const user = (parseToml(result.toml) as { profiles: Record<string, unknown> }).profiles;
  return { ...result, registry: new ProfileRegistry(user) };
}

describe("import from a fingerprint", () => {
  test("round trip: fingerprint -> toml -> registry -> spec equals the components", () => {
    const fp = fingerprint({});
    const { unsupported, registry } = importToRegistry(fp, "imported");
    expect(unsupported).toEqual([]);
    const spec = registry.spec("imported");
    const noGrease = (xs: number[]) => xs.filter((x) => x !== GREASE);
    expect(spec.ciphers).toEqual(noGrease(fp.ciphers));
    expect(spec.groups).toEqual(noGrease(fp.groups));
    expect(spec.keyShares).toEqual([4588, 29]);
    expect(spec.sigalgs).toEqual(fp.sigalgs);
    expect(spec.extensionOrder).toEqual(noGrease(fp.extensions));
    expect(spec.grease).toBe(true);
    expect(spec.alps).toEqual({ protocols: ["h2"], newCodepoint: false });
    expect(spec.certCompression).toEqual(["zlib"]);
    expect([spec.minVersion, spec.maxVersion]).toEqual([0x0303, 0x0304]);
    expect(spec.pskDheKe).toBe(true);
    expect(spec.sessionTickets).toBe(false);
    expect(sorted(sentExtensions(spec))).toEqual(sorted(noGrease(fp.extensions)));
  });

  test("Firefox-like fingerprint without GREASE keeps record_size_limit and delegated credentials", () => {
    const fp = fingerprint({
      ciphers: [0x1301, 0x1303, 0x1302, 0xc02b],
      extensions: [0, 23, 65281, 10, 11, 16, 5, 34, 18, 51, 43, 13, 28, 27, 65037],
      groups: [4588, 29, 23, 256, 257],
      versions: [0x0304, 0x0303],
      keyShares: [
        { group: 4588, length: 0 },
        { group: 29, length: 0 },
        { group: 23, length: 0 },
      ],
      pskModes: [],
      alps: null,
      certCompression: [1, 2, 3],
      recordSizeLimit: 16385,
      delegatedCredentials: [0x0403, 0x0503, 0x0603, 0x0203],
      ech: true,
    });
    const { unsupported, registry } = importToRegistry(fp, "ff");
    expect(unsupported).toEqual([]);
    const spec = registry.spec("ff");
    expect(spec.grease).toBe(false);
    expect(spec.extensionOrder).toEqual(fp.extensions);
    expect(spec.recordSizeLimit).toBe(16385);
    expect(spec.delegatedCredentials).toEqual([0x0403, 0x0503, 0x0603, 0x0203]);
    expect(spec.certCompression).toEqual(["zlib", "brotli", "zstd"]);
    expect(spec.echGrease).toBe(true);
  });

  test("everything the engine cannot send is reported, not dropped silently", () => {
    const fp = fingerprint({
      ciphers: [0x1301, 0xc02b, 0x00ff, 0xfefe],
      extensions: [0, 23, 65281, 10, 11, 16, 5, 13, 18, 51, 45, 43, 0x1234, 21, 41],
      groups: [29, 0x001e],
      keyShares: [{ group: 29, length: 32 }],
      sigalgs: [0x0403, 0x0808],
      pointFormats: [0, 1],
      alps: null,
      certCompression: [],
    });
    const { unsupported, toml, registry } = importToRegistry(fp, "odd");
    expect(unsupported).toContain("cipher suite 0x00ff: not supported by the engine");
    expect(unsupported).toContain("cipher suite 0xfefe: not supported by the engine");
    expect(unsupported).toContain("group 0x001e: not supported by the engine");
    expect(unsupported).toContain("signature algorithm 0x0808: not supported by the engine");
    expect(unsupported).toContain("extension 4660 (0x1234): not supported by the engine");
    expect(unsupported.some((u) => u.startsWith("pre_shared_key (41)"))).toBe(true);
    expect(unsupported.some((u) => u.startsWith("padding (21)"))).toBe(true);
    expect(unsupported.some((u) => u.startsWith("ec_point_formats 0,1"))).toBe(true);
    expect(toml).toContain("# - cipher suite 0x00ff: not supported by the engine");
    expect(registry.spec("odd").ciphers).toEqual([0x1301, 0xc02b]);
    expect(registry.spec("odd").extensionOrder).toEqual([0, 23, 65281, 10, 11, 16, 5, 13, 18, 51, 45, 43]);
  });

  test("an extension the engine always sends but the fingerprint lacks is reported", () => {
    const fp = fingerprint({ extensions: [0, 65281, 10, 11, 16, 5, 13, 18, 51, 45, 43, 27, 17513] });
    const { unsupported } = profileFromFingerprint(fp, "no-ems");
    expect(unsupported).toContain(
      "extended_master_secret (23): absent from the fingerprint but sent by the engine",
    );
  });

  test("an invalid profile name is refused", () => {
    expectConfigError(() => profileFromFingerprint(fingerprint({}), "bad name"));
  });
});
