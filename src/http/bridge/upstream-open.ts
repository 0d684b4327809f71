/**
 * Opens one upstream TLS connection of an HTTP-mode tunnel: always the browser's ClientHello
 * (the profile's full ALPN list with ALPS), whatever the client speaks; the origin's ALPN answer
 * decides whether the tunnel speaks HTTP/2 or HTTP/1.1 upstream. Used for the first connection
 * (on the socket the tunnel already dialled) and for the extra HTTP/1.1 connections a browser
 * opens to one host.
 */
import type { Socket } from "node:net";
import { ProxyError } from "../../errors/proxy-error.ts";
import { SecureChannel } from "../../proxy/secure-channel.ts";
import { withTimeout } from "../../proxy/timeout.ts";
import type { HandshakeInfo, TlsConnector, VerifyPolicy } from "../../upstream/engine.ts";

export type UpstreamProtocol = "h2" | "http/1.1";

export interface UpstreamOpenDeps {
  /** TCP to the CONNECT target, through the same guards as the tunnel's first dial. */
  dial(): Promise<Socket>;
  connector: TlsConnector;
  host: string;
  verify: VerifyPolicy;
  /** The session cache slot of this profile and origin. */
  session: { get(): Uint8Array | null; set(s: Uint8Array): void; drop(offered: Uint8Array): void };
  handshakeTimeoutMs: number;
}

export interface OpenedUpstream {
  channel: SecureChannel;
  info: HandshakeInfo;
  protocol: UpstreamProtocol;
}

/** Maps the origin's ALPN answer to the protocol spoken; anything else is ALPN_MISMATCH. */
export function upstreamProtocol(alpn: string | null): UpstreamProtocol {
  if (alpn === "h2") return "h2";
  if (alpn === null || alpn === "http/1.1") return "http/1.1";
  throw new ProxyError("ALPN_MISMATCH", `upstream chose ALPN "${alpn}", which is not HTTP`);
}

export async function openUpstream(deps: UpstreamOpenDeps, socket?: Socket): Promise<OpenedUpstream> {
  const tcp = socket ?? (await deps.dial());
  const offered = deps.session.get();
  const conn = deps.connector.connect({ host: deps.host, alps: true, verify: deps.verify, session: offered });
  const channel = new SecureChannel(tcp, conn, "upstream");
  channel.onSession = (s) => deps.session.set(s);
  tcp.resume();
  try {
    const info = await withTimeout(channel.handshake(), deps.handshakeTimeoutMs, () => {
      return new ProxyError(
        "TLS_HANDSHAKE",
        `upstream TLS handshake timed out after ${deps.handshakeTimeoutMs} ms`,
      );
    });
    // A session the server did not take is not offered again (a newer ticket is kept).
    if (offered !== null && !info.resumed) deps.session.drop(offered);
    return { channel, info, protocol: upstreamProtocol(info.alpn) };
  } catch (err) {
    if (offered !== null) deps.session.drop(offered);
    channel.destroy();
    throw err;
  }
}
