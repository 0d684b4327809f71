/**
 * ALPN coherence between the two TLS sessions of a MITM tunnel (seed step 10). Pure functions.
 *
 * - The client-facing acceptor offers the profile's ALPN list.
 * - Client chose h2: upstream gets the profile's list unchanged (the fingerprint stays the
 *   browser's, ALPS included) and must answer h2.
 * - Client chose another protocol (http/1.1) or none: upstream is offered only that protocol
 *   (http/1.1 when none) and must answer it, or nothing at all for http/1.1 (a server without
 *   ALPN speaks HTTP/1.1).
 * Anything else aborts the tunnel: h2 bytes must never reach an HTTP/1.1 peer or vice versa.
 */
import { ProxyError } from "../errors/proxy-error.ts";

export interface UpstreamAlpnPlan {
  /** The ALPN list to offer upstream; null = the profile's own list. */
  offer: string[] | null;
  /** Whether ALPS may be sent (only with the profile's own list). */
  alps: boolean;
  /** What the upstream must answer. */
  expect: string;
}

export function planUpstreamAlpn(clientAlpn: string | null): UpstreamAlpnPlan {
  if (clientAlpn === "h2") return { offer: null, alps: true, expect: "h2" };
  const proto = clientAlpn ?? "http/1.1";
  return { offer: [proto], alps: false, expect: proto };
}

/** Throws ALPN_MISMATCH unless the upstream's answer fits the plan. */
export function checkUpstreamAlpn(plan: UpstreamAlpnPlan, upstreamAlpn: string | null): void {
  if (upstreamAlpn === plan.expect) return;
  if (upstreamAlpn === null && plan.expect === "http/1.1") return;
  throw new ProxyError(
    "ALPN_MISMATCH",
    `client negotiated ${plan.expect} but upstream answered ${upstreamAlpn ?? "no ALPN"}`,
  );
}
