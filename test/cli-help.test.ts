/**
 * The `--help` screens: every command's usage line names it as it is typed, from `polytls` down
 * (`USAGE polytls ca path`, where citty alone writes `USAGE ca path`), with the version, and the
 * top screen says how to print the version. Run through the CLI entry as a child process.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { main } from "../src/cli/main.ts";
import { POLYTLS_VERSION } from "../src/cli/version.ts";
import { CLI_MAIN, killAll, makeSandbox, runToEnd } from "./helpers/exe-process.ts";

const TEST_TIMEOUT_MS = 60_000; // ms; a dozen short child processes on a shared CI machine
setDefaultTimeout(TEST_TIMEOUT_MS);

const sandbox = makeSandbox("polytls-cli-help-");
afterAll(async () => {
  await killAll();
  rmSync(sandbox.root, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour sequences are the point
const ANSI = /\u001b\[[0-9;]*m/g;

/** The help screen of `path`, colours removed. */
async function help(path: string[]): Promise<string> {
  const r = await runToEnd([process.execPath, CLI_MAIN, ...path, "--help"], {
    cwd: sandbox.root,
    env: sandbox.env,
  });
  expect(r.code, r.stderr).toBe(0);
  return r.stdoutText.replace(ANSI, "");
}

interface Node {
  subCommands?: Record<string, Node>;
}

/** Every command path under `node`, groups included (`[]` is the root). */
function allPaths(node: Node, prefix: string[] = []): string[][] {
  return [
    prefix,
    ...Object.entries(node.subCommands ?? {}).flatMap(([n, sub]) => allPaths(sub, [...prefix, n])),
  ];
}

describe("--help", () => {
  test("every command's usage line starts with polytls and its whole path, and shows the version", async () => {
    const paths = allPaths(main as unknown as Node);
    expect(paths.map((p) => p.join(" "))).toContain("ca path");
    for (const path of paths) {
      const text = await help(path);
      const name = ["polytls", ...path].join(" ");
      const usage = text.split("\n").find((l) => l.startsWith("USAGE "));
      expect(usage, `${name}: ${text}`).toStartWith(`USAGE ${name}`);
      // What follows the path is its options or sub-commands, never more of a name.
      expect(usage?.slice(`USAGE ${name}`.length) ?? "", name).toMatch(/^($| )/);
      expect(text, name).toContain(`(${name} v${POLYTLS_VERSION})`);
    }
  });

  test("the top screen names --version; it prints the version", async () => {
    expect(await help([])).toContain("polytls --version");
    const r = await runToEnd([process.execPath, CLI_MAIN, "--version"], {
      cwd: sandbox.root,
      env: sandbox.env,
    });
    expect(r.code).toBe(0);
    expect(r.stdoutText).toStartWith(`polytls ${POLYTLS_VERSION}\n`);
  });
});
