/**
 * The Deno-compatible core (issue 11, item 8): Deno comes from npm at the pinned version, runs the
 * core modules with the same results as Bun, and `scripts/deno-check.sh` (run by `make check`)
 * refuses a core module that uses a Bun-only API or reaches the bun:ffi adapter.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { killAll, runToEnd } from "./helpers/exe-process.ts";

const REPO = resolve(import.meta.dir, "..");
const DENO = join(REPO, "node_modules/.bin/deno");
const CHECK = join(REPO, "scripts/deno-check.sh");
const PROBE = join(REPO, "test/helpers/recipe-deno-probe.ts");
const DENO_TIMEOUT_MS = 60_000; // ms; a check with a cold cache takes ~4 s here
const TEST_TIMEOUT_MS = 120_000; // ms; two runtimes or two checks per test

/** The environment of a check: no proxy variables, nothing from the caller but PATH and HOME. */
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir(), NO_COLOR: "1" };

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "polytls-deno-"));
});

afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("Deno-compatible core", () => {
  test("node_modules/.bin/deno is the version pinned in package.json", async () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    const pinned = pkg.devDependencies.deno;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/); // exact, not a range
    const r = await runToEnd([DENO, "--version"], { cwd: REPO, env });
    expect(r.code).toBe(0);
    expect(r.stdoutText.split("\n")[0]).toStartWith(`deno ${pinned} `);
  });

  test(
    "Deno runs the core modules with Bun's results: every built-in profile's spec, PEM",
    async () => {
      const denoEnv = { ...env, DENO_DIR: join(REPO, "node_modules/.cache/deno") };
      const denoRun = [
        DENO,
        "run",
        "--quiet",
        "--cached-only",
        "--no-prompt",
        "--config",
        "deno.json",
        PROBE,
      ];
      const timeoutMs = DENO_TIMEOUT_MS;
      const deno = await runToEnd(denoRun, { cwd: REPO, env: denoEnv, timeoutMs });
      const bun = await runToEnd([process.execPath, PROBE], { cwd: REPO, env, timeoutMs });
      expect(deno.stderr).toBe("");
      expect(bun.stderr).toBe("");
      const out = JSON.parse(deno.stdoutText) as { specs: Record<string, unknown>; pem: unknown };
      expect(Object.keys(out.specs)).toContain("chrome-143-macos-arm64");
      expect(Object.keys(out.specs)).toContain("firefox-145-macos-arm64");
      expect(out.pem).toEqual([0x30, 0x03, 0x02, 0x01, 0x07]);
      expect(deno.stdoutText).toBe(bun.stdoutText);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the check refuses Bun globals, import.meta.dir and the bun:ffi adapter; core imports pass",
    async () => {
      const write = (name: string, text: string) => {
        const path = join(dir, name);
        writeFileSync(path, text);
        return path;
      };
      const src = (p: string) => JSON.stringify(join(REPO, "src", p));
      const usesBun = write("uses-bun.ts", 'export const f = Bun.file("x");\n');
      const usesDir = write("uses-dir.ts", "export const d: string = import.meta.dir;\n");
      const usesFfi = write("uses-ffi.ts", `export { loadNative } from ${src("upstream/native/ffi.ts")};\n`);
      const core = write(
        "core.ts",
        [
          `import { decodePem } from ${src("pki/pem.ts")};`,
          `import { BUILTIN_PROFILES } from ${src("profiles/builtin.ts")};`,
          `import { ConnectParser } from ${src("proxy/connect-parser.ts")};`,
          "export const n: number = BUILTIN_PROFILES.length;",
          'export const ok: boolean = decodePem("", "X").ok;',
          "export type P = ConnectParser;",
          "",
        ].join("\n"),
      );
      const timeoutMs = DENO_TIMEOUT_MS;
      const bad = await runToEnd([CHECK, usesBun, usesDir, usesFfi], { cwd: REPO, env, timeoutMs });
      expect(bad.code).not.toBe(0);
      const errors = bad.stderr;
      expect(errors).toContain("Cannot find name 'Bun'");
      expect(errors).toContain("Property 'dir' does not exist on type 'ImportMeta'");
      expect(errors).toContain("bun-only-module-outside-the-deno-core/ffi");

      const good = await runToEnd([CHECK, core], { cwd: REPO, env, timeoutMs });
      expect(good.stderr).toBe("");
      expect(good.code).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
