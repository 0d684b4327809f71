/**
 * Who may use the proxy and where to: optional Basic proxy authentication (RFC 9110 §11.7.1,
 * RFC 7617) and an optional list of allowed target ports. Pure: no I/O.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ProxyError } from "../errors/proxy-error.ts";
import type { Authority } from "./authority.ts";

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

function authenticated(header: string | null, users: ReadonlyMap<string, Buffer>): boolean {
  const m = header === null ? null : /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!m?.[1]) return false;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const at = decoded.indexOf(":");
  if (at < 0) return false;
  const expected = users.get(decoded.slice(0, at));
  // Compare digests in constant time; an unknown user still pays for one comparison.
  const given = digest(decoded.slice(at + 1));
  return timingSafeEqual(given, expected ?? digest("\u0000unknown-user")) && expected !== undefined;
}

/** Throws PROXY_AUTH_REQUIRED (407) unless the policy has no users or the credentials match. */
export function checkAuth(policy: AccessPolicy, proxyAuthorization: string | null): void {
  if (policy.users.size > 0 && !authenticated(proxyAuthorization, policy.users)) {
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
