/**
 * Plain HTTP proxying, per request: turns a parsed HTTP/1.x head read on the proxy's own listener
 * into the request to forward and where it goes, or the local refusal to answer instead. Pure.
 *
 * - Only absolute-form `http://` targets are forwarded (RFC 9112 §3.2.2); the target's authority
 *   wins over Host (the two need not match). Without a port the target is port 80 (RFC 9110
 *   §4.2.2) and the Host sent upstream is written as a browser writes it: the port only when it is
 *   not 80.
 * - Refused (400, connection closed): origin-form or asterisk-form (a request to the proxy itself,
 *   not through it), `https://` (https goes through CONNECT), and conflicting repeats of
 *   Proxy-Authorization or the proxy's control headers. CONNECT after a plain request on the same
 *   connection is 405.
 * - The proxy's own fields are taken out of the forwarded ones: Proxy-Authorization,
 *   X-PolyTLS-Upstream-Profile, X-PolyTLS-Next-Hop; hop-by-hop fields (Connection and the fields it
 *   names, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade) never pass. Upgrade is not
 *   forwarded: clients tunnel `ws://` through CONNECT.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { bridgeRequest, forwardedFields, Refusal } from "../http/bridge/client-h1-request.ts";
import type { RequestHead } from "../http/bridge/message.ts";
import type { RequestHead as H1RequestHead } from "../http/h1/request-head.ts";
import { asciiLower } from "../http/h1/syntax.ts";
import { type Authority, formatAuthority, parseAuthority } from "./authority.ts";
import { NEXT_HOP_HEADER, PROFILE_HEADER } from "./connect-parser.ts";

/** RFC 9110 §4.2.1: the default port of the `http` scheme. */
export const HTTP_DEFAULT_PORT = 80;

/** Where one forwarded request goes and what the proxy read from it for itself. */
export interface ForwardRoute {
  /** The origin to connect to (port 80 when the URI names none). */
  target: Authority;
  /** The Host value sent upstream: `host[:port]`, the port only when not 80. */
  host: string;
  proxyAuthorization: string | null;
  /** X-PolyTLS-Upstream-Profile, or null when absent or empty. */
  profile: string | null;
  /** X-PolyTLS-Next-Hop, or null when absent or empty. */
  nextHop: string | null;
  /** The client's spelling of each field name, by lowercase name (first seen). */
  clientCase: ReadonlyMap<string, string>;
}

const OWN_FIELDS = new Set(["proxy-authorization", PROFILE_HEADER, NEXT_HOP_HEADER]);

function refuse(status: number, message: string): Refusal {
  return new Refusal(status, new ProxyError("HTTP_BAD_REQUEST", message));
}

/** The one value of a field that may appear once (repeats must agree), or null; undefined = conflict. */
function single(head: H1RequestHead, lowerName: string): string | null | undefined {
  let found: string | null = null;
  for (const [name, value] of head.rawHeaders) {
    if (asciiLower(name) !== lowerName) continue;
    if (found !== null && found !== value) return undefined;
    found = value;
  }
  return found;
}

/** `host[:port]` → the target (port 80 by default) and the Host value a browser writes for it. */
export function forwardTarget(authority: string): { target: Authority; host: string } {
  const bracketed = authority.startsWith("[");
  const hasPort = bracketed ? authority.includes("]:") : authority.includes(":");
  const target = parseAuthority(hasPort ? authority : `${authority}:${HTTP_DEFAULT_PORT}`);
  const name = target.kind === "ipv6" ? `[${target.host}]` : target.host;
  return { target, host: target.port === HTTP_DEFAULT_PORT ? name : `${name}:${target.port}` };
}

/** The request to forward and its route, or the Refusal to answer. */
export function routeForward(head: H1RequestHead): { request: RequestHead; route: ForwardRoute } | Refusal {
  if (head.method === "CONNECT") {
    return new Refusal(
      405,
      new ProxyError("HTTP_BAD_REQUEST", "CONNECT must be the first request on a connection to the proxy"),
    );
  }
  const t = head.target;
  if (t.form !== "absolute") {
    return refuse(400, "a request through this proxy needs an absolute-form http:// target");
  }
  if (t.scheme !== "http") {
    return refuse(400, "https:// URLs are not forwarded as plain requests: use CONNECT (https_proxy)");
  }
  const auth = single(head, "proxy-authorization");
  const profile = single(head, PROFILE_HEADER);
  const nextHop = single(head, NEXT_HOP_HEADER);
  if (auth === undefined || profile === undefined || nextHop === undefined) {
    return refuse(400, "conflicting repeats of Proxy-Authorization or an X-PolyTLS-* header");
  }
  let where: { target: Authority; host: string };
  try {
    where = forwardTarget(t.authority);
  } catch (err) {
    return new Refusal(400, ProxyError.wrap(err, "HTTP_BAD_REQUEST"));
  }
  const clientCase = new Map<string, string>();
  for (const [name] of head.rawHeaders) {
    const lower = asciiLower(name);
    if (!clientCase.has(lower)) clientCase.set(lower, name);
  }
  const request: RequestHead = {
    method: head.method,
    authority: where.host,
    path: t.path,
    fields: forwardedFields(head.rawHeaders, false).filter(([n]) => !OWN_FIELDS.has(n)),
    clientProtocol: "h1",
    bodyLength: head.body.kind === "none" ? null : head.body.kind === "length" ? head.body.length : -1,
  };
  return {
    request,
    route: {
      ...where,
      proxyAuthorization: auth,
      profile: profile === null || profile.trim() === "" ? null : profile.trim(),
      nextHop: nextHop === null || nextHop.trim() === "" ? null : nextHop.trim(),
      clientCase,
    },
  };
}

/** What a plaintext CONNECT tunnel fixes for every request in it (tunnel-plaintext.ts). */
export interface TunnelRouteContext {
  /** The CONNECT target: every request must name it (421 otherwise) and goes there. */
  target: Authority;
  /** The tunnel's profile (the CONNECT's choice, already resolved). */
  profile: string;
  /** The CONNECT's X-PolyTLS-Next-Hop (null: the configured next hop, if any). */
  nextHop: string | null;
}

/**
 * A request read in plaintext inside a CONNECT tunnel: checked against the CONNECT target as inside
 * TLS (bridgeRequest: CONNECT 405, Host or absolute-form authority naming another origin 421),
 * sent to that target with the tunnel's profile (or the one its X-PolyTLS-Upstream-Profile names)
 * and next hop. The proxy's own fields are dropped
 * (the CONNECT carried them); a WebSocket handshake keeps `Connection` / `Upgrade` for the header
 * policy. The Host sent upstream is the browser's for an `http://` URL (the port only when not 80).
 */
export function routeInTunnel(
  head: H1RequestHead,
  tunnel: TunnelRouteContext,
): { request: RequestHead; route: ForwardRoute } | Refusal {
  const t = head.target;
  if (t.form === "absolute" && t.scheme === "https") {
    // The client did not start TLS: an https:// URL would go out in plaintext under its name.
    return refuse(400, "an https:// URL in a tunnel the client did not start TLS in");
  }
  const bridged = bridgeRequest(head, tunnel.target);
  if (bridged instanceof Refusal) return bridged;
  // A request may name another profile than the CONNECT's, as inside TLS (profile-router.ts).
  const profile = single(head, PROFILE_HEADER);
  if (profile === undefined) return refuse(400, `conflicting repeats of ${PROFILE_HEADER}`);
  const where = forwardTarget(formatAuthority(tunnel.target));
  const request: RequestHead = {
    ...bridged,
    authority: where.host,
    fields: bridged.fields.filter(([n]) => !OWN_FIELDS.has(n)),
  };
  return {
    request,
    route: {
      ...where,
      proxyAuthorization: null,
      profile: profile === null || profile.trim() === "" ? tunnel.profile : profile.trim(),
      nextHop: tunnel.nextHop,
      clientCase: bridged.clientCase ?? new Map(),
    },
  };
}
