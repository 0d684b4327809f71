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
 * - `Origin` is added where a browser always sends one and the client sent none (a WebSocket, a
 *   method other than GET / HEAD, a cross-origin CORS request: `implied-origin.ts`).
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
import type { Http1Profile, KindHeaders, ProfileHttp, RequestKind } from "../../profiles/http-types.ts";
import {
  type ClientFacts,
  configKeep,
  type Fields,
  forwardable,
  joinCookie,
  mergeKeep,
  scanClientFields,
} from "./client-fields.ts";
import { fetchSite } from "./fetch-site.ts";
import { impliedOrigin } from "./implied-origin.ts";
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
  /** The target's scheme (plain-HTTP proxying: `http`); default `https`. */
  scheme?: "https" | "http";
}

const TRAILERS = "trailers"; // RFC 9113 §8.2.2: the only TE value allowed on h2
const ANY_SLOT = "*";
const WEBSOCKET = "websocket"; // RFC 6455 §4.1 Upgrade token
const SITE = "sec-fetch-site";
const ACCEPT_ENCODING = "accept-encoding";
const IDENTITY = "identity"; // RFC 9110 §12.5.3

function h1Order(template: KindHeaders | null): string[] {
  const order = template === null ? [ANY_SLOT] : (template.h1Order ?? template.order);
  return order.includes("connection") ? order : ["connection", ...order];
}

type Values = readonly string[];

/**
 * A template's order for one protocol, decided once: each listed name's slot, where the unlisted
 * client fields go, and the template's value per slot. Per request only the client's values are
 * placed into the slots: no map of all values is built.
 */
interface Slots {
  readonly order: readonly string[];
  /** The slot of each listed name (its first place in `order`). */
  readonly slotOf: ReadonlyMap<string, number>;
  /** Whether slot `i` emits nothing of its own: a repeated name, or a `*` after the first. */
  readonly repeat: readonly boolean[];
  /** The first `*` slot, or -1 (the unlisted fields then go last). */
  readonly any: number;
  /** The template's value per slot; for h2 already without what h2 must not carry. */
  readonly base: readonly (Values | undefined)[];
  /** h2: the template's field per slot as a frozen `[name, value]`, emitted as is (not copied). */
  readonly fields: readonly ([string, string] | undefined)[];
}

/** What a template decides once, whatever the request. */
interface TemplatePlan {
  h2: Slots;
  h1: Slots;
  /** Whether the template has a `sec-fetch-site` value (then the initiator may refine it). */
  hasSite: boolean;
}

function slots(order: readonly string[], values: Readonly<Record<string, string>>, h2: boolean): Slots {
  const slotOf = new Map<string, number>();
  const repeat: boolean[] = [];
  const base: (Values | undefined)[] = [];
  const fields: ([string, string] | undefined)[] = [];
  let any = -1;
  for (let i = 0; i < order.length; i++) {
    const name = order[i] as string;
    const seen = name === ANY_SLOT ? any >= 0 : slotOf.has(name);
    repeat.push(seen);
    if (name === ANY_SLOT) {
      if (!seen) any = i;
      base.push(undefined);
      fields.push(undefined);
      continue;
    }
    if (!seen) slotOf.set(name, i);
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    const dropped = h2 && (H2_FORBIDDEN.has(name) || (name === "te" && value !== TRAILERS));
    const kept = value === undefined || seen || dropped ? undefined : value;
    base.push(kept === undefined ? undefined : [kept]);
    // Frozen: shared by every request of this kind, so no consumer may change it.
    fields.push(kept === undefined || !h2 ? undefined : (Object.freeze([name, kept]) as [string, string]));
  }
  return { order, slotOf, repeat, any, base, fields };
}

const NO_VALUES: Readonly<Record<string, string>> = {};
const NO_TEMPLATE: TemplatePlan = {
  h2: slots([ANY_SLOT], NO_VALUES, true),
  h1: slots(h1Order(null), NO_VALUES, false),
  hasSite: false,
};
/** Plans per template object (profiles are immutable once loaded; entries go with them). */
const plans = new WeakMap<KindHeaders, TemplatePlan>();

function planOf(template: KindHeaders | null): TemplatePlan {
  if (template === null) return NO_TEMPLATE;
  let plan = plans.get(template);
  if (plan === undefined) {
    plan = {
      h2: slots([...template.order], template.values, true),
      h1: slots(h1Order(template), template.values, false),
      hasSite: Object.hasOwn(template.values, SITE),
    };
    plans.set(template, plan);
  }
  return plan;
}

/** `http1.omit` as a set, once per profile section. */
const omits = new WeakMap<Http1Profile, ReadonlySet<string>>();

function omitted(http1: Http1Profile): ReadonlySet<string> {
  let set = omits.get(http1);
  if (set === undefined) {
    set = new Set(http1.omit.filter((n) => n !== "connection"));
    omits.set(http1, set);
  }
  return set;
}

/** The client fields of one request placed by the template: per slot, plus the unlisted ones in order. */
interface Placed {
  /** Per slot: the client's values (replacing the template's), or a value the policy sets. */
  own: (Values | undefined)[];
  /** Unlisted names in first-seen client order, and their values. */
  extraNames: string[];
  extraValues: string[][];
  sentSite: boolean;
  /** The client's Origin and Referer, if it sent them. */
  origin: string | undefined;
  referer: string | undefined;
}

/** Unlisted names searched linearly up to this many (browsers send a handful). */
const MANY_EXTRAS = 16;

function place(fields: Fields, facts: ClientFacts, s: Slots, takes: (name: string) => boolean): Placed {
  const own: (Values | undefined)[] = new Array(s.order.length);
  const extraNames: string[] = [];
  const extraValues: string[][] = [];
  /** Position of each unlisted name, made once there are many (a linear search stays linear). */
  let extraAt: Map<string, number> | null = null;
  let sentSite = false;
  let origin: string | undefined;
  let referer: string | undefined;
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i] as Fields[number];
    if (!forwardable(name, facts)) continue;
    if (name === SITE) sentSite = true;
    else if (name === "origin") origin ??= value;
    else if (name === "referer") referer ??= value;
    if (!takes(name) || (value === "" && name === "cookie")) continue; // no empty crumb: "a=1; ; b=2"
    const slot = s.slotOf.get(name);
    let list: string[] | undefined;
    if (slot !== undefined) {
      list = own[slot] as string[] | undefined;
      if (list === undefined) {
        own[slot] = [value];
        continue;
      }
    } else {
      if (extraAt === null && extraNames.length >= MANY_EXTRAS) {
        extraAt = new Map();
        for (let j = 0; j < extraNames.length; j++) extraAt.set(extraNames[j] as string, j);
      }
      const at = extraAt === null ? extraNames.indexOf(name) : (extraAt.get(name) ?? -1);
      if (at < 0) {
        extraAt?.set(name, extraNames.length);
        extraNames.push(name);
        extraValues.push([value]);
        continue;
      }
      list = extraValues[at] as string[];
    }
    if (name === "cookie") list[0] = joinCookie(list[0] as string, value);
    else list.push(value);
  }
  return { own, extraNames, extraValues, sentSite, origin, referer };
}

/**
 * The upstream request's regular fields, `[name, value]` in wire order (see the file header);
 * `method` decides whether a browser would add Origin (implied-origin.ts).
 */
export function buildUpstreamHeaders(
  http: ProfileHttp,
  kind: RequestKind,
  clientFields: Fields,
  opts: UpstreamHeaderOptions,
  method = "GET",
): [string, string][] {
  const h1 = opts.protocol === "h1";
  const facts = scanClientFields(clientFields);
  const keep = facts.keep === null ? configKeep(opts.keepClient) : mergeKeep(opts.keepClient, facts.keep);
  const template = http.headers?.[kind] ?? null;
  // A range request keeps the client's own Accept-Encoding: the ranges count the bytes of the
  // coding the client accepts, and a part of a coded body cannot be decoded for it.
  const takes = (name: string): boolean =>
    template === null ||
    keep === "all" ||
    keep?.has(name) === true ||
    !isIdentityHeader(name) ||
    (facts.range && name === ACCEPT_ENCODING);

  const plan = planOf(template);
  const s = h1 ? plan.h1 : plan.h2;
  const placed = place(clientFields, facts, s, takes);
  const { own, extraNames, extraValues } = placed;
  let initiator = placed.origin ?? placed.referer;
  const scheme = opts.scheme ?? "https";
  if (template !== null && placed.origin === undefined) {
    const origin = impliedOrigin(kind, method, placed.referer, { scheme, authority: opts.authority });
    if (origin !== undefined) {
      putField(s, own, extraNames, extraValues, "origin", origin);
      initiator = origin;
    }
  }
  if (plan.hasSite && !placed.sentSite && initiator !== undefined) {
    const site = fetchSite(initiator, opts.authority, scheme);
    const slot = s.slotOf.get(SITE);
    if (site !== undefined && slot !== undefined) own[slot] = [site];
  }
  if (!h1 && facts.teTrailers) wantTrailers(s, own, extraNames, extraValues);
  if (facts.range) identityUnlessAsked(s, own, extraNames, extraValues);
  const omit = h1 ? omitted(http.http1) : null;
  if (h1) {
    const upgrade = kind === "websocket" ? (facts.upgrade ?? WEBSOCKET) : undefined;
    const connection = upgrade !== undefined ? "Upgrade" : (opts.connection ?? http.http1.connection);
    own[s.slotOf.get("connection") as number] = [connection];
    if (upgrade !== undefined) {
      const slot = s.slotOf.get("upgrade");
      if (slot !== undefined) own[slot] = [upgrade];
      else {
        extraNames.push("upgrade");
        extraValues.push([upgrade]);
      }
    }
  }

  const out: [string, string][] = h1 ? [[caseOf(http, opts, "host"), opts.authority]] : [];
  const put = (name: string, list: Values): void => {
    if (omit?.has(name)) return;
    const wire = h1 ? caseOf(http, opts, name) : name;
    for (let i = 0; i < list.length; i++) out.push([wire, list[i] as string]);
  };
  const putExtra = (): void => {
    for (let i = 0; i < extraNames.length; i++) put(extraNames[i] as string, extraValues[i] as string[]);
  };
  const { order, repeat, base, fields } = s;
  for (let i = 0; i < order.length; i++) {
    if (i === s.any) putExtra();
    else if (!repeat[i]) {
      const list = own[i];
      if (list !== undefined) put(order[i] as string, list);
      else if (fields[i] !== undefined) out.push(fields[i] as [string, string]);
      else if (base[i] !== undefined) put(order[i] as string, base[i] as Values);
    }
  }
  if (s.any < 0) putExtra();
  return out;
}

/**
 * h2: the client's `TE: trailers` goes upstream as `te: trailers` even when the browser sends no
 * `te` (a gRPC server refuses a request without it): at the template's `te` slot when it has one,
 * else with the other client fields. Over HTTP/1.1 TE is hop-by-hop and stays dropped.
 */
function wantTrailers(s: Slots, own: (Values | undefined)[], names: string[], values: string[][]): void {
  const slot = s.slotOf.get("te");
  if (slot === undefined || (own[slot] === undefined && s.base[slot] === undefined))
    putField(s, own, names, values, "te", TRAILERS);
}

/** `name: value` at the template's slot for `name`, else with the other client fields. */
function putField(
  s: Slots,
  own: (Values | undefined)[],
  names: string[],
  values: string[][],
  name: string,
  value: string,
): void {
  const slot = s.slotOf.get(name);
  if (slot !== undefined) own[slot] = [value];
  else {
    names.push(name);
    values.push([value]);
  }
}

/**
 * A range request whose client sent no Accept-Encoding asks for `identity` (what it can read),
 * at the template's place for accept-encoding, else with the other client fields.
 */
function identityUnlessAsked(
  s: Slots,
  own: (Values | undefined)[],
  names: string[],
  values: string[][],
): void {
  const slot = s.slotOf.get(ACCEPT_ENCODING);
  const asked = slot === undefined ? names.includes(ACCEPT_ENCODING) : own[slot] !== undefined;
  if (!asked) putField(s, own, names, values, ACCEPT_ENCODING, IDENTITY);
}

/** An h1 field name as sent: the profile's case, else the client's, else lowercase. */
function caseOf(http: ProfileHttp, opts: UpstreamHeaderOptions, name: string): string {
  // hasOwn: a client field named `constructor` must not find Object.prototype's.
  const profileCase = Object.hasOwn(http.http1.headerCase, name) ? http.http1.headerCase[name] : undefined;
  return profileCase ?? opts.clientCase?.get(name) ?? name;
}
