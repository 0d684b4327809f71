/**
 * A profile's `[metadata]` table: which browser build it impersonates and where its capture comes
 * from. Shown by `profiles list`; never sent anywhere. Unlike every other profile key it is not
 * inherited through `extends`: it describes the profile that writes it.
 */
import {
  childPath,
  controlCharacterProblem,
  describe,
  type Issues,
  isTable,
  tomlString,
} from "../config/fields.ts";

export const OPERATING_SYSTEMS = ["windows", "macos", "linux", "android", "ios"] as const;
export const ARCHITECTURES = ["x64", "arm64"] as const;

export interface ProfileMetadata {
  /** Browser family, lowercase: chrome, edge, brave, opera, firefox, safari, tor, ... */
  family: string;
  /** The captured build's version, e.g. "149.0.7827.102". */
  version: string;
  os: (typeof OPERATING_SYSTEMS)[number];
  arch: (typeof ARCHITECTURES)[number];
  /** When the capture was taken (or, for a hand-maintained signature, added): YYYY-MM-DD or YYYY-MM. */
  captured: string;
  /** Where the capture comes from: repository@commit:path, or a description. */
  source: string;
}

export const METADATA_KEYS = ["family", "version", "os", "arch", "captured", "source"] as const;

const DOC: Readonly<Record<keyof ProfileMetadata, string>> = {
  family: "browser family, lowercase letters, digits and '-' (chrome, firefox, safari, tor, ...)",
  version: "the captured build's version (digits and dots, e.g. 149.0.7827.102)",
  os: `operating system: ${OPERATING_SYSTEMS.join(", ")}`,
  arch: `CPU architecture: ${ARCHITECTURES.join(", ")}`,
  captured: "capture date, YYYY-MM-DD (or YYYY-MM when only the month is known)",
  source: "where the capture comes from (repository@commit:path or a description; one line)",
};

const CHECKS: Readonly<Record<keyof ProfileMetadata, (v: string) => boolean>> = {
  family: (v) => /^[a-z][a-z0-9-]{0,31}$/.test(v),
  version: (v) => /^\d+(\.\d+){0,3}$/.test(v),
  os: (v) => (OPERATING_SYSTEMS as readonly string[]).includes(v),
  arch: (v) => (ARCHITECTURES as readonly string[]).includes(v),
  captured: (v) => /^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$/.test(v),
  source: (v) => v.length > 0 && v.length <= 300 && controlCharacterProblem(v) === undefined,
};

/** Parses `[metadata]`: every key required, each checked; problems go to `issues`. */
export function parseMetadata(raw: unknown, path: string, issues: Issues): ProfileMetadata | undefined {
  const at = childPath(path, "metadata");
  if (!isTable(raw)) {
    issues.add(at, `expected a table, got ${describe(raw)}`);
    return undefined;
  }
  const before = issues.count;
  const out: Record<string, string> = {};
  for (const key of Object.keys(raw)) {
    if (!(METADATA_KEYS as readonly string[]).includes(key)) issues.add(childPath(at, key), "unknown key");
  }
  for (const key of METADATA_KEYS) {
    const value = raw[key];
    if (value === undefined) issues.add(childPath(at, key), `missing (${DOC[key]})`);
    else if (typeof value !== "string" || !CHECKS[key](value))
      issues.add(childPath(at, key), `invalid ${describe(value)}: expected ${DOC[key]}`);
    else out[key] = value;
  }
  return issues.count > before ? undefined : (out as unknown as ProfileMetadata);
}

/** The `[metadata]` table as TOML lines (header included) under `table`. */
export function metadataToToml(meta: ProfileMetadata, table: string): string[] {
  return [`[${table}.metadata]`, ...METADATA_KEYS.map((k) => `${k} = ${tomlString(meta[k])}`)];
}

/** Reference lines for `profileSchemaDoc`. */
export function metadataSchemaDoc(): string[] {
  return METADATA_KEYS.map(
    (k) => `metadata.${k}: string (required in [metadata]). ${DOC[k]}; not inherited through extends`,
  );
}
