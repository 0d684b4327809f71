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

const COOKIE_SEPARATOR = "; "; // RFC 9113 §8.2.3 / RFC 6265 §5.4: crumbs rejoined with "; "

export function sortClientFields(fields: Fields): ClientFields {
  const connectionNamed = new Set<string>();
  let keep: Set<string> | "all" = new Set();
  let upgrade: string | undefined;
  for (const [name, value] of fields) {
    if (name === "connection") for (const t of tokenList(value)) connectionNamed.add(t);
    if (name === KEEP_HEADERS_HEADER) {
      const k = parseKeepHeaders(value);
      keep = keep === "all" || k === "all" ? "all" : new Set([...keep, ...k]);
    }
    if (name === "upgrade") upgrade = value;
  }
  const byName = new Map<string, string[]>();
  for (const [name, value] of fields) {
    if (name.startsWith(":") || isControlHeader(name) || HOP_BY_HOP.has(name)) continue;
    if (connectionNamed.has(name)) continue;
    const list = byName.get(name);
    if (list === undefined) byName.set(name, [value]);
    else if (name === "cookie") list[0] = `${list[0]}${COOKIE_SEPARATOR}${value}`;
    else list.push(value);
  }
  return { byName, keep, upgrade };
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
