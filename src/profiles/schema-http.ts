/**
 * The HTTP keys of the profile schema (part of the one profile schema; `schema.ts` parses a
 * profile table's `http2`, `http1` and `headers` sections through here): their types, defaults and
 * docs, the parsed (partial) form `HttpTable` that `extends` merges, and the TOML printer of a
 * resolved `ProfileHttp`. Resolution and cross-key rules: `resolve-http.ts`.
 */
import {
  boolField,
  childPath,
  enumField,
  type Field,
  type FieldContext,
  type Issues,
  intField,
  isTable,
  stringField,
} from "../config/fields.ts";
import type { NeverIndexRule } from "../http/hpack/types.ts";
import { orNone } from "./fields.ts";
import {
  ANY_SLOT,
  headerCaseField,
  headerNamesField,
  headersPriorityField,
  headerValuesField,
  neverIndexField,
  numberField,
  parseSubTable,
  priorityFramesField,
  pseudoOrderField,
  settingsField,
  U31_MAX,
} from "./fields-http.ts";
import {
  type H2HeadersPriority,
  type H2PriorityFrame,
  type H2Setting,
  type ProfileHttp,
  type PseudoHeader,
  REQUEST_KINDS,
  type RequestKind,
} from "./http-types.ts";

export interface Http2Keys {
  settings: H2Setting[];
  greaseSetting: boolean;
  connectionWindowIncrement: number;
  streamWindowIncrement: number | null;
  firstStreamId: number;
  priorityFrames: H2PriorityFrame[];
  pseudoHeaderOrder: PseudoHeader[];
}

/** `HpackPolicy` (src/http/hpack/types.ts) field for field; an absent optional is null / 0 here. */
export interface HpackKeys {
  huffman: "shorter" | "always" | "never";
  nameReference: "first" | "last";
  noIndex: string[];
  ignoreFullMatch: string[];
  neverIndex: NeverIndexRule[];
  cookieCrumbs: "none" | "semicolon" | "semicolon-space";
  maxIndexedEntryShare: number | null;
  minTableSizeToIndex: number;
  sizeUpdates: "changes-only" | "every-setting";
}

export interface Http1Keys {
  headerCase: Record<string, string>;
  omit: string[];
  connection: string;
}

export interface KindKeys {
  order: string[];
  h1Order: string[] | null;
  /** null = drop the inherited value. */
  values: Record<string, string | null>;
}

export const COMMON_KIND = "common";
export type HeaderTableName = RequestKind | typeof COMMON_KIND;

/** The HTTP sections of one profile table as written (what `extends` merges). */
export interface HttpTable {
  http2: Partial<Http2Keys>;
  hpack: Partial<HpackKeys>;
  priority: Partial<Record<RequestKind, H2HeadersPriority | null>>;
  http1: Partial<Http1Keys>;
  headers: Partial<Record<HeaderTableName, Partial<KindKeys>>>;
}

export const emptyHttpTable = (): HttpTable => ({
  http2: {},
  hpack: {},
  priority: {},
  http1: {},
  headers: {},
});

type Fields<T> = { readonly [K in keyof T]: Field<T[K]> };

export const HTTP2_FIELDS: Fields<Http2Keys> = {
  settings: settingsField,
  greaseSetting: boolField(
    "Append a random GREASE setting (id 0x?a?a) last, as Chrome's Finch trial does",
    false,
  ),
  connectionWindowIncrement: intField(
    "Connection (stream 0) WINDOW_UPDATE increment sent after SETTINGS; 0 = none",
    0,
    0,
    U31_MAX - 65535,
  ),
  streamWindowIncrement: orNone(
    intField(
      "WINDOW_UPDATE increment sent on each request stream after its HEADERS (Firefox)",
      0,
      1,
      U31_MAX,
    ),
  ),
  firstStreamId: intField("Stream id of the first request (odd; Firefox 3)", 1, 1, U31_MAX),
  priorityFrames: priorityFramesField,
  pseudoHeaderOrder: pseudoOrderField,
};

export const HPACK_FIELDS: Fields<HpackKeys> = {
  huffman: enumField(
    "Huffman-code a string: only when shorter (Chrome), always (Firefox), never",
    "shorter",
    ["shorter", "always", "never"] as const,
  ),
  nameReference: enumField("Name index of a literal: first match (Chrome) or last match (Firefox)", "first", [
    "first",
    "last",
  ] as const),
  noIndex: headerNamesField("Names sent literal without indexing", false, true),
  ignoreFullMatch: headerNamesField(
    "Names sent as a literal even on a full table match (Firefox :path)",
    false,
    true,
  ),
  neverIndex: neverIndexField,
  cookieCrumbs: enumField(
    'Cookie crumbs: "none", "semicolon" (Chrome), "semicolon-space" (Firefox)',
    "none",
    ["none", "semicolon", "semicolon-space"] as const,
  ),
  maxIndexedEntryShare: orNone(
    numberField("Entries larger than this share of the table are not indexed (Firefox 0.5)", 1, 0, 1),
  ),
  minTableSizeToIndex: intField(
    "No indexing while the table is smaller than this (octets; Firefox 128)",
    0,
    0,
    U31_MAX,
  ),
  sizeUpdates: enumField(
    'Table size updates: "changes-only" (Chrome) or "every-setting" (Firefox, even an unchanged size)',
    "changes-only",
    ["changes-only", "every-setting"] as const,
  ),
};

export const HTTP1_FIELDS: Fields<Http1Keys> = {
  headerCase: headerCaseField,
  omit: headerNamesField("Names the browser sends on h2 only: never sent on h1", false),
  connection: stringField("Connection value of a normal h1 request", "keep-alive", (v) =>
    /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v) ? undefined : "not a connection option token",
  ),
};

export const KIND_FIELDS: Fields<KindKeys> = {
  order: headerNamesField(`h2 wire order of regular headers; "${ANY_SLOT}" = unlisted client headers`, true),
  h1Order: orNone(headerNamesField("h1 order after Host (default: connection, then order)", true)),
  values: headerValuesField("Header values the profile sends for this kind", true),
};

const COMMON_FIELDS = { values: headerValuesField("Values every kind gets (a kind's own win)", true) };

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function bySnake<T>(fields: Fields<T>): Record<string, Field<unknown>> {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [snake(k), f as Field<unknown>]));
}

function camelized(parsed: Record<string, unknown>, fields: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(fields)) if (parsed[snake(k)] !== undefined) out[k] = parsed[snake(k)];
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
      const h = parseSubTable(
        table.hpack,
        { ...ctx, path: childPath(ctx.path, "hpack") },
        bySnake(HPACK_FIELDS),
      );
      if (h !== undefined) into.hpack = camelized(h, HPACK_FIELDS);
    }
    if (isTable(raw) && table.priority !== undefined) {
      const kinds = Object.fromEntries(REQUEST_KINDS.map((k) => [k, headersPriorityField as Field<unknown>]));
      const p = parseSubTable(table.priority, { ...ctx, path: childPath(ctx.path, "priority") }, kinds);
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
      lines.push(`${prefix}.${snake(k)}: ${f.type} (${def}). ${f.doc}`);
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
    if (text !== undefined) out.push(`${snake(String(k))} = ${text}`);
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
