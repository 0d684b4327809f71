/**
 * The profile TOML schema: the one source of truth for profile keys, their types, defaults and
 * per-key validation. Used to parse built-in and user profiles, to print them (`profiles show`)
 * and to document them. Cross-key rules live in `validate.ts`. The TLS keys are here; the HTTP
 * sections (`[http2]`, `[http2.hpack]`, `[http2.priority]`, `[http1]`, `[headers.<kind>]`) are
 * defined in `schema-http.ts` and parsed (`schema-http-toml.ts`) through `parseProfileTable` below.
 */
import {
  boolField,
  childPath,
  controlCharacterProblem,
  describe,
  enumField,
  type Field,
  type Issues,
  intField,
  isTable,
  snakeCase,
  stringField,
} from "../config/fields.ts";
import type { CertCompression } from "../upstream/engine.ts";
import { type AlpsSetting, alpsField, nameList, orNone, protocolList } from "./fields.ts";
import type { ProfileHttp } from "./http-types.ts";
import { metadataSchemaDoc, metadataToToml, type ProfileMetadata, parseMetadata } from "./metadata.ts";
import { CERT_COMPRESSION, CIPHERS, EXTENSIONS, GROUPS, SIGALGS, TLS_VERSIONS } from "./registry.ts";
import { emptyHttpTable, type HttpTable } from "./schema-http.ts";
import { HTTP_SECTIONS, httpSchemaDoc, httpToToml, parseHttpSection } from "./schema-http-toml.ts";
import { TRUST_ANCHOR_ORDERS, type TrustAnchorOrder, trustAnchorListField } from "./trust-anchors.ts";
import { type WebSocketSettings, websocketField } from "./websocket.ts";

export type TlsVersionName = "1.0" | "1.1" | "1.2" | "1.3";

/** A profile's settings, names canonical (aliases are replaced when parsed). */
export interface ProfileSettings {
  description: string;
  minVersion: TlsVersionName;
  maxVersion: TlsVersionName;
  ciphers: string[];
  groups: string[];
  keyShares: string[];
  signatureAlgorithms: string[];
  signatureAlgorithmsGrease: boolean;
  grease: boolean;
  extensionOrder: string[] | null;
  permuteExtensions: boolean;
  alpn: string[];
  alps: AlpsSetting | null;
  certCompression: CertCompression[];
  ocspStapling: boolean;
  signedCertTimestamps: boolean;
  echGrease: boolean;
  sessionTickets: boolean;
  sessionTicketsWhenResuming: boolean;
  pskDheKe: boolean;
  recordSizeLimit: number | null;
  delegatedCredentials: string[] | null;
  renegotiationInfo: boolean;
  trustAnchors: string[] | null;
  trustAnchorsOrder: TrustAnchorOrder;
  websocket: WebSocketSettings;
}

type ProfileField<T> = Field<T> & { readonly required: boolean };

function req<T>(f: Field<T>): ProfileField<T> {
  return { ...f, required: true };
}
function opt<T>(f: Field<T>): ProfileField<T> {
  return { ...f, required: false };
}

const versionField = (doc: string, def: TlsVersionName): Field<TlsVersionName> => ({
  ...(stringField(doc, def, (v) =>
    TLS_VERSIONS.id(v) === undefined
      ? `unknown TLS version "${v}" (use "1.0", "1.1", "1.2" or "1.3")`
      : undefined,
  ) as Field<string> as Field<TlsVersionName>),
  type: TLS_VERSIONS.names()
    .map((v) => JSON.stringify(v))
    .join(" | "),
});

const certCompressionField = nameList(
  CERT_COMPRESSION,
  "compress_certificate algorithms in wire order (zlib, brotli, zstd); empty = no extension",
  [],
  { nonEmpty: false, unique: true },
) as Field<string[]> as Field<CertCompression[]>;

const RECORD_SIZE_MIN = 64; // bytes; RFC 8449 §4 smallest allowed record_size_limit
const RECORD_SIZE_MAX = 16385; // bytes; RFC 8449 §4, 2^14 + 1 for TLS 1.3

/** Every profile key, in print order. TOML keys are the snake_case of these names. */
export const PROFILE_FIELDS: { readonly [K in keyof ProfileSettings]: ProfileField<ProfileSettings[K]> } = {
  description: opt(
    stringField("One line shown by `profiles list` (no control characters)", "", controlCharacterProblem),
  ),
  minVersion: opt(versionField('Lowest TLS version offered ("1.0".."1.3")', "1.2")),
  maxVersion: opt(versionField('Highest TLS version offered ("1.0".."1.3")', "1.3")),
  ciphers: req(
    nameList(CIPHERS, "Cipher suites (IANA names) in wire order, TLS 1.3 ones first", [], {
      nonEmpty: true,
      unique: true,
    }),
  ),
  groups: req(nameList(GROUPS, "supported_groups in wire order", [], { nonEmpty: true, unique: true })),
  keyShares: req(
    nameList(GROUPS, "Groups sent in key_share, in the same relative order as `groups`", [], {
      nonEmpty: false,
      unique: true,
    }),
  ),
  signatureAlgorithms: req(
    nameList(SIGALGS, "signature_algorithms in wire order (duplicates allowed)", [], {
      nonEmpty: true,
      unique: false,
    }),
  ),
  signatureAlgorithmsGrease: opt(
    boolField(
      "A GREASE value first in signature_algorithms, random per connection (Chrome 152+, RFC 8701)",
      false,
    ),
  ),
  grease: opt(
    boolField("GREASE values in ciphers, extensions, groups, key shares, versions (RFC 8701)", false),
  ),
  extensionOrder: opt(
    orNone(
      nameList(EXTENSIONS, "Fixed extension order (must list every extension the profile sends)", [], {
        nonEmpty: true,
        unique: true,
      }),
    ),
  ),
  permuteExtensions: opt(boolField("Shuffle extension order per connection (Chrome)", false)),
  alpn: opt(
    protocolList("ALPN protocols offered by default, in order; empty = no ALPN", ["h2", "http/1.1"], false),
  ),
  alps: opt(orNone(alpsField)),
  certCompression: opt(certCompressionField),
  ocspStapling: opt(boolField("status_request (OCSP stapling) extension", false)),
  signedCertTimestamps: opt(boolField("signed_certificate_timestamp extension", false)),
  echGrease: opt(boolField("encrypted_client_hello GREASE (a fake ECH extension)", false)),
  sessionTickets: opt(boolField("session_ticket extension (TLS 1.2 tickets)", false)),
  sessionTicketsWhenResuming: opt(
    boolField(
      "Keep session_ticket in a hello that offers a TLS 1.3 session (pre_shared_key); false = leave it out there, as NSS (Firefox, Tor) does",
      true,
    ),
  ),
  pskDheKe: opt(boolField("psk_key_exchange_modes with psk_dhe_ke (TLS 1.3 resumption)", false)),
  recordSizeLimit: opt(
    orNone(
      intField(
        "record_size_limit value in bytes (RFC 8449)",
        RECORD_SIZE_MAX,
        RECORD_SIZE_MIN,
        RECORD_SIZE_MAX,
      ),
    ),
  ),
  delegatedCredentials: opt(
    orNone(
      nameList(SIGALGS, "delegated_credentials signature algorithms in wire order", [], {
        nonEmpty: true,
        unique: true,
      }),
    ),
  ),
  renegotiationInfo: opt(boolField("renegotiation_info extension", true)),
  trustAnchors: opt(orNone(trustAnchorListField)),
  trustAnchorsOrder: opt(
    enumField(
      'Wire order of trust_anchors: "as-listed" (Chrome 154+, sorted) or "shuffled-per-process" (Chrome 152-153: one random order per profile and process)',
      "as-listed",
      TRUST_ANCHOR_ORDERS,
    ),
  ),
  websocket: opt(websocketField),
};

export const PROFILE_KEYS = Object.keys(PROFILE_FIELDS) as (keyof ProfileSettings)[];

export { snakeCase };

const EXTENDS_DOC =
  "Name or alias of the profile this one starts from; its keys are overridden by this table";

/** A profile table as written: what it extends, the TLS keys and the HTTP sections it sets. */
export interface ProfileTable {
  extends: string | null;
  values: Partial<ProfileSettings>;
  http: HttpTable;
  /** `[metadata]`, when written (never inherited). */
  metadata: ProfileMetadata | null;
}

/** Parses one `[profiles."name"]` table (or a built-in file); per-key checks only. */
export function parseProfileTable(raw: unknown, path: string, issues: Issues): ProfileTable | undefined {
  if (!isTable(raw)) {
    issues.add(path, `expected a table, got ${describe(raw)}`);
    return undefined;
  }
  const before = issues.count;
  const byToml = new Map(PROFILE_KEYS.map((k) => [snakeCase(k), k]));
  const values: Record<string, unknown> = {};
  let parent: string | null = null;
  let metadata: ProfileMetadata | null = null;
  const http = emptyHttpTable();
  for (const [key, value] of Object.entries(raw)) {
    const keyPath = childPath(path, key);
    if ((HTTP_SECTIONS as readonly string[]).includes(key)) {
      parseHttpSection(key, value, path, issues, http);
      continue;
    }
    if (key === "metadata") {
      metadata = parseMetadata(value, path, issues) ?? null;
      continue;
    }
    if (key === "extends") {
      if (typeof value === "string" && value !== "") parent = value;
      else issues.add(keyPath, `expected a profile name, got ${describe(value)}`);
      continue;
    }
    const prop = byToml.get(key);
    if (prop === undefined) {
      issues.add(keyPath, "unknown key");
      continue;
    }
    const parsed = (PROFILE_FIELDS[prop] as Field<unknown>).parse(value, {
      path: keyPath,
      issues,
      baseDir: "",
    });
    if (parsed !== undefined) values[prop] = parsed;
  }
  if (issues.count > before) return undefined;
  return { extends: parent, values: values as Partial<ProfileSettings>, http, metadata };
}

/** Markdown-ish reference of every profile key: name, type, default, description. */
export function profileSchemaDoc(): string {
  const lines = [`extends: string (none). ${EXTENDS_DOC}`];
  for (const prop of PROFILE_KEYS) {
    const f = PROFILE_FIELDS[prop] as ProfileField<unknown>;
    const def = f.required ? "required unless extends" : (f.toToml(f.default) ?? "none");
    lines.push(`${snakeCase(prop)}: ${f.type} (${def.replace(/\s*\n\s*/g, " ")}). ${f.doc}`);
  }
  lines.push(...metadataSchemaDoc());
  lines.push(...httpSchemaDoc());
  return lines.join("\n");
}

/**
 * A profile as `profiles show` prints it: a `[profiles."name"]` table with every key, then its
 * HTTP sections as sub-tables when `http` is given.
 */
export function profileToToml(
  profile: { name: string; http?: ProfileHttp; metadata?: ProfileMetadata | null } & ProfileSettings,
  header: readonly string[] = [],
): string {
  const lines = header.map((h) => (h === "" ? "#" : `# ${h}`));
  const table = `profiles.${JSON.stringify(profile.name)}`;
  lines.push(`[${table}]`);
  for (const prop of PROFILE_KEYS) {
    const text = (PROFILE_FIELDS[prop] as Field<unknown>).toToml(profile[prop]);
    if (text !== undefined) lines.push(`${snakeCase(prop)} = ${text}`);
  }
  if (profile.metadata) lines.push(...metadataToToml(profile.metadata, table));
  if (profile.http !== undefined) lines.push(...httpToToml(profile.http, table));
  return `${lines.join("\n")}\n`;
}
