/**
 * `polytls profiles import` end to end: capture -> profile TOML -> config file -> `profiles show`
 * -> engine spec, for the three browser captures; a recorded hex ClientHello; and components the
 * engine cannot send.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { loadConfig } from "../src/config/load.ts";
import { compareFingerprints } from "../src/fingerprint/compare.ts";
import { EXT } from "../src/fingerprint/extensions.ts";
import { probeProfile } from "../src/fingerprint/probe.ts";
import type { RecordedHello } from "../src/fingerprint/recorder.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { sentExtensions } from "../src/profiles/spec.ts";
import type { ProfileSpec } from "../src/upstream/engine.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { removeTempTree } from "./helpers/temp-tree.ts";
import { BUILTIN_NAMES, type BuiltinName, loadCapture } from "./helpers/wire-captures.ts";
import { type CliResult, runCli } from "./helpers/wire-cli.ts";

const PSK = EXT.PRE_SHARED_KEY;
const UNKNOWN_CIPHER = 0x1234; // not an IANA-assigned suite: the engine cannot offer it

let dir: string;
const builtins = new ProfileRegistry();

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "polytls-import-"));
});
afterAll(() => removeTempTree(dir));

/** Writes the import output as the whole config file and loads the profile's spec from it. */
function configWith(name: string, importToml: string): { file: string; spec: ProfileSpec } {
  const file = path.join(dir, `${name}.toml`);
  writeFileSync(file, importToml);
  return { file, spec: ProfileRegistry.fromConfig(loadConfig({ file })).spec(name) };
}

/** One line per ProfileSpec component that differs (name and `skip` left out). */
function specDiffs(actual: ProfileSpec, expected: ProfileSpec, skip: (keyof ProfileSpec)[] = []): string[] {
  const out: string[] = [];
  for (const key of Object.keys(expected) as (keyof ProfileSpec)[]) {
    if (key === "name" || skip.includes(key)) continue;
    const a = JSON.stringify(actual[key]);
    const e = JSON.stringify(expected[key]);
    if (a !== e) out.push(`${key}: expected ${e} got ${a}`);
  }
  return out;
}

function expectOk(r: CliResult, what: string): void {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`);
}

describe("capture -> import -> config -> show round-trips to the built-in profile", () => {
  const imported = new Map<
    BuiltinName,
    { toml: string; stderr: string; show: CliResult; spec: ProfileSpec }
  >();

  beforeAll(async () => {
    await Promise.all(
      BUILTIN_NAMES.map(async (name) => {
        const profile = `imported-${name}`;
        const file = path.relative(path.join(import.meta.dir, ".."), loadCapture(name).file);
        const imp = await runCli(["profiles", "import", file, "--name", profile]);
        expectOk(imp, `profiles import ${file}`);
        const cfg = configWith(profile, imp.stdout);
        const show = await runCli(["profiles", "show", profile, "--config", cfg.file]);
        expectOk(show, `profiles show ${profile}`);
        imported.set(name, { toml: imp.stdout, stderr: imp.stderr, show, spec: cfg.spec });
      }),
    );
  });

  for (const name of BUILTIN_NAMES) {
    const chrome = name.startsWith("chrome");

    test(`${name}: the import output is a [profiles."imported-…"] table`, () => {
      const { toml } = imported.get(name)!;
      expect(toml).toContain(`\n[profiles."imported-${name}"]\n`);
      const tables = (parseToml(toml) as { profiles: Record<string, unknown> }).profiles;
      expect(Object.keys(tables)).toEqual([`imported-${name}`]);
    });

    test(`${name}: only the per-connection pre_shared_key is reported as not reproducible`, () => {
      const { stderr } = imported.get(name)!;
      const lines = stderr.split("\n").filter((l) => l !== "");
      // Only Chrome's capture is a resumed connection carrying 41.
      expect(lines).toEqual(
        chrome
          ? ["not reproducible: pre_shared_key (41): per connection; the engine adds it when resuming"]
          : [],
      );
    });

    test(`${name}: \`profiles show\` prints the profile the config file defines`, () => {
      const { show, spec } = imported.get(name)!;
      expect(show.stdout).toContain(`resolved profile "imported-${name}"`);
      const tables = (parseToml(show.stdout) as { profiles: Record<string, unknown> }).profiles;
      const again = new ProfileRegistry({ copy: tables[`imported-${name}`] }).spec("copy");
      expect(specDiffs(again, spec)).toEqual([]);
    });

    test(`${name}: the imported engine spec equals the built-in one, component by component`, () => {
      const { spec } = imported.get(name)!;
      const builtin = builtins.spec(name);
      if (!chrome) {
        expect(specDiffs(spec, builtin)).toEqual([]);
        return;
      }
      // One capture cannot show Chrome's per-connection shuffle: the import fixes the captured
      // order; the extension set is the built-in's.
      expect(specDiffs(spec, builtin, ["extensionOrder", "permuteExtensions"])).toEqual([]);
      expect(builtin.permuteExtensions).toBe(true);
      expect(spec.permuteExtensions).toBe(false);
      const captured = loadCapture(name).json.tls.ja3.split(",")[2]!.split("-").map(Number);
      expect(spec.extensionOrder).toEqual(captured.filter((e) => e !== PSK));
      const sorted = (l: readonly number[]) => [...l].sort((a, b) => a - b);
      expect(sorted(spec.extensionOrder ?? [])).toEqual(sorted(sentExtensions(builtin)));
    });
  }
});

describe("a recorded hex ClientHello imports to a profile that sends the same hello", () => {
  const engine = new NativeEngine();
  const recorded = new Map<BuiltinName, { original: RecordedHello; again: RecordedHello; stderr: string }>();

  beforeAll(async () => {
    for (const name of BUILTIN_NAMES) {
      const [original] = await probeProfile(engine, builtins.spec(name), 1);
      const hexFile = path.join(dir, `${name}.hex`);
      writeFileSync(hexFile, `${Buffer.from(original!.raw).toString("hex")}\n`);
      const imp = await runCli(["profiles", "import", hexFile, "--name", `hex-${name}`]);
      expectOk(imp, `profiles import ${hexFile}`);
      const { spec } = configWith(`hex-${name}`, imp.stdout);
      const [again] = await probeProfile(engine, spec, 1);
      recorded.set(name, { original: original!, again: again!, stderr: imp.stderr });
    }
  });

  for (const name of BUILTIN_NAMES) {
    test(`${name}: every component, extension order included`, () => {
      const { original, again, stderr } = recorded.get(name)!;
      expect(stderr).toBe(""); // a first hello has no pre_shared_key: everything is reproduced
      expect(compareFingerprints(again.fingerprint, original.fingerprint).diffs).toEqual([]);
      expect(again.fingerprint.sni).toBe(original.fingerprint.sni);
    });
  }
});

test("an unsupported component is reported on stderr, and the import still succeeds", async () => {
  const capture = loadCapture("firefox-145-macos-arm64");
  const json = JSON.parse(readFileSync(capture.file, "utf8")) as { tls: { ja3: string; peetprint: string } };
  const ja3 = json.tls.ja3.split(",");
  ja3[1] = `${ja3[1]}-${UNKNOWN_CIPHER}`;
  json.tls.ja3 = ja3.join(",");
  const pp = json.tls.peetprint.split("|");
  pp[6] = `${pp[6]}-${UNKNOWN_CIPHER}`;
  json.tls.peetprint = pp.join("|");
  const file = path.join(dir, "firefox-unknown-cipher.json");
  writeFileSync(file, JSON.stringify(json));

  const imp = await runCli(["profiles", "import", file, "--name", "odd"]);
  expect(imp.code).toBe(0);
  expect(imp.stderr.split("\n").filter((l) => l !== "")).toEqual([
    "not reproducible: cipher suite 0x1234: not supported by the engine",
  ]);
  expect(imp.stdout).toContain("# - cipher suite 0x1234: not supported by the engine");
  // Everything else is kept: the profile is the built-in Firefox one.
  const { spec } = configWith("odd", imp.stdout);
  expect(specDiffs(spec, builtins.spec("firefox-145-macos-arm64"))).toEqual([]);
});

test("the header lists what the import sets by default, not from the capture (it never claims more)", async () => {
  const comments = (toml: string) =>
    toml
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .join("\n");
  // A Chromium hello: every component is sent, but its one extension order and anchor order are frozen.
  const chrome = path.join(import.meta.dir, "fixtures/captures/phantom/chrome-153-windows-hello.txt");
  const c = await runCli(["profiles", "import", chrome, "--name", "imported-chrome"]);
  expectOk(c, "profiles import chrome");
  const head = comments(c.stdout);
  expect(head).toContain(
    "# Every component of the ClientHello is reproduced.\n#\n# Set by default, not from the capture",
  );
  expect(head).toContain(
    "# - permute_extensions = false: the hello's extension order is frozen (extension_order).",
  );
  expect(head).toContain('# - trust_anchors_order = "as-listed": ');
  expect(head).toContain("# - session_tickets_when_resuming = true: ");
  expect(head).toContain('# - [websocket]: Chromium\'s rule whatever the browser (when = "always"');
  expect(head).not.toContain("stream_window_increment"); // no HTTP/2 part imported
  expect(c.stdout).toContain("permute_extensions = false");
  expect(c.stdout).toContain('trust_anchors_order = "as-listed"');
  expect(c.stdout).toContain('when = "always"');
  // A Firefox private window (tls.peet.ws, with HTTP/2): no anchors, no tickets; the stream window is a default.
  const firefox = loadCapture("firefox-145-macos-arm64").file;
  const f = await runCli(["profiles", "import", firefox, "--name", "imported-firefox"]);
  expectOk(f, "profiles import firefox");
  const fh = comments(f.stdout);
  expect(fh).toContain("# - [websocket]: ");
  expect(fh).toContain("# - http2.stream_window_increment: none.");
  expect(fh).not.toContain("trust_anchors_order");
  expect(fh).not.toContain("session_tickets_when_resuming");
  expect(f.stdout).not.toContain("stream_window_increment =");
});
