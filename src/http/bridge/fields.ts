/**
 * Header-field helpers shared by both sides of the bridge: lookups, hop-by-hop filtering and the
 * checks on the authority a request names. Pure.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import { type Authority, formatAuthority, hostsEqual } from "../../proxy/authority.ts";
import { CONNECTION_SPECIFIC, tokenList } from "../headers/names.ts";
import type { HeaderField } from "../hpack/types.ts";

export { CONNECTION_SPECIFIC };

/** First value of `name` (lowercase), or null. */
export function fieldValue(fields: readonly HeaderField[], name: string): string | null {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (f[0] === name) return f[1];
  }
  return null;
}

/** Drops connection-specific fields and every field the `Connection` header names. */
export function withoutHopByHop(fields: readonly HeaderField[]): HeaderField[] {
  const named = connectionTokens(fields);
  const out: HeaderField[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (!isHopByHop(f[0], named)) out.push(f);
  }
  return out;
}

/** The field names a `Connection` field lists (lowercased), or null when there is none. */
export function connectionTokens(fields: readonly HeaderField[]): Set<string> | null {
  let named: Set<string> | null = null;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as HeaderField;
    if (f[0] !== "connection") continue;
    named ??= new Set<string>();
    for (const token of tokenList(f[1])) named.add(token);
  }
  return named;
}

/** Whether `name` is connection-specific or listed by `Connection` (`named`, from `connectionTokens`). */
export function isHopByHop(name: string, named: ReadonlySet<string> | null): boolean {
  return CONNECTION_SPECIFIC.has(name) || named?.has(name) === true;
}

export function splitAuthority(authority: string): { host: string; port: number | null } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/?#@]+))(?::(\d{1,5}))?$/.exec(authority);
  if (m === null) return null;
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host: m[1] ?? m[2] ?? "", port };
}

/**
 * A request inside a tunnel must name the CONNECT target (RFC 9110 §7.2, RFC 9113 §8.3.1):
 * anything else would let one tunnel reach another origin with the first one's checks. The host
 * must be the CONNECT host; a port, when given, the CONNECT port. An authority without a port is
 * taken as the tunnel's (hand-written and some library clients omit a non-default port); the
 * upstream always gets the browser's own spelling of the target.
 * Throws HTTP_BAD_REQUEST (answered 421 Misdirected Request by the client side).
 */
export function checkAuthority(authority: string | null, target: Authority): void {
  if (authority === null || authority === "") {
    throw new ProxyError("HTTP_BAD_REQUEST", "request has no Host / :authority");
  }
  const a = splitAuthority(authority);
  if (a === null) throw new ProxyError("HTTP_BAD_REQUEST", `invalid authority "${authority}"`);
  if (!hostsEqual(a.host, target.host) || (a.port !== null && a.port !== target.port)) {
    throw new ProxyError(
      "HTTP_BAD_REQUEST",
      `request names ${authority}, not the CONNECT target ${formatAuthority(target)}`,
    );
  }
}
