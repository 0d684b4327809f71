/**
 * Opens one upstream TLS connection of an HTTP-mode tunnel: always the browser's ClientHello
 * (the profile's full ALPN list with ALPS), whatever the client speaks; the origin's ALPN answer
 * decides whether the tunnel speaks HTTP/2 or HTTP/1.1 upstream. Used for the first connection
 * (on the socket the tunnel already dialled) and for the extra HTTP/1.1 connections a browser
 * opens to one host. A WebSocket's own connection sends the profile's WebSocket hello instead
 * (`[websocket]`: its own connector, see ConnectorPool.websocket).
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { WebSocketWhen } from "../../profiles/websocket.ts";
import type { ByteSocket as Socket } from "../../proxy/byte-socket.ts";
import { SecureChannel } from "../../proxy/secure-channel.ts";
import { withTimeout } from "../../proxy/timeout.ts";
import type { HandshakeInfo, TlsConnection, TlsConnector, VerifyPolicy } from "../../upstream/engine.ts";

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
  /**
   * The connector of the profile's WebSocket hello (`[websocket]`, built on first use) and when it
   * applies; absent: the profile's connector offering WEBSOCKET_FALLBACK_ALPN and no ALPS.
   */
  websocket?(): { connector: TlsConnector; when: WebSocketWhen };
}

/** What a WebSocket's own connection offers when the deps carry no WebSocket connector. */
export const WEBSOCKET_FALLBACK_ALPN = ["http/1.1"];

/** Per-connection departures from the profile's offer (a WebSocket's own connection). */
export interface OpenOptions {
  /** ALPN offered instead of the profile's list. */
  alpn?: string[];
  /** Whether to send ALPS (default true: the profile's). */
  alps?: boolean;
  /**
   * A WebSocket's own connection: the profile's WebSocket hello; `origin` is the protocol the
   * origin chose last (a profile whose hello applies to h2 origins only uses its normal one).
   */
  websocket?: { origin: UpstreamProtocol };
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

/** The connector and per-connection ALPN / ALPS of one connection. */
function connectionPlan(
  deps: UpstreamOpenDeps,
  opts: OpenOptions,
): { connector: TlsConnector; alpn: string[] | undefined; alps: boolean } {
  const plain = { connector: deps.connector, alpn: opts.alpn, alps: opts.alps ?? true };
  if (opts.websocket === undefined) return plain;
  if (deps.websocket === undefined)
    return { connector: deps.connector, alpn: WEBSOCKET_FALLBACK_ALPN, alps: false };
  const ws = deps.websocket();
  if (ws.when === "h2-origin" && opts.websocket.origin !== "h2") return plain;
  // The WebSocket spec carries its own ALPN list and ALPS (or none).
  return { connector: ws.connector, alpn: undefined, alps: true };
}

/**
 * The channel's session callback, made outside openUpstream: a closure made inside would keep
 * that call's whole scope for as long as the connection lives.
 */
function sessionSink(slot: UpstreamOpenDeps["session"]): (s: Uint8Array) => void {
  return (s) => slot.set(s);
}

export async function openUpstream(
  deps: UpstreamOpenDeps,
  socket?: Socket,
  opts: OpenOptions = {},
): Promise<OpenedUpstream> {
  const tcp = socket ?? (await deps.dial());
  const offered = deps.session.get();
  let conn: TlsConnection;
  try {
    const { connector, alpn, alps } = connectionPlan(deps, opts);
    conn = connector.connect({
      host: deps.host,
      alps,
      verify: deps.verify,
      session: offered,
      ...(alpn ? { alpn } : {}),
    });
  } catch (err) {
    tcp.destroy(); // a refused spec or session: the dialled socket is not kept
    throw err;
  }
  const channel = new SecureChannel(tcp, conn, "upstream");
  channel.onSession = sessionSink(deps.session);
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
