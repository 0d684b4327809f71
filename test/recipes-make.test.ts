/**
 * Makefile details a newcomer relies on (issue 11, item 7): `make run ARGS="…"` hands the flags to
 * `polytls run`, and the native build announces what it builds and roughly how long it takes.
 * `make` runs in the repository with `-o`/`-n`/`-W`, so nothing is rebuilt by these tests.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { killAll, requireExecutable, runToEnd } from "./helpers/exe-process.ts";

const REPO = resolve(import.meta.dir, "..");
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/" };
const MAKE_TIMEOUT_MS = 30_000; // ms; make itself answers in well under a second

afterAll(killAll);

function make(...args: string[]) {
  return runToEnd(["make", "--no-print-directory", ...args], { cwd: REPO, env, timeoutMs: MAKE_TIMEOUT_MS });
}

describe("make run ARGS", () => {
  test("the flags in ARGS reach polytls run: a good profile checks out, an unknown one is refused", async () => {
    requireExecutable();
    // -o: use dist/polytls as it is (never rebuild it from a test); --check exits after validating.
    const ok = await make("-s", "-o", "dist/polytls", "run", "ARGS=--check -p firefox");
    expect(ok.stderr).toBe("");
    expect(ok.stdoutText).toStartWith("configuration OK");
    expect(ok.code).toBe(0);
    const bad = await make("-s", "-o", "dist/polytls", "run", "ARGS=--check -p no-such-profile");
    expect(bad.stderr).toContain('unknown profile "no-such-profile"');
    expect(bad.code).not.toBe(0);
  });

  test("without ARGS, make run is plain `polytls run`", async () => {
    const dry = await make("-n", "-o", "dist/polytls", "run");
    expect(dry.code).toBe(0);
    expect(dry.stdoutText.trimEnd().split("\n").at(-1)?.trimEnd()).toBe("dist/polytls run");
  });
});

describe("make native", () => {
  test("announces, in one line before the build, what it builds and roughly how long it takes", async () => {
    // -W: pretend Cargo.toml changed, so the recipe is shown even when the library is up to date.
    const dry = await make("-n", "-W", "ffi/Cargo.toml", "native");
    expect(dry.code).toBe(0);
    const lines = dry.stdoutText.split("\n");
    const announce = lines.filter((l) => l.startsWith('echo "native: '));
    expect(announce).toHaveLength(1);
    const cargo = lines.findIndex((l) => l.includes("cargo build --release"));
    expect(cargo).toBeGreaterThan(lines.indexOf(announce[0] as string));
    // What the user sees: the echo, run by the shell as make would.
    const shown = await runToEnd(["bash", "-c", announce[0] as string], { cwd: REPO, env });
    expect(shown.code).toBe(0);
    const out = shown.stdoutText.trimEnd();
    expect(out.split("\n")).toHaveLength(1);
    expect(out).toMatch(/^native: building .*libpolyboring.*BoringSSL.*~\d+ s on \d+ cores.*\d+$/);
  });
});
