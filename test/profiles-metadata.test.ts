/**
 * Profile `[metadata]` (family, version, OS, architecture, capture date, source), built-in files
 * that extend other built-ins, `profiles list` (text and --json), and the capture formats the
 * catalogue's fixtures use (curl-impersonate YAML, phantom key=value hex).
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { fingerprintFromFile } from "../src/cli/commands/profiles.ts";
import { compareFingerprints } from "../src/fingerprint/compare.ts";
import { parseCurlSignature } from "../src/fingerprint/curl-signature.ts";
import { BUILTIN_PROFILES } from "../src/profiles/builtin.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { profileToToml } from "../src/profiles/schema.ts";
import { FIXTURES } from "./helpers/catalogue.ts";

const ROOT = path.join(import.meta.dir, "..");
const registry = new ProfileRegistry();
const META = {
  family: "chrome",
  version: "149.0.7827.102",
  os: "macos",
  arch: "arm64",
  captured: "2026-07-14",
  source: "a capture",
} as const;

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect((err as { code?: string }).code).toBe("CONFIG_INVALID");
    return (err as Error).message;
  }
  throw new Error("expected CONFIG_INVALID");
}

describe("metadata", () => {
  for (const { name } of BUILTIN_PROFILES) {
    test(`${name}: complete metadata that agrees with its name`, () => {
      const m = registry.get(name).metadata;
      expect(m).not.toBeNull();
      const major = m!.version.split(".")[0];
      const family = m!.family === "firefox-esr" ? "firefox-esr" : m!.family;
      expect(name).toMatch(new RegExp(`^${family}-${major}(\\.\\d+)?-${m!.os}-${m!.arch}$`));
      expect(m!.source.length).toBeGreaterThan(10);
    });
  }

  test("a user profile's metadata is checked key by key, every problem at once", () => {
    const message = configError(
      () =>
        new ProfileRegistry({
          bad: {
            extends: "chrome",
            metadata: { ...META, os: "beos", captured: "2026-13-01", colour: "red", source: undefined },
          },
        }),
    );
    expect(message).toContain('profiles."bad".metadata.os: invalid string "beos"');
    expect(message).toContain('profiles."bad".metadata.captured: invalid string "2026-13-01"');
    expect(message).toContain('profiles."bad".metadata.colour: unknown key');
    expect(message).toContain('profiles."bad".metadata.source: missing');
    // source is printed on the profile's one line of `profiles list`: no control characters.
    const multiline = configError(
      () => new ProfileRegistry({ nl: { extends: "chrome", metadata: { ...META, source: "a\nb" } } }),
    );
    expect(multiline).toContain('profiles."nl".metadata.source: invalid string "a\\nb": expected ');
  });

  test("metadata is not inherited through extends; a month-only capture date is allowed", () => {
    const reg = new ProfileRegistry({
      plain: { extends: "chrome-149-macos-arm64", grease: false },
      own: { extends: "chrome-149-macos-arm64", metadata: { ...META, captured: "2026-07" } },
    });
    expect(reg.get("plain").metadata).toBeNull();
    expect(reg.get("own").metadata).toEqual({ ...META, captured: "2026-07" });
    expect(reg.get("chrome-149-macos-arm64").metadata?.version).toBe("149.0.7827.102");
  });

  test("profiles show prints [metadata]; the printed profile loads back with it", () => {
    const text = profileToToml(registry.get("tor-14.5-macos-arm64"));
    expect(text).toContain('[profiles."tor-14.5-macos-arm64".metadata]');
    const doc = parseToml(text) as { profiles: Record<string, unknown> };
    const back = new ProfileRegistry(doc.profiles);
    expect(back.get("tor-14.5-macos-arm64").origin).toBe("config");
    expect(back.get("tor-14.5-macos-arm64").metadata).toEqual(registry.get("tor-14.5-macos-arm64").metadata);
    expect(back.spec("tor-14.5-macos-arm64")).toEqual(registry.spec("tor-14.5-macos-arm64"));
  });
});

describe("built-in files extend built-ins", () => {
  test("chains resolve through several built-ins, each level overriding only what it sets", () => {
    expect(registry.get("chrome-131-android-arm64").chain).toEqual([
      "chrome-131-android-arm64",
      "chrome-131-macos-arm64",
      "chrome-143-macos-arm64",
    ]);
    const android = registry.spec("chrome-131-android-arm64");
    const mac = registry.spec("chrome-131-macos-arm64");
    const base = registry.spec("chrome-143-macos-arm64");
    expect(android.groups).toEqual([29, 23, 24]);
    expect(mac.groups).toEqual(base.groups);
    expect(mac.alps).toEqual({ protocols: ["h2"], newCodepoint: false });
    expect(android.alps).toEqual(mac.alps);
    expect({ ...android, name: "", groups: [], keyShares: [] }).toEqual({
      ...mac,
      name: "",
      groups: [],
      keyShares: [],
    });
  });

  test("HTTP identity values follow the nearest file; everything else is inherited", () => {
    const nav = (n: string) => registry.http(n).headers!.navigate;
    expect(nav("chrome-142-windows-x64").values["sec-ch-ua-platform"]).toBe('"Windows"');
    expect(nav("chrome-142-windows-x64").values["user-agent"]).toContain("Windows NT 10.0; Win64; x64");
    expect(nav("chrome-142-windows-x64").order).toEqual(nav("chrome-143-macos-arm64").order);
    expect(registry.http("chrome-142-windows-x64").http2).toEqual(
      registry.http("chrome-143-macos-arm64").http2,
    );
    expect(nav("firefox-144-macos-arm64").values["sec-gpc"]).toBeUndefined(); // dropped with `false`
    expect(nav("firefox-145-macos-arm64").values["sec-gpc"]).toBe("1");
  });

  test("a user profile may extend a built-in that itself extends one", () => {
    const reg = new ProfileRegistry({ mine: { extends: "firefox-esr", alpn: ["http/1.1"] } });
    expect(reg.get("mine").chain.slice(0, 3)).toEqual([
      "mine",
      "firefox-esr-153-linux-x64",
      "firefox-154-macos-arm64",
    ]);
    expect(reg.spec("mine").ciphers).toEqual(reg.spec("firefox-esr-153-linux-x64").ciphers);
  });
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(r.status).toBe(0);
  return { out: r.stdout, err: r.stderr };
}

describe("profiles list", () => {
  test("--json: every profile with origin, aliases, parent and metadata", () => {
    const rows = JSON.parse(cli("profiles", "list", "--json").out) as {
      name: string;
      origin: string;
      aliases: string[];
      extends: string | null;
      metadata: { family: string; captured: string } | null;
    }[];
    expect(rows.map((r) => r.name)).toEqual(registry.names());
    const edge = rows.find((r) => r.name === "edge-154-windows-x64")!;
    expect(edge.aliases).toEqual(["edge"]);
    expect(edge.extends).toBe("chrome-143-macos-arm64");
    expect(edge.metadata?.family).toBe("edge");
    expect(rows.every((r) => r.origin === "builtin" && r.metadata !== null)).toBe(true);
  });

  test("text: one line per profile with family, version, OS, architecture, capture date and source", () => {
    const lines = cli("profiles", "list").out.trim().split("\n");
    expect(lines).toHaveLength(registry.names().length);
    const tor = lines.find((l) => l.startsWith("tor-14.5-macos-arm64 "))!;
    expect(tor).toContain("(alias: tor)");
    expect(tor).toContain("[tor 14.5, macos arm64, captured 2025-06-08, source lexiforest/curl-impersonate@");
  });
});

describe("capture formats", () => {
  test("a curl-impersonate signature: ClientHello fields and the HTTP/2 start", () => {
    const file = path.join(FIXTURES, "captures/lexiforest/tor_14.5_macOS.yaml");
    const sig = parseCurlSignature(readFileSync(file, "utf8"));
    expect(sig.browser.name).toBe("tor");
    expect(sig.permutesExtensions).toBe(false);
    expect(sig.fingerprint.groups).toEqual([29, 23, 24, 25, 256, 257]);
    expect(sig.fingerprint.keyShares).toEqual([
      { group: 29, length: 32 },
      { group: 23, length: 65 },
    ]);
    expect(sig.fingerprint.recordSizeLimit).toBe(16385);
    expect(sig.h2?.akamai).toBe("1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s");
    expect(sig.h2?.headers[0]).toEqual([
      "user-agent",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0",
    ]);
  });

  test("a malformed signature names what is wrong", () => {
    const text =
      "signature:\n  tls_client_hello:\n    handshake_version: TLS_VERSION_1_2\n    ciphersuites: [4865]\n    extensions:\n    - type: bogus\n";
    expect(() => parseCurlSignature(`browser: {name: x, os: y, version: 1}\n${text}`)).toThrow(
      'extensions[0]: unknown type "bogus"',
    );
  });

  test("`profiles import` and `fingerprint --compare` read YAML signatures and phantom hex files", () => {
    const yaml = path.join(FIXTURES, "captures/lexiforest/safari_18.4_macOS.yaml");
    const hex = path.join(FIXTURES, "captures/phantom/safari-18.5-macos-hello.txt");
    const a = fingerprintFromFile(readFileSync(yaml, "utf8"), yaml);
    const b = fingerprintFromFile(readFileSync(hex, "utf8"), hex);
    // Two sources, one TLS hello: the hand-maintained 18.4 signature agrees with the raw 18.5 bytes.
    expect(compareFingerprints(b, a).diffs).toEqual([]);
    const { out, err } = cli("profiles", "import", hex, "--name", "s");
    expect(out).toContain('min_version = "1.0"');
    expect(err).toBe("not reproducible: padding (21): the engine pads by itself when needed\n");
  });
});
