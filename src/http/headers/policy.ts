/**
 * The browser header policy: a client request's fields -> the upstream request's regular fields,
 * in the profile's order for the request kind and protocol. Pure (no I/O, no clock).
 *
 * - The profile owns the browser-identity fields (`names.ts`: user-agent, accept,
 *   accept-language, accept-encoding, sec-ch-*, sec-fetch-*, upgrade-insecure-requests, priority,
 *   te, dnt, sec-gpc): the client's are dropped and the kind's values sent instead, unless the name
 *   is kept (`keepClient` from the config, or `X-PolyTLS-Keep-Headers: a, b` / `*` per request),
 *   in which case the client's value is sent where the browser puts that field.
 * - `Sec-Fetch-Site` follows the client's `Origin` / `Referer` when it sent one (`fetch-site.ts`).
 * - Every other client field (cookie, authorization, content-type, content-length, referer,
 *   origin, custom headers) passes through; a field the template lists goes to its slot, the rest
 *   go to the template's `*` slot in client order (or last when the template has none). A
 *   non-identity template value (e.g. a WebSocket's `pragma`) is a default the client overrides.
 * - Hop-by-hop and connection-specific fields, `host`, pseudo-headers and every `x-polytls-*`
 *   field are dropped; cookie crumbs are joined with "; ".
 * - h2: names lowercase, no connection-specific field, `te` only as `trailers`.
 * - h1: `Host` first, `Connection` regenerated (`Upgrade` plus the client's `Upgrade`, else
 *   `websocket`, for the websocket kind) at its slot in the kind's h1 order (after `Host` by default), the
 *   profile's h2-only names omitted, names in the profile's case (else the client's case).
 * - A profile without header templates passes every remaining client field through in order.
 */
import type { KindHeaders, ProfileHttp, RequestKind } from "../../profiles/http-types.ts";
import { type Fields, mergeKeep, sortClientFields } from "./client-fields.ts";
import { fetchSite } from "./fetch-site.ts";
import { H2_FORBIDDEN, isIdentityHeader } from "./names.ts";

export interface UpstreamHeaderOptions {
  protocol: "h2" | "h1";
  /** Target `host[:port]`: the h1 `Host` value (h2 callers put it in `:authority`). */
  authority: string;
  /** Config-level names whose client values are kept (`proxy.http.keep_client_headers`). */
  keepClient?: ReadonlySet<string> | "all";
  /** Original case of the client's field names by lowercase name (h1 output of passed fields). */
  clientCase?: ReadonlyMap<string, string>;
  /** h1 `Connection` value instead of the profile's (e.g. "close"); not used for a WebSocket. */
  connection?: string;
}

const TRAILERS = "trailers"; // RFC 9113 §8.2.2: the only TE value allowed on h2
const ANY_SLOT = "*";
const WEBSOCKET = "websocket"; // RFC 6455 §4.1 Upgrade token

function h1Order(template: KindHeaders | null): string[] {
  const order = template === null ? [ANY_SLOT] : (template.h1Order ?? template.order);
  return order.includes("connection") ? order : ["connection", ...order];
}

/** What a template decides once, whatever the request: its slots per protocol and its values. */
interface TemplatePlan {
  h2: { order: readonly string[]; listed: ReadonlySet<string> };
  h1: { order: readonly string[]; listed: ReadonlySet<string> };
  /** The template's values, each as a one-value list (shared: never changed). */
  values: readonly (readonly [string, readonly string[]])[];
}

function slots(order: readonly string[]): TemplatePlan["h2"] {
  return { order, listed: new Set(order) };
}

const NO_TEMPLATE: TemplatePlan = { h2: slots([ANY_SLOT]), h1: slots(h1Order(null)), values: [] };
/** Plans per template object (profiles are immutable once loaded; entries go with them). */
const plans = new WeakMap<KindHeaders, TemplatePlan>();

function planOf(template: KindHeaders | null): TemplatePlan {
  if (template === null) return NO_TEMPLATE;
  let plan = plans.get(template);
  if (plan === undefined) {
    plan = {
      h2: slots([...template.order]),
      h1: slots(h1Order(template)),
      values: Object.entries(template.values).map(([n, v]) => [n, [v]] as const),
    };
    plans.set(template, plan);
  }
  return plan;
}

/** The upstream request's regular fields, `[name, value]` in wire order (see the file header). */
export function buildUpstreamHeaders(
  http: ProfileHttp,
  kind: RequestKind,
  clientFields: Fields,
  opts: UpstreamHeaderOptions,
): [string, string][] {
  const h1 = opts.protocol === "h1";
  const client = sortClientFields(clientFields);
  const keep = mergeKeep(opts.keepClient, client.keep);
  const template = http.headers?.[kind] ?? null;
  const fromClient = (name: string): boolean =>
    !isIdentityHeader(name) || template === null || keep === "all" || keep.has(name);

  const plan = planOf(template);
  const values = new Map<string, readonly string[]>(plan.values);
  const siteValue = values.has("sec-fetch-site") && !client.byName.has("sec-fetch-site");
  for (const [name, list] of client.byName) if (fromClient(name)) values.set(name, list);
  const initiator = client.byName.get("origin")?.[0] ?? client.byName.get("referer")?.[0];
  if (siteValue && initiator !== undefined) {
    const site = fetchSite(initiator, opts.authority);
    if (site !== undefined) values.set("sec-fetch-site", [site]);
  }
  const extra = [...client.byName.keys()].filter(fromClient);
  if (h1) {
    const upgrade = kind === "websocket" ? (client.upgrade ?? WEBSOCKET) : undefined;
    values.set("connection", [
      upgrade !== undefined ? "Upgrade" : (opts.connection ?? http.http1.connection),
    ]);
    if (upgrade !== undefined) {
      values.set("upgrade", [upgrade]);
      extra.push("upgrade");
    }
    for (const name of http.http1.omit) if (name !== "connection") values.delete(name);
  } else {
    for (const name of H2_FORBIDDEN) values.delete(name);
    if (values.get("te")?.join() !== TRAILERS) values.delete("te");
  }

  const { order, listed } = h1 ? plan.h1 : plan.h2;
  const out: [string, string][] = h1 ? [["host", opts.authority]] : [];
  const emit = (name: string) => {
    const list = values.get(name);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) out.push([name, list[i] as string]);
    values.delete(name);
  };
  const emitExtra = () => {
    for (let i = 0; i < extra.length; i++) {
      const name = extra[i] as string;
      if (!listed.has(name)) emit(name);
    }
  };
  for (let i = 0; i < order.length; i++) {
    const item = order[i] as string;
    if (item === ANY_SLOT) emitExtra();
    else emit(item);
  }
  if (!listed.has(ANY_SLOT)) emitExtra();
  if (!h1) return out;
  return out.map(([n, v]) => [http.http1.headerCase[n] ?? opts.clientCase?.get(n) ?? n, v]);
}
