/**
 * What the README's client recipes run against: `polytls run` from source in a fresh working
 * folder (so it creates `ca/certificate.pem` there, as on a user's first run), in MITM mode with
 * the default profile, in front of an HTTP/2 + HTTP/1.1 origin on 127.0.0.1 whose certificate the
 * proxy trusts through `--upstream-ca-file`. Also finds the client tools a recipe needs.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { dirname, join } from "node:path";
import { CLI_MAIN, type LogRecord, listenPort, RunningChild } from "./exe-process.ts";
import { type H2Origin, startH2Origin } from "./origins.ts";
import { makeTestPki } from "./tls-env.ts";

export interface RecipeProxy {
  /** The proxy's working folder: the recipes' commands run here (`ca/certificate.pem`). */
  cwd: string;
  proxyPort: number;
  /** `https://127.0.0.1:PORT` of the origin. */
  originUrl: string;
  origin: H2Origin;
  /** Resolves with the first `tunnel closed` record of a tunnel to the origin matching `where`. */
  tunnelClosed(where: (r: LogRecord) => boolean): Promise<LogRecord>;
  stop(): Promise<void>;
}

/** Starts the origin and the proxy; `root` is a sandbox from makeSandbox (HOME, PATH inside). */
export async function startRecipeProxy(root: string, env: Record<string, string>): Promise<RecipeProxy> {
  const pki = await makeTestPki();
  const origin = await startH2Origin(await pki.leaf("127.0.0.1"));
  const cwd = mkdtempSync(join(root, "recipe-"));
  const args = [
    "run",
    "--listen",
    "127.0.0.1:0",
    "--upstream-ca-file",
    pki.caCertPath,
    "--log-format",
    "json",
  ];
  const proxy = new RunningChild([process.execPath, CLI_MAIN, ...args], { cwd, env });
  const proxyPort = listenPort(await proxy.waitForLog("proxy listening"));
  const host = `127.0.0.1:${origin.port}`;
  return {
    cwd,
    proxyPort,
    originUrl: `https://${host}`,
    origin,
    tunnelClosed: (where) => proxy.waitForLog("tunnel closed", (r) => r.host === host && where(r)),
    stop: async () => {
      try {
        proxy.signal("SIGTERM");
        await proxy.waitForExit(10_000);
        await origin.close();
      } finally {
        pki.remove(); // `cwd` is under the caller's sandbox, which the caller removes
      }
    },
  };
}

/**
 * The absolute path of a client tool (`java`, `keytool`, `go`) on this process's PATH. Throws,
 * never skips: the recipe tests need these tools on every machine that runs the suite.
 */
export function requireTool(name: string): string {
  const found = Bun.which(name);
  if (found === null) {
    throw new Error(`${name} is not on PATH: the client recipe tests need it (install a JDK 11+ and Go)`);
  }
  return found;
}

/** A PATH holding only the folders of these tools and the system's basic ones. */
export function pathFor(tools: string[]): string {
  return [...new Set([...tools.map((t) => dirname(t)), "/usr/bin", "/bin"])].join(":");
}

/** The Go build cache of the user running the tests, reused so `go run` does not rebuild net/http. */
export function goBuildCache(go: string): string {
  return execFileSync(go, ["env", "GOCACHE"], { encoding: "utf8" }).trim();
}
