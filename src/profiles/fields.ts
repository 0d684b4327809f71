/**
 * Profile-specific field kinds: lists of registry names, protocol lists, the ALPS table, and the
 * `false` = none wrapper. Each parses one TOML value with per-item error paths and prints it back.
 */
import {
  childContext,
  childPath,
  describe,
  type Field,
  type FieldContext,
  indexPath,
  isTable,
  tomlString,
} from "../config/fields.ts";
import { CIPHERS, type NameTable, SIGALGS } from "./registry.ts";

/** TOML array of strings; past three items one per line, with an optional trailing comment. */
export function tomlList(values: readonly string[], note?: (value: string) => string): string {
  if (values.length <= 3) return `[${values.map(tomlString).join(", ")}]`;
  const width = Math.max(...values.map((v) => tomlString(v).length)) + 1;
  const line = (v: string) => {
    const item = `${tomlString(v)},`;
    return note === undefined ? `  ${item}` : `  ${item.padEnd(width)} # ${note(v)}`;
  };
  return `[\n${values.map(line).join("\n")}\n]`;
}

/** Code point as a comment: hex for ciphers and signature algorithms, decimal otherwise (as in ja3). */
function codeNote(table: NameTable): (name: string) => string {
  const hex = table === CIPHERS || table === SIGALGS;
  return (name) => {
    const id = table.id(name) ?? 0;
    return hex ? `0x${id.toString(16).padStart(4, "0")}` : String(id);
  };
}

function stringList(raw: unknown, ctx: FieldContext): string[] | undefined {
  if (!Array.isArray(raw)) {
    ctx.issues.add(ctx.path, `expected an array of strings, got ${describe(raw)}`);
    return undefined;
  }
  let ok = true;
  raw.forEach((item, i) => {
    if (typeof item !== "string") {
      ctx.issues.add(indexPath(ctx.path, i), `expected a string, got ${describe(item)}`);
      ok = false;
    }
  });
  return ok ? (raw as string[]) : undefined;
}

function checkDuplicates(values: readonly string[], what: string, ctx: FieldContext): boolean {
  const seen = new Set<string>();
  let ok = true;
  values.forEach((v, i) => {
    if (seen.has(v)) {
      ctx.issues.add(indexPath(ctx.path, i), `duplicate ${what} "${v}"`);
      ok = false;
    }
    seen.add(v);
  });
  return ok;
}

interface ListRules {
  nonEmpty: boolean;
  unique: boolean;
}

/** A list of names from `table`, converted to canonical names. */
export function nameList(table: NameTable, doc: string, def: string[], rules: ListRules): Field<string[]> {
  return {
    kind: "field",
    type: `array of ${table.kind} names`,
    doc,
    default: def,
    parse(raw, ctx) {
      const list = stringList(raw, ctx);
      if (list === undefined) return undefined;
      if (rules.nonEmpty && list.length === 0) {
        ctx.issues.add(ctx.path, `empty ${table.kind} list`);
        return undefined;
      }
      let ok = true;
      const out = list.map((name, i) => {
        const id = table.id(name);
        if (id === undefined) {
          ctx.issues.add(indexPath(ctx.path, i), `unknown ${table.kind} "${name}"`);
          ok = false;
          return name;
        }
        return table.name(id) ?? name;
      });
      if (rules.unique && !checkDuplicates(out, table.kind, ctx)) ok = false;
      return ok ? out : undefined;
    },
    toToml: (v) => tomlList(v, codeNote(table)),
  };
}

/** `false` in TOML means "none" (null), so a profile can drop what it extends. */
export function orNone<T>(inner: Field<T>): Field<T | null> {
  return {
    kind: "field",
    type: `${inner.type}, or false for none`,
    doc: inner.doc,
    default: null,
    parse: (raw, ctx) => (raw === false ? null : inner.parse(raw, ctx)),
    toToml: (v) => (v === null ? undefined : inner.toToml(v)),
  };
}

const ALPN_MAX_BYTES = 255; // bytes; RFC 7301 §3.1 ProtocolName<1..2^8-1>

export function protocolList(doc: string, def: string[], nonEmpty: boolean): Field<string[]> {
  return {
    kind: "field",
    type: "array of protocol ids",
    doc,
    default: def,
    parse(raw, ctx) {
      const list = stringList(raw, ctx);
      if (list === undefined) return undefined;
      if (nonEmpty && list.length === 0) {
        ctx.issues.add(ctx.path, "empty protocol list");
        return undefined;
      }
      let ok = checkDuplicates(list, "protocol", ctx);
      list.forEach((p, i) => {
        const bytes = Buffer.byteLength(p);
        if (bytes === 0 || bytes > ALPN_MAX_BYTES) {
          ctx.issues.add(indexPath(ctx.path, i), `protocol id must be 1..${ALPN_MAX_BYTES} bytes`);
          ok = false;
        }
      });
      return ok ? list : undefined;
    },
    toToml: tomlList,
  };
}

/** ALPS setting of a profile. */
export interface AlpsSetting {
  protocols: string[];
  codepoint: "new" | "old";
}

type Alps = AlpsSetting;

export const alpsField: Field<Alps> = {
  kind: "field",
  type: '{ protocols = [protocol ids], codepoint = "new" | "old" }',
  doc: "ALPS (application_settings): protocols it is offered for, code point 17613 (new) or 17513 (old)",
  default: { protocols: ["h2"], codepoint: "new" },
  parse(raw, ctx) {
    if (!isTable(raw)) {
      ctx.issues.add(ctx.path, `expected a table or false, got ${describe(raw)}`);
      return undefined;
    }
    let ok = true;
    for (const key of Object.keys(raw)) {
      if (key !== "protocols" && key !== "codepoint") {
        ctx.issues.add(childPath(ctx.path, key), "unknown key");
        ok = false;
      }
    }
    const protocols = protocolList("", [], true).parse(raw.protocols ?? [], childContext(ctx, "protocols"));
    const codepoint = raw.codepoint ?? "new";
    if (codepoint !== "new" && codepoint !== "old") {
      ctx.issues.add(childPath(ctx.path, "codepoint"), `expected "new" or "old", got ${describe(codepoint)}`);
      ok = false;
    }
    if (!ok || protocols === undefined) return undefined;
    return { protocols, codepoint: codepoint as Alps["codepoint"] };
  },
  toToml: (v) =>
    `{ protocols = [${v.protocols.map(tomlString).join(", ")}], codepoint = ${tomlString(v.codepoint)} }`,
};
