/**
 * The upstream response-head deadline (`proxy.upstream.response_timeout_ms`): a request fully sent
 * upstream must get its final response head within `ms`, checked every `ms / 2` (so it fires
 * between `ms` and 1.5 × `ms`); the connection then fails that exchange (UPSTREAM_TIMEOUT, 504).
 * A connection is ticked only while it has a request waiting for a head, and the requests carry
 * the time they finished sending: no timer per request. The ticks are the idle watches' shared
 * interval of the same `ms` (proxy/timeout.ts).
 */
import { groupOf, type WatchGroup } from "../../proxy/timeout.ts";

export type HeadTicker = WatchGroup;

/** The shared ticker for `ms`; null when there is no deadline (`ms` absent or 0). */
export function headTicker(ms: number | undefined): HeadTicker | null {
  return ms === undefined || ms <= 0 ? null : groupOf(ms);
}

/** The error of an exchange whose response head did not come in time. */
export function headTimeoutMessage(ms: number): string {
  return `upstream sent no response head within ${ms} ms of the request`;
}
