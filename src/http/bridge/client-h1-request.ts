/**
 * Turns a parsed HTTP/1.x request head into the bridge's RequestHead, refusing what must not go
 * upstream: CONNECT inside the tunnel (405), and a Host or absolute-form authority naming anything
 * but the CONNECT target (421; an `http://` URI without port names port 80). An HTTP/1.0 request
 * without Host is taken as naming the target. Pure.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import { type Authority, formatAuthority } from "../../proxy/authority.ts";
import type { RawField } from "../h1/fields.ts";
import type { RequestHead as H1RequestHead } from "../h1/request-head.ts";
import { asciiLower } from "../h1/syntax.ts";
import type { HeaderField } from "../hpack/types.ts";
import { checkAuthority, connectionTokens, isHopByHop } from "./fields.ts";
import type { RequestHead } from "./message.ts";

/** A request answered locally with `status`, never dispatched. */
export class Refusal {
  readonly status: number;
  readonly error: ProxyError;

  constructor(status: number, error: ProxyError) {
    this.status = status;
    this.error = error;
  }
}

/**
 * The client's fields as the dispatcher gets them: lowercase names, wire order, without Host
 * (carried by `authority`), Expect (answered here), Transfer-Encoding (the framing is
 * `bodyLength`) and connection-specific fields, except Connection and Upgrade on an upgrade
 * request (the header policy needs them to ask the origin for the switch).
 */
export function forwardedFields(raw: readonly RawField[], upgrade: boolean): HeaderField[] {
  const lower: HeaderField[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const f = raw[i] as RawField;
    lower[i] = [asciiLower(f[0]), f[1]];
  }
  const named = connectionTokens(lower);
  const out: HeaderField[] = [];
  for (let i = 0; i < lower.length; i++) {
    const f = lower[i] as HeaderField;
    const n = f[0];
    if (n === "host" || n === "expect") continue;
    if (!isHopByHop(n, named) || (upgrade && (n === "connection" || n === "upgrade"))) out.push(f);
  }
  return out;
}

export function lowerFields(raw: readonly RawField[] | null): HeaderField[] | null {
  return raw && raw.length > 0 ? raw.map(([n, v]) => [asciiLower(n), v]) : null;
}

function authorityOf(head: H1RequestHead, target: Authority): string {
  const t = head.target;
  const host = head.rawHeaders.find(([n]) => asciiLower(n) === "host")?.[1] ?? null;
  if (host !== null) checkAuthority(host, target);
  if (t.form === "absolute") {
    const explicitPort = /:[0-9]+$/.test(t.authority);
    checkAuthority(t.scheme === "http" && !explicitPort ? `${t.authority}:80` : t.authority, target);
    return t.authority;
  }
  return host ?? formatAuthority(target);
}

/** The RequestHead for `head`, or the Refusal to answer instead. */
export function bridgeRequest(head: H1RequestHead, target: Authority): RequestHead | Refusal {
  if (head.method === "CONNECT") {
    return new Refusal(405, new ProxyError("HTTP_BAD_REQUEST", "CONNECT inside a tunnel is not supported"));
  }
  let authority: string;
  try {
    authority = authorityOf(head, target);
  } catch (err) {
    return new Refusal(421, ProxyError.wrap(err, "HTTP_BAD_REQUEST"));
  }
  const t = head.target;
  return {
    method: head.method,
    authority,
    path: t.form === "origin" || t.form === "absolute" ? t.path : "*",
    fields: forwardedFields(head.rawHeaders, head.upgrade !== null),
    clientProtocol: "h1",
    bodyLength: head.body.kind === "none" ? null : head.body.kind === "length" ? head.body.length : -1,
    clientCase: clientCase(head.rawHeaders),
  };
}

/** The client's spelling of each field name, by lowercase name (the first spelling wins). */
export function clientCase(raw: readonly RawField[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const [n] of raw) {
    const lower = asciiLower(n);
    if (!map.has(lower)) map.set(lower, n);
  }
  return map;
}
