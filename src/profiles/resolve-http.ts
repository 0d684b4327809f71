/**
 * HTTP sections: `extends` merging of the written tables, and resolution of the merged table into
 * the `ProfileHttp` the proxy uses (defaults, request-kind fallbacks, `headers.common`), with the
 * cross-key rules of `validate-http.ts`.
 *
 * Merge (child over parent): each key of `[http2]`, `[http2.hpack]`, `[http1]` replaces the
 * inherited one, except `http1.header_case`, merged by name; `[http2.priority]` by kind;
 * `[headers.<kind>]` (and `[headers.common]`) by key, `values` by header name (`false` drops an
 * inherited value).
 */
import type { Issues } from "../config/fields.ts";
import type { HpackPolicy } from "../http/hpack/types.ts";
import {
  type H2HeadersPriority,
  KIND_FALLBACK,
  type KindHeaders,
  type ProfileHttp,
  REQUEST_KINDS,
  type RequestKind,
} from "./http-types.ts";
import {
  COMMON_KIND,
  HPACK_FIELDS,
  type HpackKeys,
  HTTP1_FIELDS,
  HTTP2_FIELDS,
  type Http1Keys,
  type Http2Keys,
  type HttpTable,
  type KindKeys,
} from "./schema-http.ts";
import { validateHttp } from "./validate-http.ts";

function mergeKind(parent: Partial<KindKeys> | undefined, child: Partial<KindKeys>): Partial<KindKeys> {
  const out: Partial<KindKeys> = { ...parent, ...child };
  if (parent?.values !== undefined || child.values !== undefined)
    out.values = { ...parent?.values, ...child.values };
  return out;
}

/** `child` over `parent` (see the file header). */
export function mergeHttpTables(parent: HttpTable | null, child: HttpTable): HttpTable {
  if (parent === null) return structuredClone(child);
  const headers: HttpTable["headers"] = { ...parent.headers };
  for (const [kind, table] of Object.entries(child.headers) as [
    keyof HttpTable["headers"],
    Partial<KindKeys>,
  ][])
    headers[kind] = mergeKind(parent.headers[kind], table);
  const http1 = { ...parent.http1, ...child.http1 };
  if (parent.http1.headerCase !== undefined && child.http1.headerCase !== undefined)
    http1.headerCase = { ...parent.http1.headerCase, ...child.http1.headerCase };
  return structuredClone({
    http2: { ...parent.http2, ...child.http2 },
    hpack: { ...parent.hpack, ...child.hpack },
    priority: { ...parent.priority, ...child.priority },
    http1,
    headers,
  });
}

function withDefaults<T extends object>(
  fields: { readonly [K in keyof T]: { default: T[K] } },
  set: Partial<T>,
): T {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(fields) as (keyof T & string)[])
    out[k] = set[k] !== undefined ? set[k] : structuredClone(fields[k].default);
  return out as T;
}

function hpackPolicy(k: HpackKeys): HpackPolicy {
  return {
    huffman: k.huffman,
    nameReference: k.nameReference,
    noIndex: k.noIndex,
    ignoreFullMatch: k.ignoreFullMatch,
    neverIndex: k.neverIndex,
    cookieCrumbs: k.cookieCrumbs,
    ...(k.maxIndexedEntryShare === null ? {} : { maxIndexedEntryShare: k.maxIndexedEntryShare }),
    ...(k.minTableSizeToIndex === 0 ? {} : { minTableSizeToIndex: k.minTableSizeToIndex }),
    sizeUpdates: k.sizeUpdates,
  };
}

/** The nearest kind along the fallback chain that `has` accepts (navigate ends every chain). */
export function fallbackSource(kind: RequestKind, has: (k: RequestKind) => boolean): RequestKind | null {
  for (let k: RequestKind | null = kind; k !== null; k = KIND_FALLBACK[k]) if (has(k)) return k;
  return null;
}

function resolvePriority(table: HttpTable): Record<RequestKind, H2HeadersPriority | null> {
  const set = table.priority;
  const out = {} as Record<RequestKind, H2HeadersPriority | null>;
  for (const kind of REQUEST_KINDS) {
    const src = fallbackSource(kind, (k) => set[k] !== undefined);
    out[kind] = src === null ? null : (set[src] ?? null);
  }
  return out;
}

function resolveHeaders(table: HttpTable): Record<RequestKind, KindHeaders> | null {
  const set = table.headers;
  if (!REQUEST_KINDS.some((k) => set[k] !== undefined)) return null;
  const common = set[COMMON_KIND]?.values ?? {};
  const out = {} as Record<RequestKind, KindHeaders>;
  for (const kind of REQUEST_KINDS) {
    const src = set[fallbackSource(kind, (k) => set[k] !== undefined) ?? "navigate"] ?? {};
    const order = src.order ?? [];
    const h1Order = src.h1Order ?? null;
    const sent = new Set([...order, ...(h1Order ?? [])]);
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...common, ...src.values }))
      if (value !== null && sent.has(name)) values[name] = value;
    out[kind] = { order: [...order], h1Order: h1Order === null ? null : [...h1Order], values };
  }
  return out;
}

/** The profile's HTTP layer from its merged tables; undefined after recording problems. */
export function resolveHttp(table: HttpTable, path: string, issues: Issues): ProfileHttp | undefined {
  const before = issues.count;
  validateHttp(table, path, issues);
  if (issues.count > before) return undefined;
  const h2: Http2Keys = withDefaults(HTTP2_FIELDS, table.http2);
  const http1: Http1Keys = withDefaults(HTTP1_FIELDS, table.http1);
  return {
    http2: {
      plan: {
        settings: h2.settings,
        connectionWindowIncrement: h2.connectionWindowIncrement,
        priorityFrames: h2.priorityFrames,
        firstStreamId: h2.firstStreamId,
      },
      greaseSetting: h2.greaseSetting,
      streamWindowIncrement: h2.streamWindowIncrement,
      pseudoHeaderOrder: h2.pseudoHeaderOrder,
      hpack: hpackPolicy(withDefaults(HPACK_FIELDS, table.hpack)),
      priority: resolvePriority(table),
    },
    http1,
    headers: resolveHeaders(table),
  };
}
