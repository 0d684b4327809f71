/**
 * What a user profile takes over among the built-ins by its name: the built-in profile of that
 * name (replaced), or the built-in alias of that name (shadowed: the alias then selects the user
 * profile). Allowed, since it can be deliberate, but never silent: `polytls run` logs it and
 * `polytls profiles import` warns before it happens. Pure.
 */
import { BUILTIN_ALIASES, BUILTIN_PROFILES } from "./builtin.ts";

export type BuiltinOverride =
  | { kind: "profile"; name: string }
  | { kind: "alias"; name: string /** The built-in profile the alias names. */; aliasOf: string };

const BUILTIN_NAMES = new Set(BUILTIN_PROFILES.map((p) => p.name));

/** The built-in a profile called `name` replaces or shadows, or null when none. */
export function builtinOverride(name: string): BuiltinOverride | null {
  // `default` follows proxy.upstream.default_profile; no profile may take that name (the config refuses it).
  if (name === "default") return null;
  if (BUILTIN_NAMES.has(name)) return { kind: "profile", name };
  const aliasOf = Object.hasOwn(BUILTIN_ALIASES, name) ? BUILTIN_ALIASES[name] : undefined;
  return aliasOf === undefined ? null : { kind: "alias", name, aliasOf };
}
