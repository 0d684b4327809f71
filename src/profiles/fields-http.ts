/**
 * Field kinds of the profile's HTTP sections: SETTINGS lists, PRIORITY frames and HEADERS priority,
 * pseudo-header order, header-name lists, header value and case tables, HPACK never-index rules,
 * and a sub-table parser that rejects unknown keys. Each parses one TOML value with key paths in
 * every problem and prints it back.
 */
import {
  childPath,
  describe,
  type Field,
  type FieldContext,
  indexPath,
  isTable,
  tomlString,
} from "../config/fields.ts";
import type { NeverIndexRule } from "../http/hpack/types.ts";
import {
  type H2HeadersPriority,
  type H2PriorityFrame,
  type H2Setting,
  PSEUDO_HEADERS,
  type PseudoHeader,
} from "./http-types.ts";

const U16_MAX = 0xffff; // SETTINGS identifier, 16 bits (RFC 9113 §6.5.1)
const U32_MAX = 0xffffffff; // SETTINGS value, 32 bits (RFC 9113 §6.5.1)
export const U31_MAX = 0x7fffffff; // stream id / window increment, 31 bits (RFC 9113 §5.1.1, §6.9)
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/; // RFC 9110 §5.6.2 tchar, lowercase (RFC 9113 §8.2.1)
const BAD_VALUE = /[\r\n\0]/; // RFC 9110 §5.5: no CR, LF or NUL in a field value
export const ANY_SLOT = "*"; // where unlisted client headers go in an order list
const BARE_KEY = /^[A-Za-z0-9_-]+$/; // TOML bare key

function field<T>(spec: Omit<Field<T>, "kind">): Field<T> {
  return { kind: "field", ...spec };
}

function int(raw: unknown, ctx: FieldContext, min: number, max: number): number | undefined {
  const n = typeof raw === "bigint" ? Number(raw) : raw;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    ctx.issues.add(ctx.path, `expected an integer, got ${describe(raw)}`);
    return undefined;
  }
  if (n < min || n > max) {
    ctx.issues.add(ctx.path, `${n} is out of range ${min}..${max}`);
    return undefined;
  }
  return n;
}

const at = (ctx: FieldContext, key: string | number): FieldContext => ({
  ...ctx,
  path: typeof key === "number" ? indexPath(ctx.path, key) : childPath(ctx.path, key),
});

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
      const parsed = f.parse(value, at(ctx, key));
      if (parsed !== undefined) out[key] = parsed;
    }
  }
  return ctx.issues.count > before ? undefined : out;
}

/** Inline TOML table of already-printed values. */
function inline(entries: [string, string][]): string {
  return `{ ${entries.map(([k, v]) => `${BARE_KEY.test(k) ? k : tomlString(k)} = ${v}`).join(", ")} }`;
}

function array<T>(
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
    const v = item(r, at(ctx, i));
    if (v !== undefined) out.push(v);
  });
  return out.length === raw.length ? out : undefined;
}

/** SETTINGS as `[[id, value], ...]` in wire order; any 16-bit id, RFC 9113 §6.5.2 value rules. */
export const settingsField: Field<H2Setting[]> = field({
  type: "array of [id 0..65535, value 0..4294967295]",
  doc: "SETTINGS entries in wire order (ids may be any 16-bit value)",
  default: [],
  parse(raw, ctx) {
    const seen = new Set<number>();
    const list = array(raw, ctx, (r, c) => {
      if (!Array.isArray(r) || r.length !== 2) {
        c.issues.add(c.path, `expected [id, value], got ${describe(r)}`);
        return undefined;
      }
      const id = int(r[0], at(c, 0), 0, U16_MAX);
      const value = int(r[1], at(c, 1), 0, U32_MAX);
      if (id === undefined || value === undefined) return undefined;
      const problem = settingProblem(id, value, seen);
      seen.add(id);
      if (problem !== undefined) {
        c.issues.add(c.path, problem);
        return undefined;
      }
      return [id, value] as H2Setting;
    });
    return list;
  },
  toToml: (v) => `[${v.map(([id, value]) => `[${id}, ${value}]`).join(", ")}]`,
});

function settingProblem(id: number, value: number, seen: ReadonlySet<number>): string | undefined {
  if (seen.has(id)) return `duplicate setting id ${id}`;
  const flag = id === 2 || id === 8 || id === 9; // ENABLE_PUSH, ENABLE_CONNECT_PROTOCOL, NO_RFC7540_PRIORITIES
  if (flag && value > 1) return `setting ${id} must be 0 or 1 (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1)`;
  if (id === 4 && value > U31_MAX) return "INITIAL_WINDOW_SIZE above 2^31-1 (RFC 9113 §6.5.2)";
  if (id === 5 && (value < 16384 || value > 0xffffff))
    return "MAX_FRAME_SIZE outside 16384..16777215 (RFC 9113 §6.5.2)";
  return undefined;
}

function bool(raw: unknown, ctx: FieldContext): boolean | undefined {
  if (typeof raw === "boolean") return raw;
  ctx.issues.add(ctx.path, `expected a boolean, got ${describe(raw)}`);
  return undefined;
}

function priorityTable<K extends string>(
  raw: unknown,
  ctx: FieldContext,
  keys: readonly K[],
  parseKey: (key: K, value: unknown, c: FieldContext) => unknown,
): Record<K, unknown> | undefined {
  if (!isTable(raw)) {
    ctx.issues.add(ctx.path, `expected a table, got ${describe(raw)}`);
    return undefined;
  }
  const before = ctx.issues.count;
  for (const key of Object.keys(raw))
    if (!(keys as readonly string[]).includes(key)) ctx.issues.add(childPath(ctx.path, key), "unknown key");
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (raw[key] === undefined) ctx.issues.add(childPath(ctx.path, key), "missing");
    else out[key] = parseKey(key, raw[key], at(ctx, key));
  }
  return ctx.issues.count > before ? undefined : (out as Record<K, unknown>);
}

/** Legacy PRIORITY frames `[{ stream, exclusive, dependency, weight }]` (Firefox before 118). */
export const priorityFramesField: Field<H2PriorityFrame[]> = field({
  type: "array of { stream, exclusive, dependency, weight }",
  doc: "PRIORITY frames sent before the first request (idle streams; legacy Firefox tree)",
  default: [],
  parse: (raw, ctx) =>
    array(raw, ctx, (r, c) => {
      const t = priorityTable(r, c, ["stream", "exclusive", "dependency", "weight"] as const, (k, v, kc) =>
        k === "exclusive"
          ? bool(v, kc)
          : int(v, kc, k === "weight" ? 1 : k === "stream" ? 1 : 0, k === "weight" ? 256 : U31_MAX),
      );
      if (t === undefined) return undefined;
      return {
        streamId: t.stream as number,
        exclusive: t.exclusive as boolean,
        dependency: t.dependency as number,
        weight: t.weight as number,
      };
    }),
  toToml: (v) =>
    `[${v
      .map((p) =>
        inline([
          ["stream", String(p.streamId)],
          ["exclusive", String(p.exclusive)],
          ["dependency", String(p.dependency)],
          ["weight", String(p.weight)],
        ]),
      )
      .join(", ")}]`,
});

const LAST_OPEN_HIGHER = "last-open-higher";

/** HEADERS priority of one request kind: `{ exclusive, dependency, weight }`, or false for none. */
export const headersPriorityField: Field<H2HeadersPriority | null> = field({
  type: '{ exclusive = bool, dependency = stream id | "last-open-higher", weight = 1..256 }, or false',
  doc: "PRIORITY flag fields of this kind's HEADERS frame; false = no PRIORITY flag",
  default: null,
  parse(raw, ctx) {
    if (raw === false) return null;
    const t = priorityTable(raw, ctx, ["exclusive", "dependency", "weight"] as const, (k, v, c) => {
      if (k === "exclusive") return bool(v, c);
      if (k === "weight") return int(v, c, 1, 256);
      if (v === LAST_OPEN_HIGHER) return v;
      return int(v, c, 0, U31_MAX);
    });
    if (t === undefined) return undefined;
    return {
      exclusive: t.exclusive as boolean,
      dependency: t.dependency as H2HeadersPriority["dependency"],
      weight: t.weight as number,
    };
  },
  toToml: (v) =>
    v === null
      ? "false"
      : inline([
          ["exclusive", String(v.exclusive)],
          ["dependency", typeof v.dependency === "number" ? String(v.dependency) : tomlString(v.dependency)],
          ["weight", String(v.weight)],
        ]),
});

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
        const c = at(ctx, name);
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
        r.shorter_than === undefined ? undefined : int(r.shorter_than, at(c, "shorter_than"), 1, U31_MAX);
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
