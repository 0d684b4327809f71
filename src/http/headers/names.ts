/**
 * Header-name classes the upstream header policy works with: the proxy's own control headers,
 * hop-by-hop and connection-specific fields (never forwarded), and the browser-identity fields a
 * profile owns. Names are lowercase. Pure data and predicates.
 */

/** Prefix of the proxy's control headers; every such field is stripped before upstream. */
export const CONTROL_PREFIX = "x-polytls-";
/** Per-request list of client headers whose own values are kept (`*` = all). */
export const KEEP_HEADERS_HEADER = "x-polytls-keep-headers";
/** Per-request explicit request kind (see request-kind.ts). */
export const REQUEST_KIND_HEADER = "x-polytls-request-kind";
/** The profile: on CONNECT for the tunnel, on a request for that request (bridge/profile-router.ts). */
export const PROFILE_HEADER = "x-polytls-upstream-profile";

/**
 * Fields that describe one connection, not the message (RFC 9110 §7.6.1: Connection and the fields
 * it names, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade; RFC 9113 §8.2.2 forbids
 * them on h2), plus the h2c upgrade's HTTP2-Settings (RFC 7540 §3.2.1). Never forwarded either way.
 */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "http2-settings",
]);

/**
 * Request fields the client's are always dropped from: the connection-specific ones, the proxy's
 * own credentials, `host` (written from the authority by the caller) and `expect` (browsers never
 * send it; the proxy answers 100-continue itself). The policy regenerates `connection`, `upgrade`
 * (h1 WebSocket) and `te: trailers` (h2) as the browser does.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  ...CONNECTION_SPECIFIC,
  "proxy-authorization",
  "proxy-authenticate",
  "host",
  "expect",
]);

/** Fields that must never appear in an h2 request (RFC 9113 §8.2.2); `te` only as `trailers`. */
export const H2_FORBIDDEN: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

const IDENTITY: ReadonlySet<string> = new Set([
  "user-agent",
  "accept",
  "accept-language",
  "accept-encoding",
  "upgrade-insecure-requests",
  "priority",
  "te",
  "dnt",
  "sec-gpc",
]);
const IDENTITY_PREFIXES = ["sec-ch-", "sec-fetch-"] as const;

/**
 * Browser-identity fields: the profile owns them. The client's value is dropped (unless kept) and
 * the profile's value for the request kind, if any, is sent in its place.
 */
export function isIdentityHeader(name: string): boolean {
  return IDENTITY.has(name) || name.startsWith(IDENTITY_PREFIXES[0]) || name.startsWith(IDENTITY_PREFIXES[1]);
}

export function isControlHeader(name: string): boolean {
  return name.startsWith(CONTROL_PREFIX);
}

/** Comma-separated tokens of a field value, lowercased, empties dropped (RFC 9110 §5.6.1 lists). */
export function tokenList(value: string): string[] {
  if (!value.includes(",")) {
    // One element (the usual `Connection: keep-alive`): no intermediate arrays.
    const t = value.trim().toLowerCase();
    return t === "" ? [] : [t];
  }
  return value
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");
}

/** `X-PolyTLS-Keep-Headers` value -> names to keep, or "all" for `*`. */
export function parseKeepHeaders(value: string): Set<string> | "all" {
  return keepSet(tokenList(value));
}

/** A keep list (lowercase names) -> the names, or "all" when it has `*` (config and header alike). */
export function keepSet(names: readonly string[]): Set<string> | "all" {
  return names.includes("*") ? "all" : new Set(names);
}
