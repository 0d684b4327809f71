/**
 * The HTTP keys of the profile schema (part of the one profile schema; `schema.ts` parses a
 * profile table's `http2`, `http1` and `headers` sections through `schema-http-toml.ts`, which
 * also prints a resolved `ProfileHttp`): their types, defaults and docs, and the parsed (partial)
 * form `HttpTable` that `extends` merges. Resolution and cross-key rules: `resolve-http.ts`.
 */
import { boolField, enumField, type Field, intField, stringField } from "../config/fields.ts";
import type { NeverIndexRule } from "../http/hpack/types.ts";
import { orNone } from "./fields.ts";
import { priorityFramesField, settingsField } from "./fields-h2.ts";
import {
  ANY_SLOT,
  headerCaseField,
  headerNamesField,
  headerValuesField,
  neverIndexField,
  numberField,
  pseudoOrderField,
  U31_MAX,
} from "./fields-http.ts";
import type {
  H2HeadersPriority,
  H2PriorityFrame,
  H2Setting,
  PseudoHeader,
  RequestKind,
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

export type Fields<T> = { readonly [K in keyof T]: Field<T[K]> };

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

export const COMMON_FIELDS = { values: headerValuesField("Values every kind gets (a kind's own win)", true) };
