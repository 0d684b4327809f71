/**
 * Strict command lines. citty ignores options and arguments a command does not declare, so a typo
 * (`--upstream-insecure-skip-verfy`) or a guess (`run --port 9090`) would silently do something
 * else. `checkArgv` walks the command tree once, before citty runs anything, and refuses with a
 * UsageError (exit status USAGE_EXIT_CODE):
 *
 * - an unknown or missing sub-command;
 * - an option the command does not declare (before or after its sub-command), with a "did you
 *   mean" hint from SYNONYMS or the closest declared name;
 * - more positional arguments than declared, or a missing required one;
 * - a string option without a value (at the end, or followed by another option), a boolean given a
 *   value other than `true` / `false`, `--no-X` for an X that is not a boolean.
 *
 * Accepted spellings are citty's: `--name value`, `--name=value`, the camelCase form (`--caDir`),
 * declared short aliases (`-p NAME`, `-pNAME`), `--no-<boolean>`, and `--` before positionals.
 */
import { closest } from "./suggest.ts";

export const USAGE_EXIT_CODE = 2; // like getopt-based tools: 2 = bad command line, 1 = any other error

/** Options people try from other proxies and tools, mapped to ours (suggested when the command has it). */
const SYNONYMS: Readonly<Record<string, string>> = {
  port: "listen",
  bind: "listen",
  host: "listen",
  address: "listen",
  addr: "listen",
  verbose: "log-level",
  debug: "log-level",
  quiet: "log-level",
  json: "log-format",
  insecure: "upstream-insecure-skip-verify",
  cacert: "upstream-ca-file",
  "ca-file": "upstream-ca-file",
  ca: "ca-dir",
};

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Resolvable<T> = T | Promise<T> | (() => T | Promise<T>);

interface ArgDef {
  type?: string;
  alias?: string | readonly string[];
  required?: boolean;
  default?: unknown;
  valueHint?: string;
}

/** The part of a citty command definition the check reads. */
export interface CommandLike {
  args?: Resolvable<Record<string, ArgDef>>;
  subCommands?: Resolvable<Record<string, Resolvable<CommandLike>>>;
}

async function resolve<T>(v: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

interface Option {
  name: string;
  boolean: boolean;
  valueHint: string | undefined;
}

interface Spec {
  command: string;
  long: Map<string, Option>;
  short: Map<string, Option>;
  positionals: { name: string; required: boolean }[];
}

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

function specOf(command: string, defs: Record<string, ArgDef>): Spec {
  const spec: Spec = { command, long: new Map(), short: new Map(), positionals: [] };
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") {
      spec.positionals.push({
        name: name.toUpperCase(),
        required: def.required !== false && def.default === undefined,
      });
      continue;
    }
    const opt: Option = { name, boolean: def.type === "boolean", valueHint: def.valueHint };
    const aliases = typeof def.alias === "string" ? [def.alias] : (def.alias ?? []);
    for (const spelling of [name, camel(name), kebab(name), ...aliases]) {
      (spelling.length === 1 ? spec.short : spec.long).set(spelling, opt);
    }
  }
  return spec;
}

function fail(spec: Spec, problem: string): never {
  throw new UsageError(`${problem} (see "${spec.command} --help")`);
}

function unknownOption(spec: Spec, typed: string): never {
  const declared = [...new Set([...spec.long.values()].map((o) => o.name))];
  const synonym = SYNONYMS[typed.toLowerCase()];
  const hint = synonym !== undefined && declared.includes(synonym) ? synonym : closest(typed, declared);
  const mean = hint === undefined ? "" : `; did you mean --${hint}?`;
  fail(spec, `unknown option --${typed} for "${spec.command}"${mean}`);
}

/** The value of a string option written `flag value`: present and not another option. */
function takeValue(spec: Spec, flag: string, opt: Option, next: string | undefined): void {
  if (next === undefined || (next.startsWith("-") && next !== "-")) {
    const hint = opt.valueHint === undefined ? "" : ` (${opt.valueHint})`;
    fail(spec, `option ${flag} needs a value${hint}`);
  }
}

/** Checks options and positionals of one command; `tokens` are the arguments after its name. */
function checkTokens(spec: Spec, tokens: readonly string[]): void {
  const positionals: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? "";
    if (t === "--") {
      positionals.push(...tokens.slice(i + 1));
      break;
    }
    if (t.startsWith("--")) {
      const eq = t.indexOf("=");
      const name = eq < 0 ? t.slice(2) : t.slice(2, eq);
      const inline = eq < 0 ? undefined : t.slice(eq + 1);
      const opt = spec.long.get(name);
      if (opt === undefined) {
        const negated = name.startsWith("no-") ? spec.long.get(name.slice(3)) : undefined;
        if (negated === undefined) unknownOption(spec, name);
        if (!negated.boolean) {
          fail(spec, `option --${name}: --${negated.name} takes a value and cannot be negated`);
        }
        if (inline !== undefined) fail(spec, `option --${name} takes no value`);
        continue;
      }
      if (opt.boolean) {
        if (inline !== undefined && inline !== "true" && inline !== "false") {
          fail(spec, `option --${name} takes no value (or true / false), got "${inline}"`);
        }
      } else if (inline === undefined) {
        takeValue(spec, `--${name}`, opt, tokens[i + 1]);
        i++;
      } else if (inline.length === 0) {
        fail(spec, `option --${name} needs a value`);
      }
      continue;
    }
    if (t.startsWith("-") && t !== "-") {
      const letter = t.slice(1, 2);
      const opt = spec.short.get(letter);
      if (opt === undefined) fail(spec, `unknown option -${letter} for "${spec.command}"`);
      if (!opt.boolean && t.length === 2) {
        takeValue(spec, t, opt, tokens[i + 1]);
        i++;
      } else if (opt.boolean && t.length > 2) {
        fail(spec, `option -${letter} takes no value`);
      }
      continue;
    }
    positionals.push(t);
  }
  const extra = positionals[spec.positionals.length];
  if (extra !== undefined) {
    const takes = spec.positionals.map((p) => p.name).join(" ");
    const which = takes === "" ? "which takes no arguments" : `which takes ${takes}`;
    fail(spec, `unexpected argument "${extra}" for "${spec.command}", ${which}`);
  }
  const missing = spec.positionals.slice(positionals.length).find((p) => p.required);
  if (missing !== undefined) fail(spec, `missing argument ${missing.name} for "${spec.command}"`);
}

/** Where the sub-command name is, as citty finds it: the first token that is not an option or its value. */
function subCommandIndex(spec: Spec, tokens: readonly string[]): number {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? "";
    if (t === "--") return -1;
    if (!t.startsWith("-")) return i;
    const opt = t.startsWith("--") ? spec.long.get(t.slice(2)) : spec.short.get(t.slice(1));
    if (opt !== undefined && !opt.boolean) i++;
  }
  return -1;
}

/** Throws UsageError for the first problem in `argv` (the arguments after the program name). */
export async function checkArgv(
  root: CommandLike,
  argv: readonly string[],
  program = "polytls",
): Promise<void> {
  let cmd = root;
  let path = [program];
  let tokens = argv;
  for (;;) {
    const spec = specOf(path.join(" "), (await resolve(cmd.args)) ?? {});
    const subs = (await resolve(cmd.subCommands)) ?? {};
    const names = Object.keys(subs);
    if (names.length === 0) return checkTokens(spec, tokens);
    const at = subCommandIndex(spec, tokens);
    checkTokens({ ...spec, positionals: [] }, at < 0 ? tokens : tokens.slice(0, at));
    const name = tokens[at];
    if (name === undefined) fail(spec, `missing command for "${spec.command}": one of ${names.join(", ")}`);
    const sub = Object.hasOwn(subs, name) ? await resolve(subs[name]) : undefined;
    if (sub === undefined) {
      const hint = closest(name, names);
      const shown = [...path.slice(1), name].join(" ");
      fail(spec, `unknown command "${shown}"${hint === undefined ? "" : `; did you mean "${hint}"?`}`);
    }
    cmd = sub;
    path = [...path, name];
    tokens = tokens.slice(at + 1);
  }
}
