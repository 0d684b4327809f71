/** Runs the `polytls` command line in a child process, as a user would (tests only). */
import path from "node:path";

export const REPO_ROOT = path.join(import.meta.dir, "..", "..");
const MAIN = path.join(REPO_ROOT, "src", "cli", "main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `bun src/cli/main.ts ...args` with the repository root as working directory. */
export async function runCli(args: readonly string[]): Promise<CliResult> {
  const child = Bun.spawn([process.execPath, MAIN, ...args], {
    cwd: REPO_ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}
