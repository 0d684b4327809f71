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
 * The X-PolyTLS-Upstream-Profile header wins over the user name when both are given. Basic
 * credentials that are no base64 of `user:password` choose nothing: with proxy auth on they are
 * refused (407), with it off they are a client error (400, access.ts profileFromCredentials)
 * rather than a silent fall back to the default profile.
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

export interface BasicCredentials {
  username: string;
  password: string;
}

/** A Basic token68 (RFC 7617 §2: base64 of user-id ":" password, RFC 4648 §4 alphabet). */
const BASE64_TOKEN = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * `Basic <base64(user:password)>` (RFC 7617), decoded: null when absent or another scheme; a
 * reason when it is Basic but not the base64 of `user:password` (bad base64, no colon).
 */
export function parseBasic(header: string | null): BasicCredentials | null | { malformed: string } {
  const m = header === null ? null : /^Basic(?:[ \t]+(.*))?$/is.exec(header.trim());
  if (m === null) return null;
  const token = m[1] ?? "";
  if (!BASE64_TOKEN.test(token)) return { malformed: "not base64" };
  const decoded = Buffer.from(token, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return { malformed: "no ':' after base64 decoding" };
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `Basic <base64(user:password)>` (RFC 7617), decoded; null when absent, not Basic or malformed. */
export function decodeBasic(header: string | null): BasicCredentials | null {
  const c = parseBasic(header);
  return c === null || "malformed" in c ? null : c;
}
