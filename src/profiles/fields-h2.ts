/**
 * Field kinds of the profile's HTTP/2 frames: SETTINGS lists, legacy PRIORITY frames and the
 * HEADERS priority of a request kind. Each parses one TOML value with key paths in every problem
 * and prints it back (the header kinds: `fields-http.ts`).
 */
import {
  boolValue,
  childContext,
  childPath,
  describe,
  type Field,
  type FieldContext,
  field,
  intValue,
  isTable,
  tomlString,
} from "../config/fields.ts";
import { array, inline, U31_MAX } from "./fields-http.ts";
import type { H2HeadersPriority, H2PriorityFrame, H2Setting } from "./http-types.ts";

const U16_MAX = 0xffff; // SETTINGS identifier, 16 bits (RFC 9113 §6.5.1)
const U32_MAX = 0xffffffff; // SETTINGS value, 32 bits (RFC 9113 §6.5.1)

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
      const id = intValue(r[0], childContext(c, 0), 0, U16_MAX);
      const value = intValue(r[1], childContext(c, 1), 0, U32_MAX);
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
    else out[key] = parseKey(key, raw[key], childContext(ctx, key));
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
          ? boolValue(v, kc)
          : intValue(v, kc, k === "weight" ? 1 : k === "stream" ? 1 : 0, k === "weight" ? 256 : U31_MAX),
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
      if (k === "exclusive") return boolValue(v, c);
      if (k === "weight") return intValue(v, c, 1, 256);
      if (v === LAST_OPEN_HIGHER) return v;
      return intValue(v, c, 0, U31_MAX);
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
