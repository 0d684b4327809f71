import { type Authority, parseAuthority } from "../../proxy/authority.ts";
import { H1Error } from "./errors.ts";
import { asciiLower, shown, shownTarget } from "./syntax.ts";

/**
 * The four request-target forms (RFC 9112 §3.2), and Host validation (RFC 9112 §3.2, RFC 9110 §7.2).
 *
 * Characters: only VCHAR (0x21-0x7E) and never `#` (a fragment is not part of a request-target).
 * Beyond that the path and query are not checked against RFC 3986: browsers send `|`, `^`, `[`,
 * `]`, `{`, `}` unescaped in queries, and the origin, not the proxy, owns their meaning.
 *
 * - origin-form: starts with `/`.
 * - absolute-form: `http://` or `https://` (scheme case-insensitive) + authority + optional path
 *   and query; userinfo is refused (RFC 9110 §4.2.4 says to treat it as an error); other schemes
 *   are refused (this proxy only speaks HTTP). `path` is the origin-form to send upstream (`/` when
 *   the URI has no path).
 * - authority-form: only, and always, for CONNECT (RFC 9112 §3.2.3).
 * - asterisk-form: `*`, only for OPTIONS (RFC 9112 §3.2.4).
 *
 * Hosts (Host values, absolute-form and authority-form authorities) go through the CONNECT
 * authority parser, so the rules match the CONNECT path: DNS names of letters, digits, hyphen (and
 * underscore), strict dotted-quad IPv4, bracketed IPv6 without zone, port 1-65535 without leading
 * zeros. The port is optional except in authority-form. An empty Host is refused: an http(s) URI
 * with an empty host is invalid (RFC 9110 §4.2.1), so there is nothing to forward to.
 */
export type RequestTarget =
  | { form: "origin"; raw: string; path: string }
  | { form: "absolute"; raw: string; scheme: "http" | "https"; authority: string; path: string }
  | { form: "authority"; raw: string; authority: string }
  | { form: "asterisk"; raw: "*" };

export interface HostPort {
  host: string;
  port: number | null;
  kind: Authority["kind"];
}

export function parseTarget(raw: string, method: string): RequestTarget {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x23)
      throw badTarget(
        raw,
        `invalid character in request-target (U+${c.toString(16).padStart(4, "0")} at ${i})`,
      );
  }
  if (raw.length === 0) throw badTarget(raw, "empty request-target");
  if (method === "CONNECT") {
    parseHostPort(raw, true, "BAD_TARGET");
    return { form: "authority", raw, authority: raw };
  }
  if (raw.startsWith("/")) return { form: "origin", raw, path: raw };
  if (raw === "*") {
    if (method !== "OPTIONS") throw badTarget(raw, "asterisk-form is only for OPTIONS");
    return { form: "asterisk", raw: "*" };
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?]*)(.*)$/.exec(raw);
  if (m === null) throw badTarget(raw, "request-target is not origin-form or absolute-form");
  const scheme = asciiLower(m[1] ?? "");
  if (scheme !== "http" && scheme !== "https") throw badTarget(raw, `scheme ${shown(scheme)} not supported`);
  const authority = m[2] ?? "";
  if (authority.includes("@")) throw badTarget(raw, "userinfo in request-target");
  parseHostPort(authority, false, "BAD_TARGET");
  const rest = m[3] ?? "";
  return {
    form: "absolute",
    raw,
    scheme,
    authority,
    path: rest.length === 0 ? "/" : rest.startsWith("?") ? `/${rest}` : rest,
  };
}

/** `uri-host [":" port]` validated; `requirePort` for authority-form. */
export function parseHostPort(
  value: string,
  requirePort: boolean,
  reason: "BAD_TARGET" | "HOST_INVALID",
): HostPort {
  const bracketed = value.startsWith("[");
  const hasPort = bracketed ? value.includes("]:") : value.includes(":");
  if (requirePort && !hasPort) throw invalid(value, reason, "missing port");
  try {
    // The CONNECT parser requires a port: lend it one when the value has none.
    const a = parseAuthority(hasPort ? value : `${value}:1`);
    return { host: a.host, port: hasPort ? a.port : null, kind: a.kind };
  } catch (cause) {
    throw invalid(value, reason, cause instanceof Error ? cause.message : "invalid authority", cause);
  }
}

function invalid(
  value: string,
  reason: "BAD_TARGET" | "HOST_INVALID",
  why: string,
  cause?: unknown,
): H1Error {
  return new H1Error("request", reason, `invalid authority ${shown(value)}: ${why}`, 400, { cause });
}

function badTarget(raw: string, why: string): H1Error {
  return new H1Error("request", "BAD_TARGET", `${why}: ${shownTarget(raw)}`);
}
