/**
 * Field kinds of the profile's HTTP sections: pseudo-header order, header-name lists, header value
 * and case tables, HPACK never-index rules, and a sub-table parser that rejects unknown keys (the
 * SETTINGS and PRIORITY kinds: `fields-h2.ts`). Each parses one TOML value with key paths in every
 * problem and prints it back.
 */
import {
  childContext,
  childPath,
  describe,
  type Field,
  type FieldContext,
  field,
  intValue,
  isTable,
  tomlKey,
  tomlString,
} from "../config/fields.ts";
import type { NeverIndexRule } from "../http/hpack/types.ts";
import { PSEUDO_HEADERS, type PseudoHeader } from "./http-types.ts";

export const U31_MAX = 0x7fffffff; // stream id / window increment, 31 bits (RFC 9113 §5.1.1, §6.9)
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/; // RFC 9110 §5.6.2 tchar, lowercase (RFC 9113 §8.2.1)
const BAD_VALUE = /[\r\n\0]/; // RFC 9110 §5.5: no CR, LF or NUL in a field value
export const ANY_SLOT = "*"; // where unlisted client headers go in an order list

/** Parses a TOML table whose keys are `fields` (snake_case keys): unknown keys are problems. */
export function parseSubTable(
  raw: unknown,
  ctx: FieldContext,
  fields: Readonly<Record<string, Field<unknown>>>,
): Record<string, unknown> | undefined {
  if (!isTable(raw)) {
    ctx.issues.add(ctx.path, `expected a table, got ${describe(raw)}`);
    return undefined;
  }
  const before = ctx.issues.count;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const f = fields[key];
    if (f === undefined) ctx.issues.add(childPath(ctx.path, key), "unknown key");
    else {
      const parsed = f.parse(value, childContext(ctx, key));
      if (parsed !== undefined) out[key] = parsed;
    }
  }
  return ctx.issues.count > before ? undefined : out;
}

/** Inline TOML table of already-printed values. */
export function inline(entries: [string, string][]): string {
  return `{ ${entries.map(([k, v]) => `${tomlKey(k)} = ${v}`).join(", ")} }`;
}

/** An array whose items `item` parses, each with its index in the key path; any bad item fails it. */
export function array<T>(
  raw: unknown,
  ctx: FieldContext,
  item: (r: unknown, c: FieldContext) => T | undefined,
): T[] | undefined {
  if (!Array.isArray(raw)) {
    ctx.issues.add(ctx.path, `expected an array, got ${describe(raw)}`);
    return undefined;
  }
  const out: T[] = [];
  raw.forEach((r, i) => {
    const v = item(r, childContext(ctx, i));
    if (v !== undefined) out.push(v);
  });
  return out.length === raw.length ? out : undefined;
}

function stringItems(
  raw: unknown,
  ctx: FieldContext,
  check: (s: string) => string | undefined,
): string[] | undefined {
  const seen = new Set<string>();
  return array(raw, ctx, (r, c) => {
    if (typeof r !== "string") {
      c.issues.add(c.path, `expected a string, got ${describe(r)}`);
      return undefined;
    }
    const problem = seen.has(r) ? `duplicate "${r}"` : check(r);
    seen.add(r);
    if (problem !== undefined) {
      c.issues.add(c.path, problem);
      return undefined;
    }
    return r;
  });
}

const stringListToml = (v: readonly string[]) => `[${v.map(tomlString).join(", ")}]`;

/** Pseudo-header order: :method, :authority, :scheme, :path each once, optionally :protocol. */
export const pseudoOrderField: Field<PseudoHeader[]> = field<PseudoHeader[]>({
  type: 'array of ":method" | ":authority" | ":scheme" | ":path" | ":protocol"',
  doc: "Pseudo-header order; :protocol (extended CONNECT) goes last when not listed",
  default: [":method", ":scheme", ":authority", ":path"],
  parse(raw, ctx) {
    const list = stringItems(raw, ctx, (s) =>
      (PSEUDO_HEADERS as readonly string[]).includes(s) ? undefined : `unknown pseudo-header "${s}"`,
    );
    if (list === undefined) return undefined;
    const missing = PSEUDO_HEADERS.filter((p) => p !== ":protocol" && !list.includes(p));
    if (missing.length > 0) {
      ctx.issues.add(ctx.path, `missing ${missing.join(", ")}`);
      return undefined;
    }
    return list as PseudoHeader[];
  },
  toToml: stringListToml,
});

/**
 * Lowercase header names, unique; `slot` allows one `*` (where unlisted client headers go),
 * `pseudo` allows pseudo-header names (`:path`).
 */
export function headerNamesField(doc: string, slot: boolean, pseudo = false): Field<string[]> {
  const ok = (s: string) =>
    TOKEN.test(pseudo && s.startsWith(":") ? s.slice(1) : s) || (slot && s === ANY_SLOT);
  return field<string[]>({
    type: slot ? 'array of lowercase header names and one "*"' : "array of lowercase header names",
    doc,
    default: [],
    parse: (raw, ctx) =>
      stringItems(raw, ctx, (s) => (ok(s) ? undefined : `"${s}" is not a lowercase header name`)),
    toToml: stringListToml,
  });
}

/** `{ "name" = "value" }`; `false` removes an inherited value when `removable`. */
export function headerValuesField(doc: string, removable: boolean): Field<Record<string, string | null>> {
  return field({
    type: removable ? "table of header name = value (or false to drop it)" : "table of header name = value",
    doc,
    default: {},
    parse(raw, ctx) {
      if (!isTable(raw)) {
        ctx.issues.add(ctx.path, `expected a table, got ${describe(raw)}`);
        return undefined;
      }
      const before = ctx.issues.count;
      const out: Record<string, string | null> = {};
      for (const [name, value] of Object.entries(raw)) {
        const c = childContext(ctx, name);
        if (!TOKEN.test(name)) c.issues.add(c.path, "not a lowercase header name");
        else if (removable && value === false) out[name] = null;
        else if (typeof value !== "string")
          c.issues.add(c.path, `expected a string${removable ? " or false" : ""}, got ${describe(value)}`);
        else if (BAD_VALUE.test(value)) c.issues.add(c.path, "CR, LF or NUL in a header value");
        else out[name] = value;
      }
      return ctx.issues.count > before ? undefined : out;
    },
    toToml: (v) => inline(Object.entries(v).map(([k, x]) => [k, x === null ? "false" : tomlString(x)])),
  });
}

/** `{ "lowercase-name" = "Wire-Case" }`: the value must be the name in another case. */
export const headerCaseField: Field<Record<string, string>> = field({
  type: "table of lowercase name = name as sent",
  doc: "Exact case of each header name the browser writes on HTTP/1.1",
  default: {},
  parse(raw, ctx) {
    const map = headerValuesField("", false).parse(raw, ctx);
    if (map === undefined) return undefined;
    let ok = true;
    for (const [name, wire] of Object.entries(map)) {
      if (wire?.toLowerCase() !== name) {
        ctx.issues.add(childPath(ctx.path, name), `"${wire}" is not "${name}" in another case`);
        ok = false;
      }
    }
    return ok ? (map as Record<string, string>) : undefined;
  },
  toToml: (v) => inline(Object.entries(v).map(([k, x]) => [k, tomlString(x)])),
});

/** HPACK never-index rules `[{ name, shorter_than? }]`. */
export const neverIndexField: Field<NeverIndexRule[]> = field({
  type: "array of { name, shorter_than? }",
  doc: "Fields sent literal never indexed (only values shorter than shorter_than octets, if set)",
  default: [],
  parse: (raw, ctx) =>
    array(raw, ctx, (r, c) => {
      if (!isTable(r)) {
        c.issues.add(c.path, `expected { name, shorter_than? }, got ${describe(r)}`);
        return undefined;
      }
      const before = c.issues.count;
      for (const k of Object.keys(r))
        if (k !== "name" && k !== "shorter_than") c.issues.add(childPath(c.path, k), "unknown key");
      if (typeof r.name !== "string" || !TOKEN.test(r.name.replace(/^:/, "")))
        c.issues.add(childPath(c.path, "name"), `expected a lowercase header name, got ${describe(r.name)}`);
      const shorter =
        r.shorter_than === undefined
          ? undefined
          : intValue(r.shorter_than, childContext(c, "shorter_than"), 1, U31_MAX);
      if (c.issues.count > before) return undefined;
      return shorter === undefined
        ? { name: r.name as string }
        : { name: r.name as string, shorterThan: shorter };
    }),
  toToml: (v) =>
    `[${v
      .map((r) =>
        inline(
          r.shorterThan === undefined
            ? [["name", tomlString(r.name)]]
            : [
                ["name", tomlString(r.name)],
                ["shorter_than", String(r.shorterThan)],
              ],
        ),
      )
      .join(", ")}]`,
});

/** A number in [min, max] (integers accepted). */
export function numberField(doc: string, def: number, min: number, max: number): Field<number> {
  return field({
    type: `number ${min}..${max}`,
    doc,
    default: def,
    parse(raw, ctx) {
      const n = typeof raw === "bigint" ? Number(raw) : raw;
      if (typeof n !== "number" || Number.isNaN(n) || n < min || n > max) {
        ctx.issues.add(ctx.path, `expected a number ${min}..${max}, got ${describe(raw)}`);
        return undefined;
      }
      return n;
    },
    toToml: (v) => (Number.isInteger(v) ? `${v}.0` : String(v)),
  });
}
