/**
 * A MITM tunnel whose client does not start TLS after `200`. Clients tunnel plaintext through
 * CONNECT (`ws://` and `http://` URLs behind a proxy in most WebSocket libraries, `curl -p`) and
 * through SOCKS5 (every `http://` URL). The client-facing TLS channel hands such a client back at
 * its first bytes (SecureChannel.detectPlaintext, acceptor.ts); its first line then tells
 * (tunnel-start.ts):
 *
 * - an HTTP/1.x request in the full HTTP mode: serves the connection as plain HTTP, every request
 *   checked against the CONNECT target as inside TLS (421 otherwise) and re-originated as the
 *   profile's browser over plain TCP, with what a browser changes for a URL without TLS
 *   (forward-http-headers.ts); the connection dialled before `200` carries the first request, and
 *   a WebSocket handshake is relayed after the origin's 101;
 * - anything else (another protocol, HTTP/2 with prior knowledge, or HTTP/1 in the `tls-relay`
 *   mode): relays the bytes as they are, as passthrough does.
 *
 * Either way the tunnel's record says `clientTls=false`. The first line and the first request
 * head get what is left of the client handshake bound.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { HttpTunnelOwner } from "../http/bridge/http-tunnel.ts";
import { concatBytes } from "../http/h2/frame-writer.ts";
import type { TunnelRecord } from "../log/tunnel-record.ts";
import type { ProfileHttp } from "../profiles/http-types.ts";
import type { Authority } from "./authority.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import { socketEndpoint } from "./endpoint.ts";
import { serveForward } from "./forward-http.ts";
import { routeInTunnel } from "./forward-http-route.ts";
import { readHead } from "./read-head.ts";
import { relay } from "./relay.ts";
import type { TunnelDeps } from "./tunnel.ts";
import { classifyTunnelStart, type TunnelStart } from "./tunnel-start.ts";

/** The client's first bytes after `200` and what they start. */
export interface TunnelOpening {
  kind: TunnelStart;
  /** Everything read so far (the CONNECT leftover first): replayed to whatever takes the tunnel. */
  bytes: Uint8Array;
}

/**
 * Reads until the client's first line tells HTTP/1 from another protocol, socket paused. `bytes`
 * (non-empty, not a TLS record) were read already. Rejects with HEADER_TIMEOUT when the line does
 * not come within `timeoutMs` (what is left of the client handshake bound `limitMs`), IO when the
 * client closes or resets first, SHUTDOWN when the proxy stops.
 */
export async function readTunnelOpening(
  client: Socket,
  bytes: Uint8Array,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  limitMs = timeoutMs,
): Promise<TunnelOpening> {
  const now = classifyTunnelStart(bytes);
  if (now !== "incomplete") return { kind: now, bytes };
  let read = bytes;
  const opening = readHead<TunnelOpening>(
    client,
    {
      headerTimeoutMs: timeoutMs,
      timeoutMessage: `the client's first line was not complete within ${limitMs} ms of the 200 (${BOUND_KEY})`,
      closed: () => new ProxyError("IO", "client closed the connection before its first line"),
      failed: (err) =>
        new ProxyError("IO", `client connection: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        }),
    },
    signal,
    (chunk, r) => {
      read = concatBytes([read, chunk]);
      const kind = classifyTunnelStart(read);
      if (kind !== "incomplete") r.done({ kind, bytes: read });
    },
  );
  client.resume();
  return opening;
}

/** The config key of the one bound a plaintext client's opening gets. */
const BOUND_KEY = "proxy.limits.client_handshake_timeout_ms";

export interface PlaintextTunnelInput {
  client: Socket;
  opening: TunnelOpening;
  /** The connection dialled before `200`. */
  upstream: Socket;
  target: Authority;
  /** The tunnel's profile, resolved. */
  profile: string;
  /** The CONNECT's X-PolyTLS-Next-Hop, if any. */
  nextHop: string | null;
  /** What is left of the client handshake bound, for the rest of the first request head. */
  headTimeoutMs: number;
  deps: TunnelDeps;
  signal: AbortSignal | undefined;
  rec: TunnelRecord;
  /** Told when the HTTP connection ends (full mode, HTTP/1 only). */
  owner: HttpTunnelOwner;
}

/**
 * Whether the proxy serves this opening as plain HTTP: HTTP/1 and the tunnel's profile HTTP layer
 * in use (`profileHttp`: null in the `tls-relay` mode or for a profile without one, as a TLS
 * tunnel's bytes are then relayed too).
 */
export function servesPlainHttp(opening: TunnelOpening, profileHttp: ProfileHttp | null): boolean {
  return opening.kind === "http1" && profileHttp !== null;
}

/** Serves the tunnel as plain HTTP until the client leaves; `input.owner` hears the end. */
export function startPlainHttpTunnel(input: PlaintextTunnelInput): void {
  const { deps, target } = input;
  input.rec.clientTls = false;
  void serveForward({
    socket: input.client,
    prefix: input.opening.bytes,
    deps,
    dispatcher: {
      access: deps.access,
      authenticate: () => {}, // the CONNECT was authenticated
      route: (head) => routeInTunnel(head, { target, profile: input.profile, nextHop: input.nextHop }),
      spare: { target, socket: input.upstream },
    },
    headerTimeoutMs: input.headTimeoutMs,
    headerTimeoutReason: `request head not received within ${input.deps.clientHandshakeTimeoutMs} ms of the 200 (${BOUND_KEY})`,
    ...(input.signal ? { signal: input.signal } : {}),
  }).then((r) =>
    input.owner.httpEnded({
      protocol: "h1",
      upstream: r.upstreams > 0 ? ["http/1.1"] : [],
      otherProfiles: null,
      requests: r.requests,
      statuses: r.statuses,
      exchangeErrors: r.exchangeErrors,
      error: r.error,
      relay: null,
      bytesFromClient: r.bytesIn,
      bytesToClient: r.bytesOut,
    }),
  );
}

/** Relays the tunnel's bytes as they are (the opening first); throws what failed. */
export async function relayPlaintext(
  input: Omit<PlaintextTunnelInput, "owner" | "profile" | "nextHop" | "headTimeoutMs">,
) {
  const { rec, deps } = input;
  rec.clientTls = false;
  if (deps.http.mode === "full") rec.http = "relay";
  const r = await relay(socketEndpoint(input.client, input.opening.bytes), socketEndpoint(input.upstream), {
    idleTimeoutMs: deps.idleTimeoutMs,
    ...(input.signal ? { signal: input.signal } : {}),
  });
  rec.bytesUp = r.aToB;
  rec.bytesDown = r.bToA;
  return r;
}
