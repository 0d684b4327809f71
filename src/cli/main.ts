#!/usr/bin/env bun
/** The `polytls` command line. */
import { defineCommand, runMain } from "citty";
import { ProxyError } from "../errors/proxy-error.ts";
import { scrubSecrets } from "../log/redact.ts";
import { type CommandLike, checkArgv, USAGE_EXIT_CODE, UsageError } from "./argv-check.ts";
import { caCommand } from "./commands/ca.ts";
import { fingerprintCommand } from "./commands/fingerprint.ts";
import { profilesCommand } from "./commands/profiles.ts";
import { runCommand } from "./commands/run.ts";
import { usagePrinter } from "./usage.ts";
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
 * <reason>`) and exit status 1, instead of citty's stack trace. Credential-shaped text in the
 * message (a URL with a password given as a path, say) is scrubbed like in a log line.
 */
function guard(cmd: CommandNode): void {
  const run = cmd.run;
  if (run) {
    cmd.run = async (ctx: never) => {
      try {
        await run(ctx);
      } catch (err) {
        const msg = err instanceof ProxyError ? `${err.code}: ${err.message}` : String(err);
        console.error(`polytls: ${scrubSecrets(msg)}`);
        process.exit(1);
      }
    };
  }
  for (const sub of Object.values(cmd.subCommands ?? {})) guard(sub as CommandNode);
}
guard(main as CommandNode);

/** citty shows the usage, and runs nothing, when any argument asks for help. */
const HELP_FLAGS: readonly string[] = ["--help", "-h"];

/**
 * Runs the CLI. The whole command line is checked first (argv-check.ts): an unknown option, a stray
 * argument or an unknown command is `polytls: USAGE: …` and exit status 2, before anything runs.
 */
export async function cli(argv: string[]): Promise<void> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    console.log(versionText());
    return;
  }
  if (!argv.some((a) => HELP_FLAGS.includes(a))) {
    try {
      await checkArgv(main as CommandLike, argv);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      console.error(`polytls: USAGE: ${scrubSecrets(err.message)}`);
      process.exit(USAGE_EXIT_CODE);
    }
  }
  await runMain(main, { rawArgs: argv, showUsage: usagePrinter(main, "polytls", POLYTLS_VERSION) });
}

if (import.meta.main) await cli(process.argv.slice(2));
