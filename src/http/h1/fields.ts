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

/** Parses the field lines `lines[1 .. lines.length - 2]` of a scanned head. */
export function parseFieldLines(
  buf: Uint8Array,
  lines: readonly number[],
  side: H1Side,
  tolerant: boolean,
): FieldParseResult {
  const fields: RawField[] = [];
  let spaceBeforeColon = false;
  let obsFold = false;
  for (let i = 1; i + 1 < lines.length; i++) {
    const start = lines[i] ?? 0;
    const end = (lines[i + 1] ?? 0) - 2;
    const first = buf[start];
    if (first === SP || first === HTAB) {
      const prev = fields[fields.length - 1];
      if (!tolerant || prev === undefined) throw new H1Error(side, "OBS_FOLD", "obsolete line folding");
      const more = trimmed(buf, start, end);
      prev[1] = prev[1].length === 0 ? more : more.length === 0 ? prev[1] : `${prev[1]} ${more}`;
      obsFold = true;
      continue;
    }
    const parsed = parseFieldLine(buf, start, end, side, tolerant);
    if (parsed.spaceBeforeColon) spaceBeforeColon = true;
    fields.push(parsed.field);
  }
  return { fields, spaceBeforeColon, obsFold };
}

/** One field line `[start, end)` (CRLF excluded), not starting with SP / HTAB. */
export function parseFieldLine(
  buf: Uint8Array,
  start: number,
  end: number,
  side: H1Side,
  tolerant: boolean,
): { field: RawField; spaceBeforeColon: boolean } {
  const scan = scanFieldName(buf, start, end);
  if (scan.kind === "bad-char") throw new H1Error(side, "BAD_FIELD_NAME", "invalid character in field name");
  if (scan.kind === "blank-in-name")
    throw new H1Error(side, "BAD_FIELD_NAME", "whitespace inside field name");
  if (scan.kind === "no-colon") throw new H1Error(side, "BAD_FIELD_NAME", "field line without colon");
  const { nameEnd, colon } = scan;
  if (nameEnd !== colon && !tolerant)
    throw new H1Error(side, "SPACE_BEFORE_COLON", "whitespace between field name and colon");
  if (nameEnd === start) throw new H1Error(side, "BAD_FIELD_NAME", "empty field name");
  const value = fieldLineValue(buf, colon + 1, end);
  if (value === null) throw new H1Error(side, "BAD_FIELD_VALUE", "control character in field value");
  return { field: [latin1(buf, start, nameEnd), value], spaceBeforeColon: nameEnd !== colon };
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
  for (let i = start; i < end; i++) {
    const b = buf[i] ?? 0;
    if (b === COLON) return { kind: "name", nameEnd: i, colon: i };
    if (b === SP || b === HTAB) {
      let j = i;
      while (j < end && (buf[j] === SP || buf[j] === HTAB)) j++;
      return j < end && buf[j] === COLON ? { kind: "name", nameEnd: i, colon: j } : { kind: "blank-in-name" };
    }
    if (TCHAR[b] !== 1) return { kind: "bad-char" };
  }
  return { kind: "no-colon" };
}

/** The value `[start, end)` of a field line trimmed of SP / HTAB, or null when a byte is not allowed. */
export function fieldLineValue(buf: Uint8Array, start: number, end: number): string | null {
  for (let i = start; i < end; i++) if (!isFieldValueByte(buf[i] ?? 0)) return null;
  return trimmed(buf, start, end);
}

function trimmed(buf: Uint8Array, start: number, end: number): string {
  let s = start;
  let e = end;
  while (s < e && (buf[s] === SP || buf[s] === HTAB)) s++;
  while (e > s && (buf[e - 1] === SP || buf[e - 1] === HTAB)) e--;
  return latin1(buf, s, e);
}

/** Values of every field line named `lowerName` (case-insensitive), in order. */
export function valuesOf(fields: readonly RawField[], lowerName: string): string[] {
  const out: string[] = [];
  for (const [name, value] of fields) {
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) out.push(value);
  }
  return out;
}
