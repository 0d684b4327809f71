/**
 * Every `polytls` command refuses what it does not know: an unknown option, a stray argument, an
 * unknown or missing sub-command, a string option without its value. Each is one line on stderr
 * (`polytls: USAGE: …`, with a "did you mean" hint when one is close), exit status 2, and nothing
 * is done (no CA created, no proxy started). Run through the CLI entry as a child process.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.ts";
import { CLI_MAIN, killAll, makeSandbox, type RunResult, runToEnd } from "./helpers/exe-process.ts";

const TEST_TIMEOUT_MS = 60_000; // ms; ~20 short child processes per test on a shared CI machine
setDefaultTimeout(TEST_TIMEOUT_MS);
const USAGE_EXIT = 2; // exit status of a command-line usage error (README, "Configuration")
const CAPTURE = resolve(import.meta.dir, "fixtures/fingerprints/chrome-143-macos-arm64.json");

const sandbox = makeSandbox("polytls-cli-args-");
afterAll(async () => {
  await killAll();
  rmSync(sandbox.root, { recursive: true, force: true });
});

function workdir(): string {
  return mkdtempSync(join(sandbox.root, "cwd-"));
}

function cli(cwd: string, ...args: string[]): Promise<RunResult> {
  return runToEnd([process.execPath, CLI_MAIN, ...args], { cwd, env: sandbox.env });
}

/**
 * Every leaf command with arguments that make it succeed quickly and harmlessly on its own (`run`
 * only checks its config), so that only the added bogus option or argument can explain a refusal.
 */
const COMMANDS: { path: string[]; valid: string[] }[] = [
  { path: ["run"], valid: ["--check"] },
  { path: ["ca", "init"], valid: [] },
  { path: ["ca", "path"], valid: [] },
  { path: ["ca", "export"], valid: [] },
  { path: ["profiles", "list"], valid: [] },
  { path: ["profiles", "show"], valid: ["chrome"] },
  { path: ["profiles", "import"], valid: [CAPTURE] },
  { path: ["fingerprint"], valid: ["-p", "chrome"] },
];

interface Node {
  subCommands?: Record<string, Node>;
}

function leafPaths(node: Node, prefix: string[] = []): string[][] {
  const subs = Object.entries(node.subCommands ?? {});
  if (subs.length === 0) return [prefix];
  return subs.flatMap(([name, sub]) => leafPaths(sub, [...prefix, name]));
}

/** A refusal: usage exit status, one `polytls: USAGE:` line naming `parts`, nothing on stdout or disk. */
function expectUsage(r: RunResult, cwd: string, parts: string[]): void {
  const what = `exit ${r.code}; stdout ${JSON.stringify(r.stdoutText)}; stderr ${JSON.stringify(r.stderr)}`;
  expect(r.code, what).toBe(USAGE_EXIT);
  expect(r.stdoutText, what).toBe("");
  const line = r.stderr.split("\n").find((l) => l.startsWith("polytls: USAGE: "));
  expect(line, what).toBeDefined();
  for (const part of parts) expect(line, what).toContain(part);
  expect(readdirSync(cwd), what).toEqual([]); // no CA, nothing else created
}

describe("every command", () => {
  test("the table covers every command of the CLI", () => {
    const known = leafPaths(main as unknown as Node).map((p) => p.join(" "));
    expect(COMMANDS.map((c) => c.path.join(" ")).sort()).toEqual(known.sort());
  });

  test("refuses an unknown option, after or before its arguments", async () => {
    for (const { path, valid } of COMMANDS) {
      const cwd = workdir();
      expectUsage(await cli(cwd, ...path, ...valid, "--bogus"), cwd, [
        "unknown option --bogus",
        path.join(" "),
      ]);
      expectUsage(await cli(cwd, ...path, "--bogus=1", ...valid), cwd, ["unknown option --bogus"]);
    }
  });

  test("refuses a stray argument", async () => {
    for (const { path, valid } of COMMANDS) {
      const cwd = workdir();
      expectUsage(await cli(cwd, ...path, ...valid, "stray"), cwd, ['unexpected argument "stray"']);
    }
  });

  test("refuses an unknown option placed before the sub-command", async () => {
    const cwd = workdir();
    expectUsage(await cli(cwd, "--bogus", "profiles", "list"), cwd, ["unknown option --bogus"]);
    expectUsage(await cli(cwd, "ca", "--bogus", "path"), cwd, ["unknown option --bogus"]);
    expectUsage(await cli(cwd, "--version", "run", "--check"), cwd, ["unknown option --version"]);
  });

  test("the valid forms of the table still succeed", async () => {
    for (const { path, valid } of COMMANDS) {
      if (path.join(" ") === "ca export" || path.join(" ") === "ca path") continue; // need a CA first
      const r = await cli(workdir(), ...path, ...valid);
      expect(r.code, `${path.join(" ")}: ${r.stderr}`).toBe(0);
    }
  });
});

describe("hints", () => {
  test("a bad --next-hop shows the form whole: the secret scrubber does not take it for a password", async () => {
    const r = await cli(workdir(), "run", "--check", "--next-hop", "ftp://a:1");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('"http://", "socks5://" or "socks5h://" [user[:password]@]host:port');
    expect(r.stderr).not.toContain("[redacted]");
  });

  test("run --port suggests --listen, and nothing starts", async () => {
    const cwd = workdir();
    expectUsage(await cli(cwd, "run", "--check", "--port", "9090"), cwd, [
      "unknown option --port",
      "did you mean --listen?",
    ]);
  });

  test("a misspelt option suggests the right one (typo, transposition, prefix)", async () => {
    const cases: [string[], string, string][] = [
      [
        ["run", "--check", "--upstream-insecure-skip-verfy"],
        "--upstream-insecure-skip-verfy",
        "--upstream-insecure-skip-verify",
      ],
      [["run", "--check", "--lsiten", "127.0.0.1:0"], "--lsiten", "--listen"],
      [["ca", "init", "--froce"], "--froce", "--force"],
      [["run", "--check", "--log-lvl", "debug"], "--log-lvl", "--log-level"],
      [["fingerprint", "--comapre", "x.json"], "--comapre", "--compare"],
      [["ca", "export", "--DER"], "--DER", "--der"],
    ];
    for (const [args, bad, hint] of cases) {
      const cwd = workdir();
      expectUsage(await cli(cwd, ...args), cwd, [`unknown option ${bad}`, `did you mean ${hint}?`]);
    }
  });

  test("unknown and missing sub-commands are usage errors too, with a hint", async () => {
    const cwd = workdir();
    expectUsage(await cli(cwd, "ca", "inti"), cwd, ['unknown command "ca inti"', 'did you mean "init"?']);
    expectUsage(await cli(cwd, "profile", "list"), cwd, [
      'unknown command "profile"',
      'did you mean "profiles"?',
    ]);
    expectUsage(await cli(cwd, "ca"), cwd, ["missing command", "init", "path", "export"]);
    expectUsage(await cli(cwd, "profiles", "show"), cwd, ["missing argument NAME"]);
  });
});

describe("option values", () => {
  test("a string option without a value, or followed by another option, is refused", async () => {
    const cwd = workdir();
    expectUsage(await cli(cwd, "run", "--check", "--listen"), cwd, ["--listen needs a value"]);
    expectUsage(await cli(cwd, "run", "--listen", "--check"), cwd, ["--listen needs a value"]);
    expectUsage(await cli(cwd, "run", "--check", "-p"), cwd, ["-p needs a value"]);
  });

  test("a boolean option takes no value but true/false", async () => {
    const cwd = workdir();
    expectUsage(await cli(cwd, "run", "--check=maybe"), cwd, ["--check"]);
    expectUsage(await cli(cwd, "run", "--check", "--no-bogus"), cwd, ["unknown option --no-bogus"]);
    expectUsage(await cli(cwd, "run", "--check", "--no-listen"), cwd, ["--no-listen"]);
  });

  test("accepted spellings: --k=v, -p v, -pv, --camelCase, --no-<boolean>, -- before a positional, --help", async () => {
    const cwd = workdir();
    const good: string[][] = [
      ["run", "--check", "--listen=127.0.0.1:0", "-p", "chrome", "--log-level", "debug"],
      ["run", "--check", "-pchrome", "--caDir", "elsewhere", "--no-upstream-insecure-skip-verify"],
      ["run", "--check=true"],
      ["profiles", "show", "--", "chrome"],
      ["run", "--help"],
      ["ca", "--help"],
    ];
    for (const args of good) {
      const r = await cli(cwd, ...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    }
    expect(existsSync(join(cwd, "elsewhere"))).toBe(false);
  });
});
