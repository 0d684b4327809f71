/**
 * The full h2 field list of a request: pseudo-headers in the profile's order, then the regular
 * fields (from `buildUpstreamHeaders`). `:protocol` (RFC 8441 extended CONNECT) goes last among
 * the pseudo-headers when the profile's order does not list it (both Chromium and Firefox put it
 * last, local captures); a pseudo-header without a value (plain CONNECT has no :scheme and
 * :path, RFC 9113 §8.5) is left out.
 */
import type { Http2Profile, PseudoHeader } from "../../profiles/http-types.ts";

export type PseudoValues = { readonly [P in PseudoHeader]?: string };

export function h2FieldList(
  http2: Pick<Http2Profile, "pseudoHeaderOrder">,
  pseudo: PseudoValues,
  regular: readonly (readonly [string, string])[],
): [string, string][] {
  const order: PseudoHeader[] = http2.pseudoHeaderOrder.includes(":protocol")
    ? http2.pseudoHeaderOrder
    : [...http2.pseudoHeaderOrder, ":protocol"];
  const out: [string, string][] = [];
  for (const name of order) {
    const value = pseudo[name];
    if (value !== undefined) out.push([name, value]);
  }
  for (const [n, v] of regular) out.push([n, v]);
  return out;
}
