/**
 * Loads the configuration: schema defaults < TOML file < overrides (command-line flags). Every
 * problem in the file, the overrides and the user profiles is reported at once in one
 * ProxyError("CONFIG_INVALID"), one `key.path: reason` per line.
 */
import path from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { ProxyError } from "../errors/proxy-error.ts";
import { buildProfiles } from "../profiles/registry-store.ts";
import { childPath, describe, Issues, isTable } from "./fields.ts";
import { readTextFile } from "./read-text.ts";
import {
  CONFIG_SCHEMA,
  type Config,
  type ConfigOverrides,
  camelCase,
  isField,
  type SchemaSection,
} from "./schema.ts";

export interface LoadOptions {
  /** Config file; relative to `cwd`. Without it the defaults (plus overrides) are used. */
  file?: string;
  overrides?: ConfigOverrides;
  /** Folder relative paths of defaults and overrides resolve against (default: process.cwd()). */
  cwd?: string;
}

type Tree = Record<string, unknown>;

function defaultsOf(section: SchemaSection, cwd: string): Tree {
  const out: Tree = {};
  for (const [key, node] of Object.entries(section)) {
    if (!isField(node)) out[camelCase(key)] = defaultsOf(node, cwd);
    else if (node.type === "path" && typeof node.default === "string")
      out[camelCase(key)] = path.resolve(cwd, node.default);
    else out[camelCase(key)] = structuredClone(node.default);
  }
  return out;
}

/** The configuration with every default; relative default paths resolved against `cwd`. */
export function defaultConfig(cwd: string = process.cwd()): Config {
  const tree = defaultsOf(CONFIG_SCHEMA, cwd);
  return { proxy: tree.proxy, log: tree.log, profiles: {}, file: null } as Config;
}

interface Source {
  /** Keys as written: snake_case in TOML, camelCase in overrides. */
  keyOf: (schemaKey: string) => string;
  label: (keyPath: string) => string;
  baseDir: string;
  issues: Issues;
}

/** Validates `raw` against `section` and writes the values into `target` (camelCase). */
function apply(section: SchemaSection, raw: Tree, target: Tree, prefix: string, src: Source): void {
  const known = new Map(Object.entries(section).map(([k, node]) => [src.keyOf(k), [k, node] as const]));
  for (const [key, value] of Object.entries(raw)) {
    const entry = known.get(key);
    if (entry === undefined) {
      src.issues.add(src.label(childPath(prefix, key)), "unknown key");
      continue;
    }
    if (value === undefined) continue;
    const [schemaKey, node] = entry;
    const keyPath = childPath(prefix, schemaKey);
    const prop = camelCase(schemaKey);
    if (isField(node)) {
      const parsed = node.parse(value, {
        path: src.label(keyPath),
        issues: src.issues,
        baseDir: src.baseDir,
      });
      if (parsed !== undefined) target[prop] = parsed;
    } else if (!isTable(value)) {
      src.issues.add(src.label(keyPath), `expected a table, got ${describe(value)}`);
    } else {
      apply(node, value, target[prop] as Tree, keyPath, src);
    }
  }
}

function parseText(text: string, file: string): Tree {
  try {
    return parseToml(text) as Tree;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split("\n")[0] ?? "syntax error";
      throw new ProxyError("CONFIG_INVALID", `${file}:${err.line}:${err.column}: invalid TOML: ${reason}`, {
        cause: err,
      });
    }
    throw ProxyError.wrap(err, "CONFIG_INVALID", `${file}: invalid TOML`);
  }
}

/** Profiles section: a table of tables, checked and resolved with the built-ins. */
function applyProfiles(raw: unknown, config: Config, issues: Issues): void {
  if (raw === undefined) return;
  if (!isTable(raw)) {
    issues.add("profiles", `expected a table of profiles, got ${describe(raw)}`);
    return;
  }
  config.profiles = raw as Config["profiles"];
}

/** Parses config text already read from `file` (absolute). Pure: no I/O. */
export function parseConfig(text: string, options: LoadOptions & { file: string }): Config {
  return build(parseText(text, options.file), options.file, options);
}

function build(raw: Tree | null, file: string | null, options: LoadOptions): Config {
  const cwd = options.cwd ?? process.cwd();
  const config = defaultConfig(cwd);
  config.file = file;
  const issues = new Issues();
  if (raw !== null && file !== null) {
    const src: Source = { keyOf: (k) => k, label: (p) => p, baseDir: path.dirname(file), issues };
    const { profiles, ...rest } = raw;
    apply(CONFIG_SCHEMA, rest, config as unknown as Tree, "", src);
    applyProfiles(profiles, config, issues);
  }
  if (options.overrides !== undefined) {
    const src: Source = { keyOf: camelCase, label: (p) => `${p} (command line)`, baseDir: cwd, issues };
    apply(CONFIG_SCHEMA, options.overrides as Tree, config as unknown as Tree, "", src);
  }
  const key = "proxy.upstream.default_profile";
  const fromFlag = options.overrides?.proxy?.upstream?.defaultProfile !== undefined;
  buildProfiles(
    config.profiles,
    issues,
    config.proxy.upstream.defaultProfile,
    fromFlag ? `${key} (command line)` : key,
  );
  issues.throwIfAny(file === null ? "invalid configuration:" : `invalid configuration in ${file}:`);
  return config;
}

/** Reads and validates the configuration. Throws ProxyError "IO" or "CONFIG_INVALID". */
export function loadConfig(options: LoadOptions = {}): Config {
  if (options.file === undefined) return build(null, null, options);
  const file = path.resolve(options.cwd ?? process.cwd(), options.file);
  return parseConfig(readTextFile(file, "config file"), { ...options, file });
}
