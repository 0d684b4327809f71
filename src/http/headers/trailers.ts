/**
 * The request trailer fields that go upstream, whichever protocol the origin speaks: names in
 * lowercase, and none of the fields a trailer section must not carry or that are the proxy's: no
 * pseudo-header, no connection-specific or hop-by-hop field (RFC 9110 §7.6.1; RFC 9113 §8.2.2 makes
 * them malformed on HTTP/2), none of the fields RFC 9110 §6.5.1 says must come before the content
 * (framing, routing, request modifiers, authentication, content format), no proxy credentials and
 * no `x-polytls-*` control field. Pure.
 */
import { asciiLower } from "../h1/syntax.ts";
import type { HeaderField } from "../hpack/types.ts";
import { HOP_BY_HOP, isControlHeader } from "./names.ts";

/**
 * Fields RFC 9110 §6.5.1 names as needed before the content (framing, request modifiers,
 * authentication, content format), which a trailer section must not carry; hop-by-hop ones and
 * `host` are HOP_BY_HOP's.
 */
const NOT_IN_TRAILERS = new Set([
  "content-length",
  "trailer",
  "authorization",
  "cookie",
  "content-type",
  "content-encoding",
  "content-range",
  "cache-control",
  "max-forwards",
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "if-range",
]);

export function forwardableTrailers(fields: readonly HeaderField[] | null): HeaderField[] {
  const out: HeaderField[] = [];
  if (fields === null) return out;
  for (let i = 0; i < fields.length; i++) {
    const [raw, value] = fields[i] as HeaderField;
    const name = asciiLower(raw);
    if (name.startsWith(":") || HOP_BY_HOP.has(name) || NOT_IN_TRAILERS.has(name) || isControlHeader(name))
      continue;
    out.push([name, value]);
  }
  return out;
}
