/**
 * One request's state on an upstream HTTP/2 connection (upstream-h2.ts), from its HEADERS to the
 * end of both directions, and why a stream reset fails it.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { H2Event } from "../h2/session-types.ts";
import type { HeaderField } from "../hpack/types.ts";
import type { BodySink, Responder } from "./message.ts";
import type { RequestBody } from "./upstream-h2-upload.ts";

/** A stream turned byte relay (an extended CONNECT's 2xx): each direction ends on its own. */
export interface RelayState {
  localEnded: boolean;
  remoteEnded: boolean;
}

export interface Exchange {
  weight: number;
  responder: Responder;
  head: boolean;
  response: BodySink | null;
  trailers: HeaderField[] | null;
  /** Bytes delivered to the client side but not yet returned to the windows. */
  unacked: number;
  /** The request body's sink (with a body, or an extended CONNECT's upstream direction). */
  request: RequestBody | null;
  /** An extended CONNECT (H2Request.tunnel); `relay` once its 2xx came. */
  tunnel: boolean;
  relay: RelayState | null;
  /** Sent whole and waiting for its final head since (performance.now()); -1: not waiting. */
  waitingSince: number;
}

export function newExchange(weight: number, responder: Responder, head: boolean, tunnel: boolean): Exchange {
  return {
    weight,
    responder,
    head,
    response: null,
    trailers: null,
    unacked: 0,
    request: null,
    tunnel,
    relay: null,
    waitingSince: -1,
  };
}

/** Why a stream reset fails its exchange (a WebSocket's, `relay`, cut as an HTTP/1.1 relay would be). */
export function resetError(ev: Extract<H2Event, { type: "reset" }>, relay: boolean): ProxyError {
  if (ev.retryable)
    return new ProxyError("UPSTREAM_UNREACHABLE", "upstream did not process the request (refused or GOAWAY)");
  if (!ev.remote)
    return new ProxyError(
      "HTTP_PROTOCOL",
      `upstream response refused: ${ev.reason ?? `HTTP/2 error ${ev.code}`}`,
    );
  return relay
    ? new ProxyError("UPSTREAM_TRUNCATED", `upstream reset the WebSocket stream (HTTP/2 error ${ev.code})`)
    : new ProxyError("HTTP_PROTOCOL", `upstream reset the stream (HTTP/2 error ${ev.code})`);
}
