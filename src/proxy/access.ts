/**
 * Who may use the proxy and where to: optional Basic proxy authentication (RFC 9110 §11.7.1,
 * RFC 7617; SOCKS5 inbound checks the same users with credentialsMatch) and an optional list of
 * allowed target ports. The user name may carry a profile (proxy-user.ts). Pure: no I/O.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ProxyError } from "../errors/proxy-error.ts";
import type { Authority } from "./authority.ts";
import { decodeBasic, parseBasic, splitUsername } from "./proxy-user.ts";

export interface AccessPolicy {
  /** name → SHA-256 of the password; empty = no authentication. */
  readonly users: ReadonlyMap<string, Buffer>;
  /** Allowed target ports; empty = any. */
  readonly allowedPorts: ReadonlySet<number>;
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** Builds the policy from `"name:password"` entries and a port list (both validated by config). */
export function accessPolicy(users: readonly string[], allowedPorts: readonly number[]): AccessPolicy {
  const map = new Map<string, Buffer>();
  for (const entry of users) {
    const at = entry.indexOf(":");
    map.set(entry.slice(0, at), digest(entry.slice(at + 1)));
  }
  return { users: map, allowedPorts: new Set(allowedPorts) };
}

export const OPEN_ACCESS: AccessPolicy = accessPolicy([], []);

/**
 * Whether `username` (its account part: proxy-user.ts) and `password` match a configured user.
 * Digests are compared in constant time; an unknown user still pays for one comparison.
 */
export function credentialsMatch(policy: AccessPolicy, username: string, password: string): boolean {
  const { user } = splitUsername(username, true);
  const expected = policy.users.get(user);
  const given = digest(password);
  return timingSafeEqual(given, expected ?? digest("\u0000unknown-user")) && expected !== undefined;
}

function authenticated(header: string | null, policy: AccessPolicy): boolean {
  const c = decodeBasic(header);
  return c !== null && credentialsMatch(policy, c.username, c.password);
}

/**
 * The profile the credentials ask for (proxy-user.ts), or null. Read only after they were
 * accepted (or when the proxy has no users, so any credentials are only a profile choice), and
 * only where a profile applies. Throws BAD_REQUEST (400) for Basic credentials that are not the
 * base64 of `name:password`.
 */
export function profileFromCredentials(
  policy: AccessPolicy,
  proxyAuthorization: string | null,
): string | null {
  const c = parseBasic(proxyAuthorization);
  if (c === null) return null;
  // Accepted credentials are well formed; without users, malformed ones would choose the default
  // profile in silence, where a readable user name names one (or is refused as unknown).
  if ("malformed" in c)
    throw new ProxyError(
      "BAD_REQUEST",
      `malformed Basic proxy credentials: ${c.malformed} (expected the base64 of name:password; the name selects the profile)`,
    );
  return splitUsername(c.username, policy.users.size > 0).profile;
}

/** Throws PROXY_AUTH_REQUIRED (407) unless the policy has no users or the credentials match. */
export function checkAuth(policy: AccessPolicy, proxyAuthorization: string | null): void {
  if (policy.users.size > 0 && !authenticated(proxyAuthorization, policy)) {
    throw new ProxyError(
      "PROXY_AUTH_REQUIRED",
      proxyAuthorization === null ? "proxy authentication required" : "proxy credentials rejected",
    );
  }
}

/** Throws PROXY_AUTH_REQUIRED (407) or FORBIDDEN (403); authentication is checked first. */
export function checkAccess(
  policy: AccessPolicy,
  proxyAuthorization: string | null,
  target: Authority,
): void {
  checkAuth(policy, proxyAuthorization);
  if (policy.allowedPorts.size > 0 && !policy.allowedPorts.has(target.port)) {
    throw new ProxyError("FORBIDDEN", `CONNECT to port ${target.port} is not allowed`);
  }
}

/**
 * The same policy without its users: for the tunnel, once the listener has authenticated the
 * request (behind the brute-force brake), so credentials are checked once per request.
 */
export function withoutUsers(policy: AccessPolicy): AccessPolicy {
  return policy.users.size === 0 ? policy : { users: new Map(), allowedPorts: policy.allowedPorts };
}
