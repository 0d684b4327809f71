/**
 * The HTTP sections of a profile table in TOML: parses `http2` (with `hpack` and `priority`),
 * `http1` and `headers` against the keys of `schema-http.ts`, documents those keys, and prints a
 * resolved `ProfileHttp` back as TOML tables.
 */
import {
  childContext,
  childPath,
  type Field,
  type FieldContext,
  type Issues,
  isTable,
  snakeCase,
} from "../config/fields.ts";
import { headersPriorityField } from "./fields-h2.ts";
import { parseSubTable } from "./fields-http.ts";
import { type ProfileHttp, REQUEST_KINDS } from "./http-types.ts";
import {
  COMMON_FIELDS,
  COMMON_KIND,
  type Fields,
  HPACK_FIELDS,
  HTTP1_FIELDS,
  HTTP2_FIELDS,
  type HttpTable,
  KIND_FIELDS,
} from "./schema-http.ts";

function bySnake<T>(fields: Fields<T>): Record<string, Field<unknown>> {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [snakeCase(k), f as Field<unknown>]));
}

function camelized(parsed: Record<string, unknown>, fields: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(fields)) if (parsed[snakeCase(k)] !== undefined) out[k] = parsed[snakeCase(k)];
  return out;
}

function nested(raw: unknown, ctx: FieldContext, keys: Record<string, Field<unknown>>, sub: string[]) {
  const plain = isTable(raw)
    ? Object.fromEntries(Object.entries(raw).filter(([k]) => !sub.includes(k)))
    : raw;
  return parseSubTable(plain, ctx, keys);
}

/** The profile-table keys this module parses. */
export const HTTP_SECTIONS = ["http2", "http1", "headers"] as const;

/** Parses one HTTP section (`key` in HTTP_SECTIONS) of a profile table into `into`. */
export function parseHttpSection(
  key: string,
  raw: unknown,
  path: string,
  issues: Issues,
  into: HttpTable,
): void {
  const ctx: FieldContext = { path: childPath(path, key), issues, baseDir: "" };
  const table = raw as Record<string, unknown>;
  if (key === "http2") {
    const parsed = nested(raw, ctx, bySnake(HTTP2_FIELDS), ["hpack", "priority"]);
    if (parsed !== undefined) into.http2 = camelized(parsed, HTTP2_FIELDS);
    if (isTable(raw) && table.hpack !== undefined) {
      const h = parseSubTable(table.hpack, childContext(ctx, "hpack"), bySnake(HPACK_FIELDS));
      if (h !== undefined) into.hpack = camelized(h, HPACK_FIELDS);
    }
    if (isTable(raw) && table.priority !== undefined) {
      const kinds = Object.fromEntries(REQUEST_KINDS.map((k) => [k, headersPriorityField as Field<unknown>]));
      const p = parseSubTable(table.priority, childContext(ctx, "priority"), kinds);
      if (p !== undefined) into.priority = p as HttpTable["priority"];
    }
  } else if (key === "http1") {
    const parsed = parseSubTable(raw, ctx, bySnake(HTTP1_FIELDS));
    if (parsed !== undefined) into.http1 = camelized(parsed, HTTP1_FIELDS);
  } else {
    const kinds = Object.fromEntries(
      [COMMON_KIND, ...REQUEST_KINDS].map((k) => [
        k,
        tableField(k === COMMON_KIND ? COMMON_FIELDS : KIND_FIELDS),
      ]),
    );
    const parsed = parseSubTable(raw, ctx, kinds);
    if (parsed !== undefined) into.headers = parsed as HttpTable["headers"];
  }
}

/** A sub-table as one field (used for each `headers.<kind>`). */
function tableField(fields: object): Field<unknown> {
  return {
    kind: "field",
    type: "table",
    doc: "",
    default: {},
    parse: (raw, ctx) => {
      const parsed = parseSubTable(raw, ctx, bySnake(fields as Fields<Record<string, unknown>>));
      return parsed === undefined ? undefined : camelized(parsed, fields);
    },
    toToml: () => undefined,
  };
}

/** One line per HTTP key: dotted name, type, default, doc (for `profileSchemaDoc`). */
export function httpSchemaDoc(): string[] {
  const lines: string[] = [];
  const add = (prefix: string, fields: object) => {
    for (const [k, f] of Object.entries(fields) as [string, Field<unknown>][]) {
      const def = (f.toToml(f.default) ?? "none").replace(/\s*\n\s*/g, " ");
      lines.push(`${prefix}.${snakeCase(k)}: ${f.type} (${def}). ${f.doc}`);
    }
  };
  add("http2", HTTP2_FIELDS);
  add("http2.hpack", HPACK_FIELDS);
  lines.push(`http2.priority.<kind>: ${headersPriorityField.type} (none). ${headersPriorityField.doc}`);
  add("http1", HTTP1_FIELDS);
  add("headers.<kind>", KIND_FIELDS);
  add(`headers.${COMMON_KIND}`, COMMON_FIELDS);
  lines.push(`<kind>: ${REQUEST_KINDS.join(", ")}`);
  return lines;
}

function keyLines<T>(fields: Fields<T>, values: T): string[] {
  const out: string[] = [];
  for (const k of Object.keys(fields) as (keyof T)[]) {
    const text = fields[k].toToml(values[k]);
    if (text !== undefined) out.push(`${snakeCase(String(k))} = ${text}`);
  }
  return out;
}

/** The resolved HTTP layer as TOML tables under `prefix` (e.g. `profiles."x"`). */
export function httpToToml(http: ProfileHttp, prefix: string): string[] {
  const h2 = http.http2;
  const lines = [`[${prefix}.http2]`];
  lines.push(
    ...keyLines(HTTP2_FIELDS, {
      settings: h2.plan.settings,
      greaseSetting: h2.greaseSetting,
      connectionWindowIncrement: h2.plan.connectionWindowIncrement,
      streamWindowIncrement: h2.streamWindowIncrement,
      firstStreamId: h2.plan.firstStreamId,
      priorityFrames: h2.plan.priorityFrames,
      pseudoHeaderOrder: h2.pseudoHeaderOrder,
    }),
  );
  const hp = h2.hpack;
  lines.push(`[${prefix}.http2.hpack]`);
  lines.push(
    ...keyLines(HPACK_FIELDS, {
      ...hp,
      noIndex: [...hp.noIndex],
      ignoreFullMatch: [...hp.ignoreFullMatch],
      neverIndex: [...hp.neverIndex],
      maxIndexedEntryShare: hp.maxIndexedEntryShare ?? null,
      minTableSizeToIndex: hp.minTableSizeToIndex ?? 0,
    }),
  );
  lines.push(`[${prefix}.http2.priority]`);
  for (const k of REQUEST_KINDS) lines.push(`${k} = ${headersPriorityField.toToml(h2.priority[k])}`);
  lines.push(`[${prefix}.http1]`, ...keyLines(HTTP1_FIELDS, http.http1));
  if (http.headers !== null) {
    for (const k of REQUEST_KINDS) {
      lines.push(`[${prefix}.headers.${k}]`, ...keyLines(KIND_FIELDS, http.headers[k]));
    }
  }
  return lines;
}
