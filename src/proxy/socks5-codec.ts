/**
 * SOCKS5 messages (RFC 1928) and username/password sub-negotiation (RFC 1929), both directions.
 * Pure: each parser reads one message from the start of a buffer and returns `incomplete` (more
 * bytes needed), the message with the bytes it consumed, or throws a ProxyError; the outcome
 * depends only on the bytes, never on how they were split. Encoders build the byte arrays.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { type Authority, parseAuthority } from "./authority.ts";

export const SOCKS_VERSION = 0x05;
export const USERPASS_VERSION = 0x01; // RFC 1929 §2
export const METHOD = { NO_AUTH: 0x00, USERPASS: 0x02, NONE_ACCEPTABLE: 0xff } as const;
export const COMMAND = { CONNECT: 0x01, BIND: 0x02, UDP_ASSOCIATE: 0x03 } as const;
export const ATYP = { IPV4: 0x01, DOMAIN: 0x03, IPV6: 0x04 } as const;

export type Parsed<T> = { kind: "incomplete" } | { kind: "done"; value: T; consumed: number };
const INCOMPLETE = Object.freeze({ kind: "incomplete" as const });

function bad(reason: string): ProxyError {
  return new ProxyError("SOCKS_BAD_REQUEST", `malformed SOCKS5 message: ${reason}`);
}

/** Client greeting: VER NMETHODS METHODS. */
export function parseGreeting(buf: Uint8Array): Parsed<{ methods: number[] }> {
  if (buf.length < 1) return INCOMPLETE;
  if (buf[0] !== SOCKS_VERSION) throw bad(`version ${buf[0]} (expected 5)`);
  if (buf.length < 2) return INCOMPLETE;
  const n = buf[1] ?? 0;
  if (n === 0) throw bad("greeting offers no method");
  if (buf.length < 2 + n) return INCOMPLETE;
  return { kind: "done", value: { methods: [...buf.subarray(2, 2 + n)] }, consumed: 2 + n };
}

/** Server method selection: VER METHOD. */
export function parseMethodChoice(buf: Uint8Array): Parsed<number> {
  if (buf.length < 1) return INCOMPLETE;
  if (buf[0] !== SOCKS_VERSION) throw bad(`version ${buf[0]} in the method selection`);
  if (buf.length < 2) return INCOMPLETE;
  return { kind: "done", value: buf[1] ?? 0, consumed: 2 };
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** RFC 1929 request: VER ULEN UNAME PLEN PASSWD (names are bytes; decoded as UTF-8). */
export function parseUserPass(buf: Uint8Array): Parsed<{ username: string; password: string }> {
  if (buf.length < 1) return INCOMPLETE;
  if (buf[0] !== USERPASS_VERSION) throw bad(`username/password version ${buf[0]} (expected 1)`);
  if (buf.length < 2) return INCOMPLETE;
  const ulen = buf[1] ?? 0;
  if (buf.length < 3 + ulen) return INCOMPLETE;
  const plen = buf[2 + ulen] ?? 0;
  const end = 3 + ulen + plen;
  if (buf.length < end) return INCOMPLETE;
  const username = utf8.decode(buf.subarray(2, 2 + ulen));
  const password = utf8.decode(buf.subarray(3 + ulen, end));
  return { kind: "done", value: { username, password }, consumed: end };
}

/** RFC 1929 reply: VER STATUS (0 = success). */
export function parseUserPassStatus(buf: Uint8Array): Parsed<number> {
  if (buf.length < 2) return INCOMPLETE;
  if (buf[0] !== USERPASS_VERSION) throw bad(`username/password reply version ${buf[0]}`);
  return { kind: "done", value: buf[1] ?? 0, consumed: 2 };
}

/** A request (CMD) or reply (REP): VER code RSV ATYP ADDR PORT. */
export interface AddressedMessage {
  code: number;
  /** The request's target; null for a reply (its bound address is not used for CONNECT). */
  target: Authority | null;
}

/**
 * Parses a request or a reply. A request's address is validated like a CONNECT target (a domain
 * must be a host name, the port 1-65535: `parseAuthority`); an unknown ATYP is
 * SOCKS_ADDRESS_UNSUPPORTED at once, since the message length is then unknown.
 */
export function parseAddressed(buf: Uint8Array, kind: "request" | "reply"): Parsed<AddressedMessage> {
  if (buf.length < 1) return INCOMPLETE;
  if (buf[0] !== SOCKS_VERSION) throw bad(`version ${buf[0]} in a ${kind}`);
  if (buf.length < 4) return INCOMPLETE;
  if (buf[2] !== 0) throw bad("reserved byte is not 0");
  const atyp = buf[3];
  let addrLen: number;
  let start = 4;
  if (atyp === ATYP.IPV4) addrLen = 4;
  else if (atyp === ATYP.IPV6) addrLen = 16;
  else if (atyp === ATYP.DOMAIN) {
    if (buf.length < 5) return INCOMPLETE;
    addrLen = buf[4] ?? 0;
    start = 5;
    if (addrLen === 0) throw bad("empty domain name");
  } else {
    throw new ProxyError("SOCKS_ADDRESS_UNSUPPORTED", `SOCKS5 address type ${atyp} is not supported`);
  }
  const end = start + addrLen + 2;
  if (buf.length < end) return INCOMPLETE;
  const addr = buf.subarray(start, start + addrLen);
  const port = ((buf[end - 2] ?? 0) << 8) | (buf[end - 1] ?? 0);
  const target = kind === "request" ? parseTarget(atyp, addr, port) : null;
  return { kind: "done", value: { code: buf[1] ?? 0, target }, consumed: end };
}

function parseTarget(atyp: number, addr: Uint8Array, port: number): Authority {
  if (atyp === ATYP.IPV4) return parseAuthority(`${addr.join(".")}:${port}`);
  if (atyp === ATYP.IPV6) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((addr[i] ?? 0) << 8) | (addr[i + 1] ?? 0)).toString(16));
    return parseAuthority(`[${groups.join(":")}]:${port}`);
  }
  // A domain is ASCII (A-labels); anything else is refused by parseAuthority as not printable.
  let name = "";
  for (const b of addr) name += String.fromCharCode(b);
  return parseAuthority(`${name}:${port}`);
}

export function encodeGreeting(methods: readonly number[]): Uint8Array {
  return Uint8Array.from([SOCKS_VERSION, methods.length, ...methods]);
}

export function encodeMethodChoice(method: number): Uint8Array {
  return Uint8Array.from([SOCKS_VERSION, method]);
}

const utf8Encoder = new TextEncoder();

/** RFC 1929 request; each field is at most 255 bytes (the caller checks). */
export function encodeUserPass(username: string, password: string): Uint8Array {
  const u = utf8Encoder.encode(username);
  const p = utf8Encoder.encode(password);
  if (u.length > 255 || p.length > 255) {
    throw new ProxyError("CONFIG_INVALID", "SOCKS5 user name and password are limited to 255 bytes each");
  }
  return Uint8Array.from([USERPASS_VERSION, u.length, ...u, p.length, ...p]);
}

export function encodeUserPassStatus(ok: boolean): Uint8Array {
  return Uint8Array.from([USERPASS_VERSION, ok ? 0x00 : 0x01]);
}

/** The address bytes (ATYP ADDR) of a target: IPv4, IPv6 or a domain name. */
function encodeAddress(target: Authority): number[] {
  if (target.kind === "ipv4") return [ATYP.IPV4, ...target.host.split(".").map(Number)];
  if (target.kind === "ipv6") return [ATYP.IPV6, ...ipv6Bytes(target.host)];
  const name = utf8Encoder.encode(target.host);
  if (name.length > 255) throw new ProxyError("BAD_AUTHORITY", "host name too long for SOCKS5");
  return [ATYP.DOMAIN, name.length, ...name];
}

/** Bytes of an RFC 5952 IPv6 text (as parseAuthority normalises it: hex groups, maybe `::`). */
function ipv6Bytes(text: string): number[] {
  const [head = "", tail] = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** A request (`code` = command) or reply (`code` = REP) to `target`. */
export function encodeAddressed(code: number, target: Authority): Uint8Array {
  return Uint8Array.from([
    SOCKS_VERSION,
    code,
    0x00,
    ...encodeAddress(target),
    target.port >> 8,
    target.port & 0xff,
  ]);
}

/** A reply with the unspecified bound address 0.0.0.0:0 (the client does not need it for CONNECT). */
export function encodeReply(rep: number): Uint8Array {
  return Uint8Array.from([SOCKS_VERSION, rep, 0x00, ATYP.IPV4, 0, 0, 0, 0, 0, 0]);
}
