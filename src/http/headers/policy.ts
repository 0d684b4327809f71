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

  const values = new Map<string, string[]>();
  for (const [name, value] of Object.entries(template?.values ?? {})) values.set(name, [value]);
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

  const order = h1 ? h1Order(template) : template === null ? [ANY_SLOT] : template.order;
  const listed = new Set(order);
  const out: [string, string][] = h1 ? [["host", opts.authority]] : [];
  const emit = (name: string) => {
    for (const v of values.get(name) ?? []) out.push([name, v]);
    values.delete(name);
  };
  const emitExtra = () => {
    for (const name of extra) if (!listed.has(name)) emit(name);
  };
  for (const item of order) {
    if (item === ANY_SLOT) emitExtra();
    else emit(item);
  }
  if (!listed.has(ANY_SLOT)) emitExtra();
  if (!h1) return out;
  return out.map(([n, v]) => [http.http1.headerCase[n] ?? opts.clientCase?.get(n) ?? n, v]);
}
