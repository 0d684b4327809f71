/**
 * A next hop (upstream proxy) written as a URL: `http://[user[:password]@]host:port` (HTTP
 * CONNECT), `socks5://…` (SOCKS5, the proxy resolves the target) or `socks5h://…` (SOCKS5, the
 * hop resolves it). The port is required; a trailing `/` is allowed, nothing else after the port.
 * User name and password are percent-decoded (RFC 3986 §3.2.1), so `@`, `:` and `%` in them are
 * written `%40`, `%3A`, `%25`. Pure. A refusal never quotes the text (it may hold a password),
 * and the parsed value shows itself without its credentials (`name`, `toJSON`, inspection).
 */
import { type Authority, formatAuthority, parseAuthority } from "./authority.ts";

export type NextHopScheme = "http" | "socks5" | "socks5h";

const SCHEMES: readonly NextHopScheme[] = ["http", "socks5", "socks5h"];

export const NEXT_HOP_FORM = '"http://", "socks5://" or "socks5h://" [user[:password]@]host:port';

export class NextHop {
  readonly scheme: NextHopScheme;
  readonly address: Authority;
  /** `scheme://host:port`: how messages and logs name the hop (never with credentials). */
  readonly name: string;
  readonly #credentials: { username: string; password: string } | null;

  constructor(
    scheme: NextHopScheme,
    address: Authority,
    credentials: { username: string; password: string } | null,
  ) {
    this.scheme = scheme;
    this.address = address;
    this.name = `${scheme}://${formatAuthority(address)}`;
    this.#credentials = credentials;
  }

  get credentials(): { username: string; password: string } | null {
    return this.#credentials;
  }

  toJSON(): string {
    return this.name;
  }

  toString(): string {
    return this.name;
  }
}

/** The hop, or a reason it was refused (never quoting the input). */
export function parseNextHop(text: string): NextHop | string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)\/?$/.exec(text.trim());
  if (!m?.[1] || m[2] === undefined) return `expected ${NEXT_HOP_FORM}`;
  const scheme = m[1].toLowerCase();
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    const shown = /^[a-z0-9+.-]{1,16}$/.test(scheme) ? `"${scheme}"` : "this scheme";
    return `${shown} is not supported; expected ${NEXT_HOP_FORM}`;
  }
  const rest = m[2];
  const at = rest.lastIndexOf("@");
  const hostPort = at < 0 ? rest : rest.slice(at + 1);
  let credentials: { username: string; password: string } | null = null;
  if (at >= 0) {
    const info = rest.slice(0, at);
    const colon = info.indexOf(":");
    try {
      const username = decodeURIComponent(colon < 0 ? info : info.slice(0, colon));
      const password = colon < 0 ? "" : decodeURIComponent(info.slice(colon + 1));
      if (username === "") return "the user name is empty (leave out the @ for no credentials)";
      credentials = { username, password };
    } catch {
      return "the user name or password has a bad percent-encoding";
    }
    const limit = 255; // bytes; RFC 1929 length fields
    if (
      scheme !== "http" &&
      (Buffer.byteLength(credentials.username) > limit || Buffer.byteLength(credentials.password) > limit)
    ) {
      return "SOCKS5 user name and password are limited to 255 bytes each";
    }
  }
  if (!/:\d+$/.test(hostPort)) return "the port is required (host:port)";
  try {
    return new NextHop(scheme as NextHopScheme, parseAuthority(hostPort), credentials);
  } catch {
    return "the host:port part is not a valid host name or IP address and port";
  }
}
