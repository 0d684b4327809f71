import { ProxyError } from "../errors/proxy-error.ts";
import { detachedString } from "../http/detached.ts";
import { safeTarget } from "../http/h1/syntax.ts";

/**
 * The CONNECT target in authority form, `host:port` (RFC 9110 §9.3.6), validated and normalised:
 *
 * - `dns`: LDH labels (letters, digits, hyphen; no hyphen at a label's start or end), 1-63 bytes
 *   each, at most 253 bytes in all; lowercased; one trailing dot is accepted and stripped.
 *   Underscore is ALSO accepted inside labels: it is not a legal host-name character (RFC 952/1123),
 *   but it occurs in real internal host names and browsers resolve such names, so refusing them
 *   would only break users. Non-ASCII names are refused: clients send A-labels (`xn--…`).
 * - `ipv4`: strict dotted quad, each part 0-255 in decimal without leading zeros. A name whose last
 *   label is all digits is taken as an IPv4 attempt, so `1.2.3`, `010.0.0.1` or `0x7f.1` are refused
 *   rather than passed to a resolver that might read them as (octal / short-form) addresses.
 * - `ipv6`: bracketed literal (RFC 3986 §3.2.2 IP-literal), checked group by group (RFC 4291 §2.2,
 *   embedded IPv4 tail allowed) and normalised to RFC 5952 text (all-hex; the optional mixed
 *   IPv4 notation of RFC 5952 §5 is not produced). Zone ids (`%25eth0`, RFC 6874) and
 *   IPvFuture are refused: a proxy must not let a client pick its outgoing interface.
 * - port: decimal 1-65535, required, no leading zeros (so formatting round-trips).
 *
 * Userinfo, paths, queries, empty hosts and anything else are BAD_AUTHORITY. An error never
 * echoes userinfo (credentials): the part of the target up to its last `@` is shown as `***`.
 */
export interface Authority {
  host: string;
  port: number;
  kind: "dns" | "ipv4" | "ipv6";
}

const MAX_DNS_NAME = 253; // bytes; RFC 1035 §2.3.4 (255 octets on the wire = 253 in dotted text)
const MAX_DNS_LABEL = 63; // bytes; RFC 1035 §2.3.4
const MAX_PORT = 65535; // RFC 793 16-bit port
const MAX_AUTHORITY_CHARS = 300; // chars; longest valid form is a 253-byte name + ":65535" — fail fast on junk

const DNS_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

const SHOWN_TARGET_CHARS = 80; // chars of a refused target echoed in the error (log line, 400 body)

/**
 * The target as an error shows it, whatever the reason for the refusal: no userinfo and no query
 * (safeTarget), cut to 80 characters.
 */
function shownTarget(input: string): string {
  const safe = safeTarget(input);
  return safe.length > SHOWN_TARGET_CHARS ? `${safe.slice(0, SHOWN_TARGET_CHARS)}…` : safe;
}

function bad(input: string, reason: string): ProxyError {
  return new ProxyError("BAD_AUTHORITY", `CONNECT target ${JSON.stringify(shownTarget(input))}: ${reason}`);
}

export function parseAuthority(s: string): Authority {
  if (s.length === 0) throw bad(s, "empty target");
  if (s.length > MAX_AUTHORITY_CHARS) throw bad(s, "target too long");
  if (!/^[\x21-\x7e]+$/.test(s)) throw bad(s, "only printable ASCII is allowed (send A-labels for IDNs)");
  if (s.includes("@")) throw bad(s, "userinfo (user:***@) is not allowed in a CONNECT target");
  if (/[/?#\\]/.test(s)) throw bad(s, "authority form is host:port only (no scheme, path or query)");

  let hostText: string;
  let portText: string;
  let kind: Authority["kind"];
  let host: string;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) throw bad(s, "unterminated IPv6 literal");
    hostText = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (!rest.startsWith(":")) throw bad(s, "missing port");
    portText = rest.slice(1);
    kind = "ipv6";
    host = parseIpv6(s, hostText);
  } else {
    const colon = s.lastIndexOf(":");
    if (colon < 0) throw bad(s, "missing port");
    hostText = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (hostText.includes(":")) throw bad(s, "IPv6 literals must be bracketed");
    const parsed = parseHostName(s, hostText);
    kind = parsed.kind;
    host = parsed.host;
  }
  return { host, port: parsePort(s, portText), kind };
}

function parsePort(input: string, text: string): number {
  if (text.length === 0) throw bad(input, "missing port");
  if (!/^[0-9]{1,5}$/.test(text)) throw bad(input, "port must be 1-65535 in decimal");
  if (text.length > 1 && text.startsWith("0")) throw bad(input, "port has leading zeros");
  const port = Number(text);
  if (port < 1 || port > MAX_PORT) throw bad(input, "port must be 1-65535");
  return port;
}

function parseHostName(input: string, text: string): { host: string; kind: "dns" | "ipv4" } {
  if (text.length === 0) throw bad(input, "empty host");
  const name = asciiLower(text.endsWith(".") ? text.slice(0, -1) : text);
  if (name.length === 0) throw bad(input, "empty host");
  const labels = name.split(".");
  const last = labels[labels.length - 1] ?? "";
  // The host is kept as long as the Authority (pools, dial options): it must not hold on to the
  // larger string it may have been cut from (a whole request head: see http/detached.ts).
  if (/^[0-9]+$/.test(last) || /^0x/i.test(last))
    return { host: detachedString(parseIpv4(input, text)), kind: "ipv4" };
  if (name.length > MAX_DNS_NAME) throw bad(input, "host name longer than 253 bytes");
  for (const label of labels) {
    if (label.length === 0) throw bad(input, "empty label in host name");
    if (label.length > MAX_DNS_LABEL) throw bad(input, "host name label longer than 63 bytes");
    if (!DNS_LABEL.test(label)) throw bad(input, "invalid character in host name");
  }
  return { host: detachedString(name), kind: "dns" };
}

function parseIpv4(input: string, text: string): string {
  const parts = text.split(".");
  if (parts.length !== 4) throw bad(input, "IPv4 address must be a dotted quad");
  for (const part of parts) {
    if (!DECIMAL.test(part)) throw bad(input, "IPv4 parts must be decimal without leading zeros");
    if (part.length > 3 || Number(part) > 255) throw bad(input, "IPv4 part out of range");
  }
  return text;
}

/** Parses the text inside the brackets into 8 groups and returns the RFC 5952 form. */
function parseIpv6(input: string, text: string): string {
  if (text.length === 0) throw bad(input, "empty IPv6 literal");
  if (text.includes("%")) throw bad(input, "IPv6 zone ids are not allowed");
  if (/^v/i.test(text)) throw bad(input, "IPvFuture literals are not supported");
  const halves = text.split("::");
  if (halves.length > 2) throw bad(input, "IPv6 literal has more than one '::'");
  const head = groupsOf(input, halves[0] ?? "", halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(input, halves[1] ?? "", true) : [];
  const groups =
    halves.length === 2
      ? (() => {
          const missing = 8 - head.length - tail.length;
          if (missing < 1) throw bad(input, "IPv6 literal has too many groups");
          return [...head, ...new Array<number>(missing).fill(0), ...tail];
        })()
      : head;
  if (groups.length !== 8) throw bad(input, "IPv6 literal must have 8 groups");
  return formatIpv6(groups);
}

/** Groups of one side of `::`; an IPv4 tail (two groups) is allowed only in the last position. */
function groupsOf(input: string, side: string, mayEndWithIpv4: boolean): number[] {
  if (side.length === 0) return [];
  const parts = side.split(":");
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (part.includes(".")) {
      if (!mayEndWithIpv4 || i !== parts.length - 1) throw bad(input, "misplaced IPv4 part in IPv6 literal");
      const v4 = parseIpv4(input, part).split(".").map(Number);
      out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else {
      if (!HEX_GROUP.test(part)) throw bad(input, "invalid IPv6 group");
      out.push(Number.parseInt(part, 16));
    }
  }
  return out;
}

/** RFC 5952 §4: lowercase hex, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLen).join(":");
  return `${left}::${right}`;
}

/** `host:port`, with brackets around IPv6 literals. */
export function formatAuthority(a: Authority): string {
  return formatHostPort(a.host, a.port);
}

/** `host:port` of a bare host (a listen address): brackets around an IPv6 literal (it has `:`). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Whether a TLS SNI name designates the CONNECT host: ASCII case-insensitive, one trailing dot on
 * either side ignored. An empty name never matches.
 */
export function hostsEqual(sni: string, connectHost: string): boolean {
  const a = withoutDot(sni);
  if (a.length === 0) return false;
  const b = withoutDot(connectHost);
  return a === b || asciiLower(a) === asciiLower(b);
}

function withoutDot(h: string): string {
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** ASCII-only lowercasing: `String#toLowerCase` would fold e.g. U+212A KELVIN SIGN into `k`. */
function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return s.replace(/[A-Z]/g, lowerChar);
  }
  return s;
}

function lowerChar(c: string): string {
  return String.fromCharCode(c.charCodeAt(0) + 32);
}
