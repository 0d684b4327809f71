/**
 * The proxy user name carries the profile, so clients that can set proxy credentials but not a
 * CONNECT header (Java's Authenticator, Python urllib, SOCKS5 clients) can choose one. Pure.
 *
 * The form, documented in the README:
 * - `<user>-profile-<profile>`: the account `<user>` (checked with the password when
 *   `proxy.auth.users` is set) asking for `<profile>`. The split is at the FIRST `-profile-`, so
 *   profile names may contain dashes (and even `-profile-`); user names may not contain
 *   `-profile-` (the config refuses such users).
 * - Without `-profile-`: with proxy auth on, the whole name is the account (default profile);
 *   with proxy auth off, the whole name is the profile (`curl -x http://firefox@host:port`) and
 *   the password is ignored.
 * The X-PolyTLS-Upstream-Profile header wins over the user name when both are given.
 */

export const PROFILE_SEPARATOR = "-profile-";

export interface ProxyUser {
  /** The account to authenticate ("" when auth is off and the name is only a profile). */
  user: string;
  /** The profile asked for, or null. */
  profile: string | null;
}

export function splitUsername(username: string, authEnabled: boolean): ProxyUser {
  const at = username.indexOf(PROFILE_SEPARATOR);
  if (at >= 0) {
    const profile = username.slice(at + PROFILE_SEPARATOR.length);
    return { user: username.slice(0, at), profile: profile === "" ? null : profile };
  }
  if (authEnabled) return { user: username, profile: null };
  return { user: "", profile: username === "" ? null : username };
}

/** `Basic <base64(user:password)>` (RFC 7617), decoded; null when absent or not Basic. */
export function decodeBasic(header: string | null): { username: string; password: string } | null {
  const m = header === null ? null : /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
