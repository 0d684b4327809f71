/**
 * Wires a loaded configuration into a running proxy: engine, root CA, leaf cache, profiles,
 * connectors, session cache, listener. Each component gets its slice of the config.
 */
import type { Config } from "../config/schema.ts";
import { splitHostPort } from "../config/schema.ts";
import { ProxyError } from "../errors/proxy-error.ts";
import type { Logger } from "../log/logger.ts";
import { LeafCache } from "../mitm/leaf-cache.ts";
import { LeafMinter } from "../pki/leaf.ts";
import { loadOrCreateRootCa, type RootCa } from "../pki/root-ca.ts";
import { ProfileRegistry } from "../profiles/registry-store.ts";
import { accessPolicy } from "../proxy/access.ts";
import { openFilesSoftLimit, tunnelsThatFit } from "../proxy/fd-limit.ts";
import { ProxyServer, type StopReport } from "../proxy/listener.ts";
import { ConnectorPool } from "../upstream/connector-pool.ts";
import { raiseFdLimit } from "../upstream/native/fd-limit.ts";
import { NativeEngine } from "../upstream/native/native-engine.ts";
import { SessionCache } from "../upstream/session-cache.ts";

export interface RunningProxy {
  server: ProxyServer;
  ca: RootCa;
  caCreated: boolean;
  address: { host: string; port: number };
  stop(): Promise<StopReport>;
}

/**
 * proxy.limits.max_tunnels, lowered (with one warning) when two descriptors per tunnel plus a
 * reserve do not fit in the open-file soft limit.
 */
function fittedMaxTunnels(maxTunnels: number, logger: Logger): number {
  // Bun raises the soft limit at start-up on Linux already; this makes it explicit and covers
  // runtimes that do not. procfs is the fallback reading when the native call is unavailable.
  const limit = raiseFdLimit() ?? openFilesSoftLimit();
  if (limit === null) return maxTunnels;
  const fit = tunnelsThatFit(limit);
  if (fit >= maxTunnels) return maxTunnels;
  logger.warn("proxy.limits.max_tunnels lowered to fit the open-file limit", {
    configured: maxTunnels,
    maxTunnels: fit,
    openFilesLimit: limit,
  });
  return fit;
}

export async function startProxy(config: Config, logger: Logger): Promise<RunningProxy> {
  const { proxy } = config;
  const profiles = ProfileRegistry.fromConfig(config);
  const engine = new NativeEngine();
  const connectors = new ConnectorPool(engine, profiles);
  // Build the default profile's context now, so a spec BoringSSL refuses fails at start.
  connectors.get(proxy.upstream.defaultProfile);
  const { ca, created } = await loadOrCreateRootCa({
    keyPath: proxy.certificate.caKeyPath,
    certPath: proxy.certificate.caCertPath,
  });
  const leaves = new LeafCache(await LeafMinter.create(ca), { ttlSeconds: proxy.certificate.cacheTtl });
  const listen = splitHostPort(proxy.listen.address);
  if (typeof listen === "string") throw new ProxyError("CONFIG_INVALID", `proxy.listen.address: ${listen}`);
  const server = new ProxyServer(
    {
      host: listen.host,
      port: listen.port,
      limits: { maxHeaderBytes: proxy.limits.maxHeaderBytes, maxHeaders: proxy.limits.maxHeaders },
      headerTimeoutMs: proxy.limits.headerTimeoutMs,
      maxTunnels: fittedMaxTunnels(proxy.limits.maxTunnels, logger),
      maxTunnelsPerClient: proxy.limits.maxTunnelsPerClient,
      authFailures: { max: proxy.auth.maxFailures, windowMs: proxy.auth.failureWindowMs },
    },
    {
      mode: proxy.mitm.enabled ? "mitm" : "passthrough",
      access: accessPolicy(proxy.auth.users, proxy.access.allowedPorts),
      defaultProfile: proxy.upstream.defaultProfile,
      connectTimeoutMs: proxy.upstream.connectTimeoutMs,
      clientHandshakeTimeoutMs: proxy.limits.clientHandshakeTimeoutMs,
      upstreamHandshakeTimeoutMs: proxy.upstream.handshakeTimeoutMs,
      idleTimeoutMs: proxy.limits.idleTimeoutMs,
      http: {
        mode: proxy.mitm.http,
        keepClient: new Set(proxy.http.keepClientHeaders),
        maxConcurrentStreams: proxy.http.maxConcurrentStreams,
        maxRequestHeadBytes: proxy.http.maxRequestHeadBytes,
      },
      targetGuard: { denyPrivate: proxy.access.denyPrivate, denyCidrs: proxy.access.denyCidrs },
      verify: {
        verify: !proxy.upstream.insecureSkipVerify,
        verifyHostname: proxy.upstream.verifyHostname,
        caFile: proxy.upstream.caFile,
      },
      engine,
      connectors,
      sessions: new SessionCache(),
      leaves,
      logger,
    },
  );
  const address = await server.listen();
  return {
    server,
    ca,
    caCreated: created,
    address,
    async stop() {
      const report = await server.stop(proxy.limits.drainTimeoutMs);
      connectors.close();
      return report;
    },
  };
}
