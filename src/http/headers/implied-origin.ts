/**
 * The `Origin` a browser sends where the client sent none (Fetch §3.1, "append a request Origin
 * header"): on every WebSocket handshake, on every request whose method is neither GET nor HEAD,
 * and on a CORS request (fetch, XHR) to another origin than its initiator's. A request that carries
 * `Sec-Fetch-Site` (same-origin unless the client's Referer says otherwise) but no Origin where a
 * browser always has one is a combination no browser produces (the captures: every POST and every
 * WebSocket handshake of local-debian-http/{chromium,firefox}-* carries Origin). Pure.
 *
 * The value is the initiator's origin: the client's Referer's, else the target's own (what the
 * policy's same-origin default for Sec-Fetch-Site claims).
 */
import type { RequestKind } from "../../profiles/http-types.ts";

/** `scheme://host[:port]` of a URL, the default port left out (RFC 6454 §6.1), or undefined. */
export function serializedOrigin(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Origin to add to a request of `kind` and `method` to `scheme://authority` whose client sent
 * none (`referer`: its Referer, if any), or undefined when a browser would send none.
 */
export function impliedOrigin(
  kind: RequestKind,
  method: string,
  referer: string | undefined,
  target: { scheme: "https" | "http"; authority: string },
): string | undefined {
  const unsafe = method !== "GET" && method !== "HEAD";
  const cors = kind === "fetch" || kind === "xhr";
  if (kind !== "websocket" && !unsafe && !cors) return undefined;
  // A CORS GET carries Origin only across origins; with no initiator it is taken as same-origin
  // (and the target's own origin is not even worked out: most fetch GETs end here).
  const corsGet = kind !== "websocket" && !unsafe;
  const from = referer === undefined ? undefined : serializedOrigin(referer);
  if (corsGet && from === undefined) return undefined;
  const own = serializedOrigin(`${target.scheme}://${target.authority}`);
  if (corsGet && from === own) return undefined;
  return from ?? own;
}
