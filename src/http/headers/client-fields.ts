/**
 * Sorts a client request's fields for the upstream policy: drops pseudo-headers, the proxy's
 * control headers, hop-by-hop fields and the fields `Connection` names; reads the per-request
 * keep list; joins cookie crumbs; keeps the rest by name in client order.
 */
import { HOP_BY_HOP, isControlHeader, KEEP_HEADERS_HEADER, parseKeepHeaders, tokenList } from "./names.ts";

export type Fields = readonly (readonly [string, string])[];

export interface ClientFields {
  /** Forwardable fields by lowercase name, in first-seen client order (values in order). */
  byName: Map<string, string[]>;
  /** Names listed in `X-PolyTLS-Keep-Headers` ("all" for `*`). */
  keep: Set<string> | "all";
  /** The client's `Upgrade` value (kept aside: only an h1 WebSocket handshake forwards it). */
  upgrade: string | undefined;
}

const TRAILERS = "trailers";
const COOKIE_SEPARATOR = "; "; // RFC 9113 §8.2.3 / RFC 6265 §5.4: crumbs rejoined with "; "

/** What the first pass over a request's fields finds (see `scanClientFields`). */
export interface ClientFacts {
  /** Names the client's `Connection` fields list (lowercased), or null when it sent none. */
  connectionNamed: Set<string> | null;
  /** Names listed in `X-PolyTLS-Keep-Headers` ("all" for `*`), or null when it sent none. */
  keep: Set<string> | "all" | null;
  /** The client's `Upgrade` value (the last one). */
  upgrade: string | undefined;
  /** The client's `TE` lists `trailers` (RFC 9110 §10.1.4): it wants trailers (gRPC requires it). */
  teTrailers: boolean;
  /** The client sent `Range`: a part of the representation, whose offsets a coding would change. */
  range: boolean;
}

/** The connection-named fields, the per-request keep list and the `Upgrade` value, in one pass. */
export function scanClientFields(fields: Fields): ClientFacts {
  let connectionNamed: Set<string> | null = null;
  let keep: Set<string> | "all" | null = null;
  let upgrade: string | undefined;
  let teTrailers = false;
  let range = false;
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i] as Fields[number];
    if (name === "connection") {
      connectionNamed ??= new Set<string>();
      for (const t of tokenList(value)) connectionNamed.add(t);
    } else if (name === KEEP_HEADERS_HEADER) {
      const k = parseKeepHeaders(value);
      keep = keep === "all" || k === "all" ? "all" : new Set([...(keep ?? []), ...k]);
    } else if (name === "upgrade") {
      upgrade = value;
    } else if (name === "te") {
      teTrailers ||= tokenList(value).includes(TRAILERS);
    } else if (name === "range") {
      range = true;
    }
  }
  return { connectionNamed, keep, upgrade, teTrailers, range };
}

/** Whether a client field may go upstream at all (pseudo, control, hop-by-hop and connection-named fields may not). */
export function forwardable(name: string, facts: ClientFacts): boolean {
  if (name.charCodeAt(0) === 0x3a || isControlHeader(name) || HOP_BY_HOP.has(name)) return false;
  return facts.connectionNamed === null || !facts.connectionNamed.has(name);
}

export function sortClientFields(fields: Fields): ClientFields {
  const facts = scanClientFields(fields);
  const byName = new Map<string, string[]>();
  for (const [name, value] of fields) {
    if (!forwardable(name, facts)) continue;
    if (name === "cookie" && value === "") continue; // an empty crumb: "a=1; ; b=2" is no browser's
    const list = byName.get(name);
    if (list === undefined) byName.set(name, [value]);
    else if (name === "cookie") list[0] = joinCookie(list[0] as string, value);
    else list.push(value);
  }
  return { byName, keep: facts.keep ?? new Set(), upgrade: facts.upgrade };
}

/** Cookie crumbs rejoined into one value. */
export function joinCookie(joined: string, crumb: string): string {
  return `${joined}${COOKIE_SEPARATOR}${crumb}`;
}

/** Union of the config-level keep list and the per-request one. */
export function mergeKeep(
  config: ReadonlySet<string> | "all" | undefined,
  request: Set<string> | "all",
): ReadonlySet<string> | "all" {
  if (config === "all" || request === "all") return "all";
  if (config === undefined) return request;
  const lower = lowered(config);
  if (request.size === 0) return lower;
  return new Set([...lower, ...request]);
}

/** The keep list of a request without `X-PolyTLS-Keep-Headers` (null: none), made without allocating. */
export function configKeep(
  config: ReadonlySet<string> | "all" | undefined,
): ReadonlySet<string> | "all" | null {
  return config === undefined ? null : config === "all" ? "all" : lowered(config);
}

/** Config keep lists, lowercased once per set (config sets are not changed after load). */
const LOWERED = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

function lowered(config: ReadonlySet<string>): ReadonlySet<string> {
  let lower = LOWERED.get(config);
  if (lower === undefined) {
    lower = new Set([...config].map((n) => n.toLowerCase()));
    LOWERED.set(config, lower);
  }
  return lower;
}
