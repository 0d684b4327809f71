import { H1Error, type H1Side } from "./errors.ts";
import { COLON, HTAB, isFieldValueByte, latin1, SP, TCHAR } from "./syntax.ts";

/**
 * Field lines (RFC 9110 §5, RFC 9112 §5): `name ":" OWS value OWS`, parsed into `[name, value]`
 * with the name in its original case and the value trimmed of SP / HTAB.
 *
 * Strict mode (requests, all trailers): a line starting with SP / HTAB is OBS_FOLD; whitespace
 * between name and colon is SPACE_BEFORE_COLON; a name that is empty, not a token, or has no colon
 * is BAD_FIELD_NAME.
 *
 * Tolerant mode (response heads), both sanctioned for a proxy by RFC 9112:
 * - whitespace between name and colon is removed (§5.1: "a proxy MUST remove any such whitespace
 *   from a response message before forwarding"), recorded as the quirk "space-before-colon";
 * - obs-fold is replaced by one SP and joined to the previous field's value (§5.2: a proxy MUST
 *   either reject with 502 or replace each obs-fold with SP), recorded as "obs-fold". A folded
 *   line right after the start line has no field to continue and is still OBS_FOLD (§2.2).
 */
export type RawField = [name: string, value: string];

export interface FieldParseResult {
  fields: RawField[];
  spaceBeforeColon: boolean;
  obsFold: boolean;
}

/**
 * Parses the field lines `lines[1 .. lines.length - 2]` of a scanned head. `text`, when given, is
 * `buf` from offset 0 decoded as ISO-8859-1 (at least up to the last field line): names and values
 * are then cut from it instead of being decoded one by one, and so keep it alive (a caller that
 * stores one past the message makes a `detachedString` of it).
 */
export function parseFieldLines(
  buf: Uint8Array,
  lines: readonly number[],
  side: H1Side,
  tolerant: boolean,
  text?: string,
): FieldParseResult {
  const out: FieldParseResult = { fields: [], spaceBeforeColon: false, obsFold: false };
  const n = lines.length;
  if (n < 3) return out;
  // Without `text`, each name and value is decoded on its own: a slice of a shared text would keep
  // that whole text alive for as long as the caller keeps any one value (detached.ts).
  const src = text ?? null;
  const fields = out.fields;
  for (let i = 1; i + 1 < n; i++) {
    const start = lines[i] as number;
    const end = (lines[i + 1] as number) - 2;
    const first = buf[start];
    if (first === SP || first === HTAB) {
      const prev = fields[fields.length - 1];
      if (!tolerant || prev === undefined) throw new H1Error(side, "OBS_FOLD", "obsolete line folding");
      const more = trimmedText(buf, start, end, src);
      prev[1] = prev[1].length === 0 ? more : more.length === 0 ? prev[1] : `${prev[1]} ${more}`;
      out.obsFold = true;
      continue;
    }
    fields.push(fieldAt(buf, start, end, side, tolerant, src, out));
  }
  return out;
}

/** One field line `[start, end)` (CRLF excluded), not starting with SP / HTAB. */
export function parseFieldLine(
  buf: Uint8Array,
  start: number,
  end: number,
  side: H1Side,
  tolerant: boolean,
): { field: RawField; spaceBeforeColon: boolean } {
  const flags = { spaceBeforeColon: false };
  const field = fieldAt(buf, start, end, side, tolerant, null, flags);
  return { field, spaceBeforeColon: flags.spaceBeforeColon };
}

/**
 * The field line `[start, end)`; names and values are cut from `text` (decoded from offset 0)
 * when given. Sets `flags.spaceBeforeColon` when tolerant mode removed blanks before the colon.
 */
function fieldAt(
  buf: Uint8Array,
  start: number,
  end: number,
  side: H1Side,
  tolerant: boolean,
  text: string | null,
  flags: { spaceBeforeColon: boolean },
): RawField {
  const colon = nameColon(buf, start, end);
  if (colon === BAD_CHAR) throw new H1Error(side, "BAD_FIELD_NAME", "invalid character in field name");
  if (colon === BLANK_IN_NAME) throw new H1Error(side, "BAD_FIELD_NAME", "whitespace inside field name");
  if (colon === NO_COLON) throw new H1Error(side, "BAD_FIELD_NAME", "field line without colon");
  const nameEnd = nameEndBefore(buf, start, colon);
  if (nameEnd !== colon) {
    if (!tolerant) throw new H1Error(side, "SPACE_BEFORE_COLON", "whitespace between field name and colon");
    flags.spaceBeforeColon = true;
  }
  if (nameEnd === start) throw new H1Error(side, "BAD_FIELD_NAME", "empty field name");
  for (let i = colon + 1; i < end; i++) {
    if (!isFieldValueByte(buf[i] as number))
      throw new H1Error(side, "BAD_FIELD_VALUE", "control character in field value");
  }
  const name = text === null ? latin1(buf, start, nameEnd) : text.slice(start, nameEnd);
  return [name, trimmedText(buf, colon + 1, end, text)];
}

/** `nameColon` failures (offsets are never negative). */
const BAD_CHAR = -1;
const BLANK_IN_NAME = -2;
const NO_COLON = -3;

/** Scans `[start, end)` for `token OWS ":"`: the colon's offset, or one of the failures above. */
function nameColon(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b === COLON) return i;
    if (TCHAR[b] === 1) continue;
    if (b === SP || b === HTAB) {
      let j = i;
      while (j < end && (buf[j] === SP || buf[j] === HTAB)) j++;
      return j < end && buf[j] === COLON ? j : BLANK_IN_NAME;
    }
    return BAD_CHAR;
  }
  return NO_COLON;
}

/** Where the name ends: the colon, or the first of the blanks before it (a name holds no blanks). */
function nameEndBefore(buf: Uint8Array, start: number, colon: number): number {
  let e = colon;
  while (e > start && (buf[e - 1] === SP || buf[e - 1] === HTAB)) e--;
  return e;
}

/** A field line's name as scanned: where it ends and where its colon is, or what is wrong with it. */
export type FieldNameScan =
  | { kind: "name"; nameEnd: number; colon: number }
  | { kind: "bad-char" }
  | { kind: "blank-in-name" }
  | { kind: "no-colon" };

/**
 * Scans `[start, end)` for `token OWS ":"`: a name with blanks before its colon has
 * `nameEnd < colon`; a non-tchar byte is "bad-char", blanks not followed by the colon are
 * "blank-in-name". The name may be empty (`colon === start`).
 */
export function scanFieldName(buf: Uint8Array, start: number, end: number): FieldNameScan {
  const colon = nameColon(buf, start, end);
  if (colon === BAD_CHAR) return { kind: "bad-char" };
  if (colon === BLANK_IN_NAME) return { kind: "blank-in-name" };
  if (colon === NO_COLON) return { kind: "no-colon" };
  return { kind: "name", nameEnd: nameEndBefore(buf, start, colon), colon };
}

/** The value `[start, end)` of a field line trimmed of SP / HTAB, or null when a byte is not allowed. */
export function fieldLineValue(buf: Uint8Array, start: number, end: number): string | null {
  for (let i = start; i < end; i++) if (!isFieldValueByte(buf[i] ?? 0)) return null;
  return trimmedText(buf, start, end, null);
}

/** `[start, end)` trimmed of SP / HTAB, cut from `text` (decoded from offset 0) when given. */
function trimmedText(buf: Uint8Array, start: number, end: number, text: string | null): string {
  let s = start;
  let e = end;
  while (s < e && (buf[s] === SP || buf[s] === HTAB)) s++;
  while (e > s && (buf[e - 1] === SP || buf[e - 1] === HTAB)) e--;
  return text === null ? latin1(buf, s, e) : text.slice(s, e);
}

/** Values of every field line named `lowerName` (case-insensitive), in order. */
export function valuesOf(fields: readonly RawField[], lowerName: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i] as RawField;
    if (name.length === lowerName.length && (name === lowerName || name.toLowerCase() === lowerName))
      out.push(value);
  }
  return out;
}
