/**
 * A profile's engine spec -> the spec of its WebSocket connection (`[websocket]`, websocket.ts):
 * the same ClientHello with the table's ALPN, ALPS, session_ticket and compress_certificate, and
 * an explicit extension order without the extensions it no longer sends. Pure.
 */
import type { ProfileSpec } from "../upstream/engine.ts";
import { EXT } from "./registry.ts";
import type { WebSocketSettings } from "./websocket.ts";

export function toWebSocketSpec(spec: ProfileSpec, ws: WebSocketSettings): ProfileSpec {
  const alpn = spec.alpn.length === 0 ? [] : [...ws.alpn];
  const alps = ws.alps && spec.alps !== null ? { ...spec.alps, protocols: [...spec.alps.protocols] } : null;
  const sessionTickets = ws.sessionTickets ?? spec.sessionTickets;
  const certCompression = [...(ws.certCompression ?? spec.certCompression)];
  const dropped = new Set<number>();
  if (alpn.length === 0) dropped.add(EXT.alpn);
  if (alps === null) {
    dropped.add(EXT.alpsNew);
    dropped.add(EXT.alpsOld);
  }
  if (!sessionTickets) dropped.add(EXT.sessionTicket);
  if (certCompression.length === 0) dropped.add(EXT.compressCertificate);
  return {
    ...structuredClone(spec),
    name: `${spec.name} (websocket)`,
    alpn,
    alps,
    sessionTickets,
    certCompression,
    extensionOrder: spec.extensionOrder?.filter((id) => !dropped.has(id)) ?? null,
  };
}

/**
 * A spec whose trust_anchors order is "shuffled-per-process" with that one order drawn now
 * (Fisher-Yates with `below(n)` in 0..n-1) and written as-listed, so that the profile's normal and
 * WebSocket contexts send the same order, as one browser process does. Other specs are returned as
 * they are.
 */
export function pinTrustAnchorOrder(spec: ProfileSpec, below: (n: number) => number): ProfileSpec {
  const anchors = spec.trustAnchors;
  if (anchors == null || anchors.order !== "shuffled-per-process") return spec;
  const ids = anchors.ids.map((id) => [...id]);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = below(i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return { ...spec, trustAnchors: { ids, order: "as-listed" } };
}
