/**
 * ProfileRegistry: the built-in profiles plus the user's `[profiles."name"]` tables, resolved
 * through `extends` chains and validated once, at start-up. Lookups afterwards cannot fail
 * except for an unknown name (UNKNOWN_PROFILE).
 */
import { parse as parseToml, TomlError } from "smol-toml";
import { childPath, Issues } from "../config/fields.ts";
import type { Config } from "../config/schema.ts";
import { ProxyError } from "../errors/proxy-error.ts";
import type { ProfileSpec } from "../upstream/engine.ts";
import { BUILTIN_ALIASES, BUILTIN_PROFILES, DEFAULT_PROFILE } from "./builtin.ts";
import type { ProfileHttp } from "./http-types.ts";
import type { ProfileMetadata } from "./metadata.ts";
import { mergeHttpTables, resolveHttp } from "./resolve-http.ts";
import {
  PROFILE_FIELDS,
  PROFILE_KEYS,
  type ProfileSettings,
  type ProfileTable,
  parseProfileTable,
  snakeCase,
} from "./schema.ts";
import type { HttpTable } from "./schema-http.ts";
import { toProfileSpec } from "./spec.ts";
import { validateProfile } from "./validate.ts";

export interface ResolvedProfile extends ProfileSettings {
  readonly name: string;
  readonly origin: "builtin" | "config";
  /** This profile then the ones it extends, nearest first. */
  readonly chain: readonly string[];
  /** The HTTP layer (kept out of the engine's ProfileSpec). */
  readonly http: ProfileHttp;
  /** The HTTP tables merged along `chain`, before defaults and kind fallbacks (what `extends` builds on). */
  readonly httpTable: HttpTable;
  /** This profile's own `[metadata]` (not inherited); null when it has none. */
  readonly metadata: ProfileMetadata | null;
}

export interface RegistryOptions {
  /** Target of the `default` alias (proxy.upstream.default_profile); a name or alias. */
  defaultProfile?: string;
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/; // usable as an HTTP header value as-is

/**
 * Why a user profile cannot be called `name`, or null. `default` always follows
 * proxy.upstream.default_profile; a built-in name or alias may be reused (it replaces or hides it).
 */
export function profileNameProblem(name: string): string | null {
  if (!PROFILE_NAME.test(name)) return "invalid profile name (letters, digits, '.', '_', '-'; at most 64)";
  if (name === "default")
    return '"default" is reserved for proxy.upstream.default_profile; choose another name';
  return null;
}

type Origin = ResolvedProfile["origin"];
interface Definition {
  name: string;
  origin: Origin;
  table: ProfileTable;
}

export const profilePath = (name: string): string => childPath("profiles", name, true);

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function parseBuiltins(issues: Issues): Map<string, Definition> {
  const out = new Map<string, Definition>();
  for (const { name, toml } of BUILTIN_PROFILES) {
    let raw: unknown;
    try {
      raw = parseToml(toml);
    } catch (err) {
      const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : "";
      issues.add(profilePath(name), `built-in profile file is not valid TOML${where}`);
      continue;
    }
    const table = parseProfileTable(raw, profilePath(name), issues);
    if (table !== undefined) out.set(name, { name, origin: "builtin", table });
  }
  return out;
}

function parseUser(user: Readonly<Record<string, unknown>>, issues: Issues): Map<string, Definition> {
  const out = new Map<string, Definition>();
  for (const [name, raw] of Object.entries(user)) {
    const problem = profileNameProblem(name);
    if (problem !== null) {
      issues.add(profilePath(name), problem);
      continue;
    }
    const table = parseProfileTable(raw, profilePath(name), issues);
    if (table !== undefined) out.set(name, { name, origin: "config", table });
  }
  return out;
}

/** Builds and validates every profile, recording problems in `issues` (no throw). */
export function buildProfiles(
  user: Readonly<Record<string, unknown>>,
  issues: Issues,
  defaultProfile: string = DEFAULT_PROFILE,
  /** Where the default profile was set, as issues name it (a flag adds " (command line)"). */
  defaultProfileKey = "proxy.upstream.default_profile",
): { profiles: Map<string, ResolvedProfile>; aliases: Map<string, string> } {
  const builtins = parseBuiltins(issues);
  const users = parseUser(user, issues);
  const badNames = new Set(Object.keys(user).filter((n) => !users.has(n)));
  const aliases = new Map(Object.entries(BUILTIN_ALIASES));
  const lookup = (name: string): string | undefined =>
    users.has(name) || builtins.has(name) || badNames.has(name) ? name : aliases.get(name);
  const defaultTarget = lookup(defaultProfile);
  if (defaultTarget === undefined) {
    issues.add(defaultProfileKey, `unknown profile "${defaultProfile}"`);
  } else aliases.set("default", defaultTarget);
  const definition = (name: string): Definition | undefined => users.get(name) ?? builtins.get(name);

  const resolved = new Map<Definition, ResolvedProfile | null>();
  const resolve = (def: Definition, stack: Definition[]): ResolvedProfile | null => {
    const done = resolved.get(def);
    if (done !== undefined) return done;
    const path = profilePath(def.name);
    if (stack.includes(def)) {
      const cycle = [...stack.slice(stack.indexOf(def)), def].map((d) => d.name).join(" -> ");
      issues.add(childPath(path, "extends"), `cycle ${cycle}`);
      return null;
    }
    let base: ResolvedProfile | null = null;
    const parentName = def.table.extends;
    if (parentName !== null) {
      // A user profile extending its own name refines the built-in of that name. A built-in's
      // parent is always a built-in: a user profile replacing that name changes only that name
      // (and the user profiles extending it), never the other captures built on it.
      const parentDef =
        def.origin === "builtin"
          ? (builtins.get(parentName) ?? builtins.get(BUILTIN_ALIASES[parentName] ?? ""))
          : parentName === def.name && builtins.has(def.name)
            ? builtins.get(def.name)
            : definition(lookup(parentName) ?? "");
      if (parentDef === undefined) {
        if (!badNames.has(parentName))
          issues.add(childPath(path, "extends"), `unknown profile "${parentName}"`);
        resolved.set(def, null);
        return null;
      }
      base = resolve(parentDef, [...stack, def]);
      if (base === null) {
        resolved.set(def, null);
        return null;
      }
    }
    const result = merge(def, base, issues);
    resolved.set(def, result);
    return result;
  };

  const profiles = new Map<string, ResolvedProfile>();
  for (const def of [...builtins.values(), ...users.values()]) {
    const profile = resolve(def, []);
    if (profile !== null && definition(def.name) === def) profiles.set(def.name, deepFreeze(profile));
  }
  return { profiles, aliases };
}

function merge(def: Definition, base: ResolvedProfile | null, issues: Issues): ResolvedProfile | null {
  const path = profilePath(def.name);
  const values = def.table.values;
  const settings: Record<string, unknown> = {};
  for (const key of PROFILE_KEYS) {
    if (values[key] !== undefined) settings[key] = values[key];
    else if (base !== null) settings[key] = base[key];
    else if (PROFILE_FIELDS[key].required) {
      issues.add(childPath(path, snakeCase(key)), "missing (required when the profile has no extends)");
    } else settings[key] = structuredClone(PROFILE_FIELDS[key].default);
  }
  // extension_order and permute_extensions are one choice: setting one drops the inherited other.
  if (values.permuteExtensions === true && values.extensionOrder === undefined)
    settings.extensionOrder = null;
  if (values.extensionOrder && values.permuteExtensions === undefined) settings.permuteExtensions = false;
  const before = issues.count;
  const httpTable = mergeHttpTables(base?.httpTable ?? null, def.table.http);
  const http = resolveHttp(httpTable, path, issues);
  if (Object.keys(settings).length !== PROFILE_KEYS.length) return null;
  const s = settings as unknown as ProfileSettings;
  validateProfile(s, path, issues);
  if (issues.count > before || http === undefined) return null;
  return {
    ...structuredClone(s),
    name: def.name,
    origin: def.origin,
    chain: [def.name, ...(base?.chain ?? [])],
    http,
    httpTable,
    metadata: structuredClone(def.table.metadata),
  };
}

export class ProfileRegistry {
  private readonly profiles: Map<string, ResolvedProfile>;
  private readonly aliasMap: Map<string, string>;
  private readonly specs = new Map<string, ProfileSpec>();

  /** Validates everything now; throws one ProxyError("CONFIG_INVALID") listing every problem. */
  constructor(user: Readonly<Record<string, unknown>> = {}, options: RegistryOptions = {}) {
    const issues = new Issues();
    const { profiles, aliases } = buildProfiles(user, issues, options.defaultProfile);
    // A profile named like an alias hides the alias (resolveName looks at profiles first).
    for (const alias of [...aliases.keys()]) if (profiles.has(alias)) aliases.delete(alias);
    this.profiles = profiles;
    this.aliasMap = aliases;
    issues.throwIfAny("invalid profiles:");
  }

  /** The registry for a loaded configuration (user profiles, `default` = default_profile). */
  static fromConfig(config: Pick<Config, "profiles" | "proxy">): ProfileRegistry {
    return new ProfileRegistry(config.profiles, { defaultProfile: config.proxy.upstream.defaultProfile });
  }

  /** Profile names, sorted. */
  names(): string[] {
    return [...this.profiles.keys()].sort();
  }

  /** Alias -> profile name. A profile named like an alias hides the alias. */
  aliases(): ReadonlyMap<string, string> {
    return this.aliasMap;
  }

  has(nameOrAlias: string): boolean {
    return this.profiles.has(nameOrAlias) || this.aliasMap.has(nameOrAlias);
  }

  /** Canonical profile name; throws ProxyError("UNKNOWN_PROFILE"). */
  resolveName(nameOrAlias: string): string {
    if (this.profiles.has(nameOrAlias)) return nameOrAlias;
    const target = this.aliasMap.get(nameOrAlias);
    if (target !== undefined && this.profiles.has(target)) return target;
    throw new ProxyError("UNKNOWN_PROFILE", `unknown profile "${nameOrAlias}"`);
  }

  /** The resolved (frozen) profile; throws ProxyError("UNKNOWN_PROFILE"). */
  get(nameOrAlias: string): ResolvedProfile {
    return this.profiles.get(this.resolveName(nameOrAlias))!;
  }

  /** The engine spec of a profile (built once, frozen); throws ProxyError("UNKNOWN_PROFILE"). */
  spec(nameOrAlias: string): ProfileSpec {
    const name = this.resolveName(nameOrAlias);
    let spec = this.specs.get(name);
    if (spec === undefined) {
      spec = deepFreeze(toProfileSpec(this.profiles.get(name)!));
      this.specs.set(name, spec);
    }
    return spec;
  }

  /** The HTTP layer of a profile; throws ProxyError("UNKNOWN_PROFILE"). */
  http(nameOrAlias: string): ProfileHttp {
    return this.get(nameOrAlias).http;
  }
}
