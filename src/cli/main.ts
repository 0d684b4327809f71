#!/usr/bin/env bun
/** The `polytls` command line. */
import { defineCommand, runMain } from "citty";
import { ProxyError } from "../errors/proxy-error.ts";
import { caCommand } from "./commands/ca.ts";
import { fingerprintCommand } from "./commands/fingerprint.ts";
import { profilesCommand } from "./commands/profiles.ts";
import { runCommand } from "./commands/run.ts";
import { POLYTLS_VERSION, versionText } from "./version.ts";

export const main = defineCommand({
  meta: {
    name: "polytls",
    version: POLYTLS_VERSION,
    description:
      "HTTP CONNECT proxy whose upstream TLS ClientHello is a real browser's (authorized testing only)",
  },
  subCommands: {
    run: runCommand,
    ca: caCommand,
    profiles: profilesCommand,
    fingerprint: fingerprintCommand,
  },
});

interface CommandNode {
  run?: (ctx: never) => unknown;
  subCommands?: Record<string, unknown>;
}

/**
 * Makes every command's failure one clear line on stderr (`polytls: CONFIG_INVALID: <key path>:
 * <reason>`) and exit status 1, instead of citty's stack trace.
 */
function guard(cmd: CommandNode): void {
  const run = cmd.run;
  if (run) {
    cmd.run = async (ctx: never) => {
      try {
        await run(ctx);
      } catch (err) {
        const msg = err instanceof ProxyError ? `${err.code}: ${err.message}` : String(err);
        console.error(`polytls: ${msg}`);
        process.exit(1);
      }
    };
  }
  for (const sub of Object.values(cmd.subCommands ?? {})) guard(sub as CommandNode);
}
guard(main as CommandNode);

/** Runs the CLI. */
export async function cli(argv: string[]): Promise<void> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    console.log(versionText());
    return;
  }
  await runMain(main, { rawArgs: argv });
}

if (import.meta.main) await cli(process.argv.slice(2));
