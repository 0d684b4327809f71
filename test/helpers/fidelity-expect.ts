/**
 * What the origin must see for a request, read straight from a profile's templates (tests only):
 * the `[headers.<kind>]` order with the kind's values, client pass-through fields at the `*` slot
 * (or their own slot), and on HTTP/1.1 `Host` first, the `[http1]` case, `Connection` at its slot,
 * h2-only names omitted. A deliberately small oracle, independent of src/http/headers/policy.ts.
 */
import type { H2HeadersPriority, ProfileHttp, RequestKind } from "../../src/profiles/http-types.ts";

export type Field = [string, string];

export interface ClientSide {
  /** Non-identity client fields that pass through (lowercase names), client order. */
  pass?: Field[];
  /** Identity fields the client asked to keep (X-PolyTLS-Keep-Headers), lowercase names. */
  kept?: Field[];
  /** h1: the client's spelling of a passed name, when the profile has no case for it. */
  clientCase?: Record<string, string>;
}

const ANY = "*";

function template(http: ProfileHttp, kind: RequestKind) {
  const t = http.headers?.[kind];
  if (t === undefined) throw new Error(`the profile has no [headers.${kind}] (nor a fallback)`);
  return t;
}

function place(order: string[], values: Map<string, string>, extras: string[]): Field[] {
  const listed = new Set(order);
  const out: Field[] = [];
  const emit = (name: string) => {
    const v = values.get(name);
    if (v !== undefined) out.push([name, v]);
  };
  for (const item of order) {
    if (item === ANY) for (const e of extras.filter((n) => !listed.has(n))) emit(e);
    else emit(item);
  }
  if (!listed.has(ANY)) for (const e of extras.filter((n) => !listed.has(n))) emit(e);
  return out;
}

function valuesFor(http: ProfileHttp, kind: RequestKind, client: ClientSide): Map<string, string> {
  const values = new Map(Object.entries(template(http, kind).values));
  for (const [n, v] of [...(client.pass ?? []), ...(client.kept ?? [])]) values.set(n, v);
  return values;
}

/** The regular fields of the upstream HTTP/2 request, in wire order. */
export function expectedH2Fields(http: ProfileHttp, kind: RequestKind, client: ClientSide = {}): Field[] {
  const values = valuesFor(http, kind, client);
  if (values.has("te") && values.get("te") !== "trailers") values.delete("te"); // RFC 9113 §8.2.2
  const extras = [...(client.pass ?? []), ...(client.kept ?? [])].map(([n]) => n);
  return place(template(http, kind).order, values, extras);
}

/** The HTTP/1.1 head's fields, in wire order and case, `Host` first. */
export function expectedH1Fields(
  http: ProfileHttp,
  kind: RequestKind,
  authority: string,
  client: ClientSide = {},
): Field[] {
  const t = template(http, kind);
  const values = valuesFor(http, kind, client);
  values.set("connection", http.http1.connection);
  for (const name of http.http1.omit) values.delete(name);
  const base = t.h1Order ?? t.order;
  const order = base.includes("connection") ? base : ["connection", ...base];
  const extras = [...(client.pass ?? []), ...(client.kept ?? [])].map(([n]) => n);
  const cased = (n: string) => http.http1.headerCase[n] ?? client.clientCase?.[n] ?? n;
  return [[cased("host"), authority], ...place(order, values, extras).map(([n, v]): Field => [cased(n), v])];
}

/** The pseudo-header order the profile sends for a non-CONNECT request. */
export function expectedPseudoOrder(http: ProfileHttp): string[] {
  return http.http2.pseudoHeaderOrder.filter((p) => p !== ":protocol");
}

/**
 * The HEADERS frame priority of a kind's request when it is the only open stream: null when the
 * profile sends none; "last-open-higher" resolves to 0 then (no other stream is open).
 */
export function expectedPriority(
  http: ProfileHttp,
  kind: RequestKind,
): { exclusive: boolean; dependency: number; weight: number } | null {
  const p: H2HeadersPriority | null = http.http2.priority[kind];
  if (p === null) return null;
  return {
    exclusive: p.exclusive,
    dependency: p.dependency === "last-open-higher" ? 0 : p.dependency,
    weight: p.weight,
  };
}

/**
 * The Akamai string the profile's HTTP/2 plan makes (`S|WU|P|PS`: SETTINGS `id:value`, the
 * connection WINDOW_UPDATE or `00`, PRIORITY frames or `0`, pseudo-header letters). A profile
 * with `grease_setting` appends one random `GREASE:<value>` entry: callers strip it first.
 */
export function expectedAkamai(http: ProfileHttp): string {
  const h2 = http.http2;
  const s = h2.plan.settings.map(([id, v]) => `${id}:${v}`).join(";");
  const wu = h2.plan.connectionWindowIncrement === 0 ? "00" : String(h2.plan.connectionWindowIncrement);
  const p =
    h2.plan.priorityFrames.length === 0
      ? "0"
      : h2.plan.priorityFrames
          .map((f) => `${f.streamId}:${f.exclusive ? 1 : 0}:${f.dependency}:${f.weight}`)
          .join(",");
  return `${s}|${wu}|${p}|${expectedPseudoOrder(http)
    .map((n) => n.charAt(1))
    .join(",")}`;
}
