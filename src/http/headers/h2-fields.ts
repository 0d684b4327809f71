/**
 * The full h2 field list of a request: pseudo-headers in the profile's order, then the regular
 * fields (from `buildUpstreamHeaders`). `:protocol` (RFC 8441 extended CONNECT) goes last among
 * the pseudo-headers when the profile's order does not list it (both Chromium and Firefox put it
 * last, local captures); a pseudo-header without a value (plain CONNECT has no :scheme and
 * :path, RFC 9113 §8.5) is left out.
 */
import type { Http2Profile, PseudoHeader } from "../../profiles/http-types.ts";

export type PseudoValues = { readonly [P in PseudoHeader]?: string };

/** Each profile's pseudo-header order with `:protocol` appended when missing, made once per order array. */
const orders = new WeakMap<readonly PseudoHeader[], readonly PseudoHeader[]>();

function withProtocol(order: PseudoHeader[]): readonly PseudoHeader[] {
  let full = orders.get(order);
  if (full === undefined) {
    full = order.includes(":protocol") ? order : [...order, ":protocol"];
    orders.set(order, full);
  }
  return full;
}

/** The full list; its regular entries are the tuples of `regular` themselves (not copied). */
export function h2FieldList(
  http2: Pick<Http2Profile, "pseudoHeaderOrder">,
  pseudo: PseudoValues,
  regular: readonly (readonly [string, string])[],
): [string, string][] {
  const order = withProtocol(http2.pseudoHeaderOrder);
  const out: [string, string][] = [];
  for (let i = 0; i < order.length; i++) {
    const name = order[i] as PseudoHeader;
    const value = pseudo[name];
    if (value !== undefined) out.push([name, value]);
  }
  for (let i = 0; i < regular.length; i++) out.push(regular[i] as [string, string]);
  return out;
}
