/**
 * Sends one navigation request over an upstream TLS channel that negotiated h2, exactly as the
 * proxy does for a tunnel (`TunnelDispatcher`): `UpstreamH2` with the profile's session plan and
 * HPACK policy, the `navigate` header template (`buildUpstreamHeaders`, no client fields, so only
 * what the profile itself sends), the pseudo-header order (`h2FieldList`) and the kind's priority.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { BodySink, Responder } from "../http/bridge/message.ts";
import { type H2Request, UpstreamH2 } from "../http/bridge/upstream-h2.ts";
import { h2FieldList } from "../http/headers/h2-fields.ts";
import { buildUpstreamHeaders } from "../http/headers/policy.ts";
import type { ProfileHttp } from "../profiles/http-types.ts";
import { channelEndpoint } from "../proxy/endpoint.ts";
import type { SecureChannel } from "../proxy/secure-channel.ts";
import { withTimeout } from "../proxy/timeout.ts";

/** How long the probe waits for the origin's response, in ms (loopback: a few ms in practice). */
export const NAVIGATE_TIMEOUT_MS = 5_000;

/** The navigation request the proxy would send for a plain page load of `https://<authority>/`. */
export function navigationRequest(http: ProfileHttp, authority: string, path = "/"): H2Request {
  const regular = buildUpstreamHeaders(http, "navigate", [], { protocol: "h2", authority });
  const fields = h2FieldList(
    http.http2,
    { ":method": "GET", ":authority": authority, ":scheme": "https", ":path": path },
    regular,
  );
  return { fields, hasBody: false, priority: http.http2.priority.navigate, head: false };
}

/**
 * Sends the navigation on `channel` (handshake done, ALPN h2) and resolves with the response
 * status once the response has ended; then says GOAWAY and ends the connection.
 */
export async function navigateH2(
  channel: SecureChannel,
  http: ProfileHttp,
  authority: string,
  timeoutMs = NAVIGATE_TIMEOUT_MS,
): Promise<number> {
  const up = new UpstreamH2(channelEndpoint(channel), http.http2);
  try {
    const status = new Promise<number>((resolve, reject) => {
      const responder: Responder = {
        interim() {},
        head(code): BodySink {
          return {
            write: () => true,
            end: () => resolve(code),
            abort: (err) => reject(err),
            onDrain: null,
          };
        },
        fail: (err) => reject(err),
      };
      up.request(navigationRequest(http, authority), responder, { attach() {} });
    });
    return await withTimeout(status, timeoutMs, () => {
      return new ProxyError("UPSTREAM_TIMEOUT", `no HTTP/2 response within ${timeoutMs} ms`);
    });
  } finally {
    up.close();
  }
}
