/**
 * The log guard. Log lines carry metadata only (hosts, sizes, codes, timings), never secrets or
 * tunnel content. Three rules, applied to every field before it is formatted:
 *
 * 1. By name: a field whose name contains one of the words in SENSITIVE_WORDS (split on camelCase,
 *    `_`, `-`, `.`; case-insensitive; so `privateKey`, `api_key`, `proxyAuthorization`, `reqBody`
 *    match but `monkey` does not) has its value replaced by REDACTED, whatever its type.
 * 2. By value: byte buffers become `[N bytes]`, plain objects / arrays of non-strings / functions
 *    become `[object]` (they are not metadata), and strings are cut to MAX_VALUE_CHARS.
 * 3. By shape: credential-shaped text in every string (and in the message) is replaced by REDACTED
 *    (`scrubSecrets`, in scrub.ts).
 *
 * Redacting rather than throwing keeps a bad log call from taking a tunnel down. The guard is a
 * safety net: code must still not put credentials in messages in the first place.
 */
import { REDACTED, scrubSecrets } from "./scrub.ts";

export { REDACTED, scrubSecrets };

export type LogValue = string | number | boolean | bigint | null | undefined | Error | readonly string[];
export type LogFields = Record<string, LogValue>;

/** What a value becomes after the guard: JSON-safe. */
export type CleanValue = string | number | boolean | null | readonly string[];

const MAX_VALUE_CHARS = 1024; // chars; generous for hosts / messages, short enough that no payload slips by

const SENSITIVE_WORDS: ReadonlySet<string> = new Set([
  "key",
  "keys",
  "secret",
  "secrets",
  "password",
  "passwd",
  "passphrase",
  "pass",
  "payload",
  "body",
  "token",
  "authorization",
  "auth",
  "cookie",
  "credential",
  "credentials",
  "userinfo",
  "bearer",
  "pem",
  "plaintext",
]);

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

export function isSensitiveName(name: string): boolean {
  return words(name).some((w) => SENSITIVE_WORDS.has(w));
}

/** Scrubs, then clips (so a credential cut in two by the clip is still recognised). */
function cleanString(raw: string): string {
  const s = scrubSecrets(raw);
  return s.length > MAX_VALUE_CHARS
    ? `${s.slice(0, MAX_VALUE_CHARS)}…[${s.length - MAX_VALUE_CHARS} more]`
    : s;
}

/** Applies both rules; `undefined` means "omit the field". */
export function cleanValue(name: string, value: unknown): CleanValue | undefined {
  if (value === undefined) return undefined;
  if (isSensitiveName(name)) return REDACTED;
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return cleanString(value);
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return cleanString(
      typeof code === "string" ? `${code}: ${value.message}` : `${value.name}: ${value.message}`,
    );
  }
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.map(cleanString);
  return "[object]";
}
