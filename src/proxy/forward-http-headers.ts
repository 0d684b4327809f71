/**
 * The upstream header list of a plain-HTTP (`http://`) request forwarded by the proxy. Pure.
 *
 * With a profile: the browser's HTTP/1.1 request for the request kind (`buildUpstreamHeaders`,
 * protocol "h1": Host first, the profile's order, case and identity fields), then what the same
 * browser changes for a URL without TLS:
 * - `Accept-Encoding` without `br` and `zstd`: Chromium and Gecko advertise both only over TLS
 *   (Firefox's `network.http.accept-encoding` vs `…accept-encoding.secure`), so an `http://`
 *   navigation says `gzip, deflate`.
 * - No `Sec-Fetch-*` (Fetch Metadata is sent only to potentially trustworthy URLs) and no
 *   `Sec-CH-*` (client hints only in secure contexts) unless the host is potentially trustworthy
 *   (W3C Secure Contexts §3.1: `localhost`, `*.localhost`, 127.0.0.0/8, ::1).
 * - `Upgrade-Insecure-Requests: 1` stays: browsers send it on every navigation, http:// included.
 * A field the client asked to keep (`proxy.http.keep_client_headers`, `X-PolyTLS-Keep-Headers`)
 * and sent is left as the client sent it; one it did not send is the profile's, and these rules
 * apply to it as to any other (keeping `*` adds no `Sec-*` field to a plain `http://` request).
 *
 * Without a profile (passthrough mode, or `proxy.mitm.http = "tls-relay"`): Host first, the
 * client's fields in its order and spelling (hop-by-hop fields and the proxy's own dropped), then
 * `Connection: keep-alive`.
 */
import { mergeKeep, sortClientFields } from "../http/headers/client-fields.ts";
import { HOP_BY_HOP, isControlHeader } from "../http/headers/names.ts";
import { buildUpstreamHeaders } from "../http/headers/policy.ts";
import type { HeaderField } from "../http/hpack/types.ts";
import type { ProfileHttp, RequestKind } from "../profiles/http-types.ts";
import type { Authority } from "./authority.ts";

export interface ForwardHeaderInput {
  /** The profile's HTTP layer; null = forward the client's fields as they are. */
  http: ProfileHttp | null;
  kind: RequestKind;
  method: string;
  /** The client's fields: lowercase names, wire order (forward-http-route.ts). */
  fields: readonly HeaderField[];
  /** The Host value (port only when not 80). */
  host: string;
  target: Authority;
  keepClient: ReadonlySet<string> | "all";
  clientCase: ReadonlyMap<string, string>;
}

/** Content codings a browser advertises only over TLS. */
const TLS_ONLY_CODINGS = new Set(["br", "zstd"]);
const TLS_ONLY_PREFIXES = ["sec-fetch-", "sec-ch-"];

/** W3C Secure Contexts §3.1 "potentially trustworthy" hosts reachable over plain http. */
export function trustworthyHost(target: Authority): boolean {
  if (target.kind === "ipv4") return target.host.startsWith("127.");
  if (target.kind === "ipv6") return target.host === "::1";
  const h = target.host.toLowerCase().replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost");
}

/** `gzip, deflate, br, zstd` → `gzip, deflate` (parameters such as `;q=` kept on what stays). */
export function withoutTlsCodings(value: string): string {
  return value
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "" && !TLS_ONLY_CODINGS.has((t.split(";")[0] ?? "").trim().toLowerCase()))
    .join(", ");
}

function transparent(input: ForwardHeaderInput): [string, string][] {
  const out: [string, string][] = [["Host", input.host]];
  for (const [name, value] of input.fields) {
    if (HOP_BY_HOP.has(name) || isControlHeader(name)) continue;
    out.push([input.clientCase.get(name) ?? name, value]);
  }
  out.push(["Connection", "keep-alive"]);
  return out;
}

/** Whether the client sent a field named `lower` (its names are lowercase). */
function sent(fields: readonly HeaderField[], lower: string): boolean {
  for (let i = 0; i < fields.length; i++) if ((fields[i] as HeaderField)[0] === lower) return true;
  return false;
}

export function forwardHeaders(input: ForwardHeaderInput): [string, string][] {
  if (input.http === null) return transparent(input);
  const built = buildUpstreamHeaders(
    input.http,
    input.kind,
    input.fields,
    {
      protocol: "h1",
      authority: input.host,
      keepClient: input.keepClient,
      clientCase: input.clientCase,
      scheme: "http",
    },
    input.method,
  );
  const keep = mergeKeep(input.keepClient, sortClientFields(input.fields).keep);
  const kept = (lower: string) => (keep === "all" || keep.has(lower)) && sent(input.fields, lower);
  const secure = trustworthyHost(input.target);
  const out: [string, string][] = [];
  for (const [name, value] of built) {
    const lower = name.toLowerCase();
    if (kept(lower)) out.push([name, value]);
    else if (lower === "accept-encoding") {
      const plain = withoutTlsCodings(value);
      if (plain !== "") out.push([name, plain]);
    } else if (secure || !TLS_ONLY_PREFIXES.some((p) => lower.startsWith(p))) out.push([name, value]);
  }
  return out;
}
