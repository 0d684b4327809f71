/**
 * One CONNECT tunnel after its request head was parsed: seed steps 2-11. Errors before `200`
 * become an HTTP status (errors/wire.ts); after `200` the tunnel is reset. One TunnelRecord is
 * logged when the tunnel closes.
 */
import type { Socket } from "node:net";
import { ProxyError } from "../errors/proxy-error.ts";
import { errorResponse } from "../errors/wire.ts";
import type { Logger } from "../log/logger.ts";
import { logTunnel, type TunnelRecord } from "../log/tunnel-record.ts";
import { acceptClient } from "../mitm/acceptor.ts";
import { checkUpstreamAlpn, planUpstreamAlpn } from "../mitm/alpn-policy.ts";
import type { Leaf } from "../pki/leaf.ts";
import type { ConnectorPool } from "../upstream/connector-pool.ts";
import type { UpstreamTlsEngine, VerifyPolicy } from "../upstream/engine.ts";
import { SessionCache } from "../upstream/session-cache.ts";
import { type AccessPolicy, checkAccess } from "./access.ts";
import { formatAuthority } from "./authority.ts";
import type { ConnectRequest } from "./connect-parser.ts";
import { dial } from "./dial.ts";
import { channelEndpoint, socketEndpoint } from "./endpoint.ts";
import { relay } from "./relay.ts";
import { SecureChannel } from "./secure-channel.ts";
import { withTimeout } from "./timeout.ts";

export const ESTABLISHED = "HTTP/1.1 200 Connection Established\r\n\r\n";

export interface TunnelDeps {
  mode: "mitm" | "passthrough";
  access: AccessPolicy;
  defaultProfile: string;
  connectTimeoutMs: number;
  /** Client-facing TLS handshake bound (proxy.limits.client_handshake_timeout_ms). */
  clientHandshakeTimeoutMs: number;
  /** Upstream TLS handshake bound (proxy.upstream.handshake_timeout_ms). */
  upstreamHandshakeTimeoutMs: number;
  /** After `200`: a tunnel with no byte either way for this long is closed (IDLE_TIMEOUT). */
  idleTimeoutMs: number;
  /** Target address rules applied after DNS resolution (loop protection always; deny lists opt-in). */
  targetGuard: { denyPrivate: boolean; denyCidrs: readonly string[] };
  verify: VerifyPolicy;
  engine: UpstreamTlsEngine;
  connectors: ConnectorPool;
  sessions: SessionCache;
  leaves: { get(host: string): Promise<Leaf> };
  logger: Logger;
}

/** Resets a TCP connection (RST) where the runtime supports it; otherwise closes it. */
function reset(socket: Socket): void {
  const s = socket as Socket & { resetAndDestroy?: () => void };
  if (typeof s.resetAndDestroy === "function" && !socket.destroyed) s.resetAndDestroy();
  else socket.destroy();
}

/**
 * `signal` aborts when the proxy stops and the drain time has run out: the tunnel then ends with
 * SHUTDOWN (reset after `200`) and is logged like any other.
 */
export async function runTunnel(
  client: Socket,
  req: ConnectRequest,
  deps: TunnelDeps,
  _signal?: AbortSignal,
): Promise<void> {
  const started = performance.now();
  const target = req.target;
  const rec: TunnelRecord = {
    client: `${client.remoteAddress ?? "?"}:${client.remotePort ?? 0}`,
    host: formatAuthority(target),
    mode: deps.mode,
    profile: null,
    clientAlpn: null,
    upstreamAlpn: null,
    upstreamVersion: null,
    upstreamCipher: null,
    resumed: null,
    bytesUp: 0,
    bytesDown: 0,
    durationMs: 0,
    errorCode: null,
  };
  let established = false;
  let upstream: Socket | null = null;
  const closeables: { destroy(): void }[] = [];
  try {
    // Who may connect where (407 / 403), before anything is dialled.
    checkAccess(deps.access, req.proxyAuthorization, target);
    // Step 2: profile and connector (MITM only; passthrough never speaks TLS).
    const selected = deps.mode === "mitm" ? deps.connectors.get(req.profile ?? deps.defaultProfile) : null;
    rec.profile = selected?.name ?? null;
    // The leaf is minted from the CONNECT host while the upstream TCP connection is dialled.
    const leafPromise = selected ? deps.leaves.get(target.host) : null;
    leafPromise?.catch(() => {});
    // Step 3: upstream TCP.
    upstream = await dial(target.host, target.port, deps.connectTimeoutMs);
    closeables.push(upstream);
    if (leafPromise) await leafPromise;
    // Step 4.
    client.write(ESTABLISHED);
    established = true;

    if (!selected || !leafPromise) {
      const r = await relay(socketEndpoint(client, req.leftover), socketEndpoint(upstream));
      rec.bytesUp = r.aToB;
      rec.bytesDown = r.bToA;
      if (r.error) throw r.error;
      return;
    }

    // Steps 5-8: client-facing TLS with the profile's ALPN list, SNI check.
    const accepted = await acceptClient({
      engine: deps.engine,
      socket: client,
      leftover: req.leftover,
      leaf: await leafPromise,
      alpn: selected.spec.alpn,
      target,
      timeoutMs: deps.clientHandshakeTimeoutMs,
    });
    closeables.push(accepted.channel);
    rec.clientAlpn = accepted.info.alpn;

    // Steps 9-10: upstream TLS with the profile, session cache and ALPN plan.
    const plan = planUpstreamAlpn(accepted.info.alpn);
    const sessionKey = SessionCache.key(selected.name, target.host, target.port);
    const conn = selected.connector.connect({
      host: target.host,
      ...(plan.offer ? { alpn: plan.offer } : {}),
      alps: plan.alps,
      verify: deps.verify,
      session: deps.sessions.get(sessionKey),
    });
    const up = new SecureChannel(upstream, conn);
    closeables.push(up);
    up.onSession = (s) => deps.sessions.set(sessionKey, s);
    upstream.resume();
    const info = await withTimeout(up.handshake(), deps.upstreamHandshakeTimeoutMs, () => {
      return new ProxyError(
        "TLS_HANDSHAKE",
        `upstream TLS handshake timed out after ${deps.upstreamHandshakeTimeoutMs} ms`,
      );
    });
    rec.upstreamAlpn = info.alpn;
    rec.upstreamVersion = info.version;
    rec.upstreamCipher = info.cipher;
    rec.resumed = info.resumed;
    checkUpstreamAlpn(plan, info.alpn);

    // Step 11: relay plaintext.
    const r = await relay(channelEndpoint(accepted.channel), channelEndpoint(up));
    rec.bytesUp = r.aToB;
    rec.bytesDown = r.bToA;
    if (r.error) throw r.error;
  } catch (err) {
    const e = ProxyError.wrap(err, "INTERNAL");
    rec.errorCode = e.code;
    if (!established && !client.destroyed) {
      client.end(errorResponse(e));
    } else {
      reset(client);
    }
    for (const c of closeables) c.destroy();
    if (!established) upstream?.destroy();
    deps.logger.debug("tunnel error", { host: rec.host, code: e.code, reason: e.message });
  } finally {
    rec.durationMs = Math.round(performance.now() - started);
    logTunnel(deps.logger, rec);
  }
}
