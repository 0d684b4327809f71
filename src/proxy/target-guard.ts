/**
 * Which resolved addresses a tunnel may dial. Pure: the caller resolves the name, lists the local
 * interface addresses when needed, and passes everything in.
 *
 * - Loop protection (always on): the proxy's own listen address on its own port is refused with
 *   LOOP_DETECTED (508), in every form that reaches it: the address itself, the unspecified
 *   address (`0.0.0.0` / `::` connect to the local host), IPv4-mapped / -compatible / NAT64 forms,
 *   any loopback address when the proxy listens on loopback or on all addresses, and every local
 *   interface address when it listens on all addresses.
 * - `denyPrivate` refuses loopback, RFC 1918 private, link-local, CGNAT, multicast, unspecified,
 *   reserved (240/4) and IPv6 unique-local addresses; `denyCidrs` refuses extra ranges. Both give
 *   TARGET_DENIED (403).
 *
 * IPv6 addresses that embed an IPv4 address (`::ffff:a.b.c.d`, `::a.b.c.d`, `64:ff9b::a.b.c.d`)
 * are judged as that IPv4 address, so no spelling slips past an IPv4 rule; 6to4 and
 * IPv4-translated addresses are also judged by the IPv4 address they carry under the deny rules.
 */
import { ProxyError } from "../errors/proxy-error.ts";

export interface IpAddress {
  family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

export interface Cidr {
  text: string;
  base: IpAddress;
  prefix: number;
}

export type AddressClass =
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "cgnat"
  | "multicast"
  | "reserved"
  | "unique-local";

export interface GuardRules {
  denyPrivate: boolean;
  denyCidrs: readonly Cidr[];
}

/** The proxy's own listen address as `server.address()` reports it. */
export interface SelfAddress {
  host: string;
  port: number;
}

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    if (!DECIMAL_OCTET.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

function groupsOf(side: string, mayEndWithIpv4: boolean): number[] | null {
  if (side.length === 0) return [];
  const parts = side.split(":");
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (part.includes(".")) {
      const v4 = mayEndWithIpv4 && i === parts.length - 1 ? parseIpv4(part) : null;
      if (!v4) return null;
      out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else {
      if (!HEX_GROUP.test(part)) return null;
      out.push(Number.parseInt(part, 16));
    }
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = groupsOf(halves[0] ?? "", halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? "", true) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** An IPv6 address that embeds an IPv4 one (mapped, compatible, NAT64 well-known prefix). */
function embeddedIpv4(b: Uint8Array): Uint8Array | null {
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  const tail = b.subarray(12, 16);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return tail; // ::ffff:0:0/96 (RFC 4291)
  if (zeros(0, 12) && !zeros(12, 15)) return tail; // ::a.b.c.d, deprecated (RFC 4291 §2.5.5.1); not :: or ::1
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return tail; // 64:ff9b::/96 (RFC 6052)
  return null;
}

/**
 * The IPv4 address carried by an IPv6 transition address that parseIp keeps as IPv6, because it
 * does not reach that IPv4 host on this machine: 6to4 (`2002:a.b.c.d::/48`, RFC 3056) and
 * IPv4-translated (`::ffff:0:a.b.c.d`, RFC 2765). The deny rules judge it too: a 6to4 prefix
 * must embed a global address (RFC 3056 §2), so one embedding a private one is refused.
 */
function tunnelledIpv4(ip: IpAddress): IpAddress | null {
  if (ip.family !== 6) return null;
  const b = ip.bytes;
  if (b[0] === 0x20 && b[1] === 0x02) return { family: 4, bytes: b.slice(2, 6) };
  const zeros = b.subarray(0, 8).every((x) => x === 0) && b[10] === 0 && b[11] === 0;
  if (zeros && b[8] === 0xff && b[9] === 0xff) return { family: 4, bytes: b.slice(12, 16) };
  return null;
}

/**
 * Parses an IP address as a resolver or `server.address()` returns it (also bracketed, not with a
 * zone id); IPv6 forms embedding an IPv4 address come back as IPv4. Null when not an address.
 */
export function parseIp(text: string): IpAddress | null {
  const t = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!t.includes(":")) {
    const v4 = parseIpv4(t);
    return v4 ? { family: 4, bytes: v4 } : null;
  }
  const v6 = parseIpv6(t);
  if (!v6) return null;
  const v4 = embeddedIpv4(v6);
  return v4 ? { family: 4, bytes: Uint8Array.from(v4) } : { family: 6, bytes: v6 };
}

/** `address/prefix`; an IPv4-mapped IPv6 range (`::ffff:a.b.c.d/≥96`) becomes the IPv4 range. */
export function parseCidr(text: string): Cidr | null {
  const m = /^([^/\s]+)\/([0-9]{1,3})$/.exec(text);
  if (!m?.[1] || !m[2]) return null;
  const raw = m[1].includes(":") ? parseIpv6(m[1]) : parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (!raw || prefix > raw.length * 8) return null;
  if (raw.length === 16) {
    const v4 = embeddedIpv4(raw);
    const mapped = v4 !== null && raw[10] === 0xff && raw[11] === 0xff;
    if (mapped && prefix >= 96)
      return { text, base: { family: 4, bytes: Uint8Array.from(v4) }, prefix: prefix - 96 };
    return { text, base: { family: 6, bytes: raw }, prefix };
  }
  return { text, base: { family: 4, bytes: raw }, prefix };
}

export function inCidr(ip: IpAddress, cidr: Cidr): boolean {
  if (ip.family !== cidr.base.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip.bytes[i] ?? 0) & mask) !== ((cidr.base.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** Special-purpose ranges refused by deny_private (RFC 6890 and the RFCs named). */
const CLASS_RANGES: readonly (readonly [Cidr, AddressClass])[] = (
  [
    ["0.0.0.0/8", "unspecified"], // "this network", RFC 1122 §3.2.1.3; Linux connects 0.0.0.0 to the local host
    ["127.0.0.0/8", "loopback"], // RFC 1122
    ["10.0.0.0/8", "private"], // RFC 1918
    ["172.16.0.0/12", "private"], // RFC 1918
    ["192.168.0.0/16", "private"], // RFC 1918
    ["100.64.0.0/10", "cgnat"], // RFC 6598
    ["169.254.0.0/16", "link-local"], // RFC 3927 (cloud metadata services live here)
    ["224.0.0.0/4", "multicast"], // RFC 5771
    ["240.0.0.0/4", "reserved"], // RFC 1112 §4, includes the limited broadcast 255.255.255.255
    ["::/128", "unspecified"], // RFC 4291
    ["::1/128", "loopback"], // RFC 4291
    ["fe80::/10", "link-local"], // RFC 4291
    ["fec0::/10", "private"], // deprecated site-local, RFC 3879
    ["fc00::/7", "unique-local"], // RFC 4193
    ["ff00::/8", "multicast"], // RFC 4291
  ] as const
).map(([text, cls]) => [builtinCidr(text), cls] as const);

function builtinCidr(text: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new ProxyError("INTERNAL", `bad built-in range ${text}`);
  return c;
}

/** The special-purpose class of an address, or null for an ordinary (public) unicast address. */
export function classify(ip: IpAddress): AddressClass | null {
  for (const [range, cls] of CLASS_RANGES) if (inCidr(ip, range)) return cls;
  return null;
}

/** Builds the rules from config values (already validated by the config schema). */
export function compileGuard(cfg: { denyPrivate: boolean; denyCidrs: readonly string[] }): GuardRules {
  const denyCidrs = cfg.denyCidrs.map((text) => {
    const c = parseCidr(text);
    if (!c)
      throw new ProxyError("CONFIG_INVALID", `proxy.access.deny_cidrs: "${text}" is not address/prefix`);
    return c;
  });
  return { denyPrivate: cfg.denyPrivate, denyCidrs };
}

/** Whether the caller must list the local interface addresses for isSelf (listening on all). */
export function listensOnAll(self: SelfAddress | null): boolean {
  const ip = self ? parseIp(self.host) : null;
  return ip !== null && classify(ip) === "unspecified";
}

function sameIp(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.bytes.every((x, i) => x === b.bytes[i]);
}

/** Whether dialling `ip`:`port` reaches the proxy's own listener; `local` = interface addresses. */
export function isSelf(
  ip: IpAddress,
  port: number,
  self: SelfAddress | null,
  local: readonly string[],
): boolean {
  const own = self ? parseIp(self.host) : null;
  if (!self || !own || port !== self.port) return false;
  const cls = classify(ip);
  if (cls === "unspecified" || sameIp(ip, own)) return true;
  const ownClass = classify(own);
  if (cls === "loopback" && (ownClass === "loopback" || ownClass === "unspecified")) return true;
  if (ownClass !== "unspecified") return false;
  return local.some((l) => {
    const a = parseIp(l);
    return a !== null && sameIp(a, ip);
  });
}

/**
 * The verdict for one resolved address of `host`: null = may be dialled, else the error to answer
 * with. The message names the rule but not the address (the client learns nothing about internal
 * DNS).
 */
export function checkAddress(
  host: string,
  address: string,
  port: number,
  ctx: { rules: GuardRules; self: SelfAddress | null; local: readonly string[] },
): ProxyError | null {
  const ip = parseIp(address);
  if (!ip)
    return new ProxyError("TARGET_DENIED", `target ${host} resolved to something that is not an IP address`);
  if (isSelf(ip, port, ctx.self, ctx.local)) {
    return new ProxyError(
      "LOOP_DETECTED",
      `CONNECT target ${host}:${port} is this proxy's own listen address`,
    );
  }
  const inner = tunnelledIpv4(ip);
  const cls = ctx.rules.denyPrivate ? (classify(ip) ?? (inner ? classify(inner) : null)) : null;
  if (cls)
    return new ProxyError("TARGET_DENIED", `target ${host} is a ${cls} address (proxy.access.deny_private)`);
  const range = ctx.rules.denyCidrs.find((c) => inCidr(ip, c) || (inner !== null && inCidr(inner, c)));
  if (range)
    return new ProxyError("TARGET_DENIED", `target ${host} is in ${range.text} (proxy.access.deny_cidrs)`);
  return null;
}
