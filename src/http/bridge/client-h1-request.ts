/**
 * Turns a parsed HTTP/1.x request head into the bridge's RequestHead, refusing what must not go
 * upstream: CONNECT inside the tunnel (405), and a Host or absolute-form authority naming anything
 * but the CONNECT target (421; an `http://` URI without port names port 80). An HTTP/1.0 request
 * without Host is taken as naming the target. Pure.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import { type Authority, formatAuthority } from "../../proxy/authority.ts";
import { detachedString } from "../detached.ts";
import type { RawField } from "../h1/fields.ts";
import type { RequestHead as H1RequestHead } from "../h1/request-head.ts";
import { asciiLower } from "../h1/syntax.ts";
import { tokenList } from "../headers/names.ts";
import type { HeaderField } from "../hpack/types.ts";
import { checkAuthority, isHopByHop } from "./fields.ts";
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
 * request (the header policy needs them to ask the origin for the switch) and TE (a `trailers` in
 * it asks an HTTP/2 origin for `te: trailers`; the policy never forwards the field itself).
 */
export function forwardedFields(
  raw: readonly RawField[],
  upgrade: boolean,
  lowerNames?: readonly string[],
): HeaderField[] {
  const lower = lowerNames ?? raw.map((f) => asciiLower(f[0]));
  let named: Set<string> | null = null;
  for (let i = 0; i < lower.length; i++) {
    if (lower[i] !== "connection") continue;
    named ??= new Set<string>();
    for (const token of tokenList((raw[i] as RawField)[1])) named.add(token);
  }
  const out: HeaderField[] = [];
  for (let i = 0; i < lower.length; i++) {
    const n = lower[i] as string;
    if (n === "host" || n === "expect") continue;
    if (!isHopByHop(n, named) || n === "te" || (upgrade && (n === "connection" || n === "upgrade")))
      out.push([n, (raw[i] as RawField)[1]]);
  }
  return out;
}

export function lowerFields(raw: readonly RawField[] | null): HeaderField[] | null {
  return raw && raw.length > 0 ? raw.map(([n, v]) => [asciiLower(n), v]) : null;
}

/**
 * The last Host value a connection's requests named that passed `checkAuthority` against its
 * (fixed) target: the check is a pure function of the two, so the same string passes again.
 */
export interface AuthorityMemo {
  checkedHost: string | null;
}

function authorityOf(head: H1RequestHead, target: Authority, memo: AuthorityMemo | undefined): string {
  const t = head.target;
  const at = head.lowerNames.indexOf("host");
  const host = at < 0 ? null : (head.rawHeaders[at] as RawField)[1];
  if (host !== null && (memo === undefined || host !== memo.checkedHost)) {
    checkAuthority(host, target);
    if (memo !== undefined) memo.checkedHost = detachedString(host); // kept while the connection idles
  }
  if (t.form === "absolute") {
    const explicitPort = /:[0-9]+$/.test(t.authority);
    checkAuthority(t.scheme === "http" && !explicitPort ? `${t.authority}:80` : t.authority, target);
    return t.authority;
  }
  return host ?? formatAuthority(target);
}

/** The RequestHead for `head`, or the Refusal to answer instead; `memo` is the connection's (always the same target). */
export function bridgeRequest(
  head: H1RequestHead,
  target: Authority,
  memo?: AuthorityMemo,
): RequestHead | Refusal {
  if (head.method === "CONNECT") {
    return new Refusal(405, new ProxyError("HTTP_BAD_REQUEST", "CONNECT inside a tunnel is not supported"));
  }
  let authority: string;
  try {
    authority = authorityOf(head, target, memo);
  } catch (err) {
    return new Refusal(421, ProxyError.wrap(err, "HTTP_BAD_REQUEST"));
  }
  const t = head.target;
  return {
    method: head.method,
    authority,
    path: t.form === "origin" || t.form === "absolute" ? t.path : "*",
    fields: forwardedFields(head.rawHeaders, head.upgrade !== null, head.lowerNames),
    clientProtocol: "h1",
    bodyLength: head.body.kind === "none" ? null : head.body.kind === "length" ? head.body.length : -1,
    clientCase: clientCase(head.rawHeaders, head.lowerNames),
  };
}

/** The client's spelling of each field name, by lowercase name (the first spelling wins). */
export function clientCase(raw: readonly RawField[], lowerNames?: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < raw.length; i++) {
    const n = (raw[i] as RawField)[0];
    const lower = lowerNames === undefined ? asciiLower(n) : (lowerNames[i] as string);
    if (!map.has(lower)) map.set(lower, n);
  }
  return map;
}

/**
 * bridgeRequest for a request read inside the client's TLS: an `http://` absolute-form URL there is
 * refused (400), as an `https://` one sent without TLS is (forward-http-route.ts): sent on as
 * `https`, it would reach the origin under another scheme than the client named.
 */
export function bridgeTlsRequest(
  head: H1RequestHead,
  target: Authority,
  memo?: AuthorityMemo,
): RequestHead | Refusal {
  const t = head.target;
  if (t.form === "absolute" && t.scheme === "http") {
    return new Refusal(400, new ProxyError("HTTP_BAD_REQUEST", "an http:// URL inside a TLS tunnel"));
  }
  return bridgeRequest(head, target, memo);
}
