/**
 * Wires a loaded configuration into a running proxy: engine, root CA, leaf cache, profiles,
 * connectors, session cache, listener, and the admin listener (metrics, health) when configured.
 * Each component gets its slice of the config.
 */
import type { Config } from "../config/schema.ts";
import { splitHostPort } from "../config/schema.ts";
import { ProxyError } from "../errors/proxy-error.ts";
import { keepSet } from "../http/headers/names.ts";
import type { Logger } from "../log/logger.ts";
import { adminAddress, isLoopbackHost } from "../metrics/admin-address.ts";
import { AdminServer } from "../metrics/admin-server.ts";
import { CountedLeaves } from "../metrics/counted-leaves.ts";
import { ProxyMetrics } from "../metrics/proxy-metrics.ts";
import { LeafMinter } from "../pki/leaf.ts";
import { type CaHintOptions, loadOrCreateRootCa, type RootCa } from "../pki/root-ca.ts";
import { builtinOverride } from "../profiles/builtin-override.ts";
import { ProfileRegistry, profilePath } from "../profiles/registry-store.ts";
import { accessPolicy } from "../proxy/access.ts";
import { openFilesSoftLimit, tunnelsThatFit } from "../proxy/fd-limit.ts";
import { ProxyServer, type StopReport } from "../proxy/listener.ts";
import { parseNextHop } from "../proxy/next-hop-url.ts";
import { ConnectorPool } from "../upstream/connector-pool.ts";
import { raiseFdLimit } from "../upstream/native/fd-limit.ts";
import { NativeEngine } from "../upstream/native/native-engine.ts";
import { SessionCache } from "../upstream/session-cache.ts";

export interface RunningProxy {
  server: ProxyServer;
  /** The MITM root CA; null in passthrough (which needs none). */
  ca: RootCa | null;
  caCreated: boolean;
  address: { host: string; port: number };
  /** The admin listener's address (proxy.admin.listen), null when off. */
  admin: { host: string; port: number } | null;
  metrics: ProxyMetrics;
  /** Drains (readiness turns 503 at once), stops the proxy, then the admin listener. */
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

/**
 * A listener beyond loopback without proxy.auth.users is an open proxy (and a MITM one) for
 * anyone who reaches it: allowed, but said once at start, at `warn`.
 */
function warnIfOpen(proxy: Config["proxy"], logger: Logger): void {
  if (proxy.auth.users.length > 0) return;
  for (const [key, value] of [
    ["proxy.listen.address", proxy.listen.address],
    ["proxy.socks.listen", proxy.socks.listen],
  ] as const) {
    const at = value === "" ? null : splitHostPort(value);
    if (at === null || typeof at === "string" || isLoopbackHost(at.host)) continue;
    logger.warn(
      "listening beyond loopback without proxy.auth.users: anyone who can reach it can use the proxy",
      {
        setting: key,
        listen: value,
      },
    );
  }
}

/**
 * A config profile named like a built-in profile replaces it, and one named like a built-in alias
 * takes the alias over (README, "Your own profiles"): allowed, since it can be deliberate, but said
 * at start, at `warn`, once per such profile.
 */
export function warnIfBuiltinsOverridden(profiles: Config["profiles"], logger: Logger): void {
  for (const name of Object.keys(profiles)) {
    const o = builtinOverride(name);
    if (o === null) continue;
    const setting = profilePath(name);
    if (o.kind === "profile") {
      logger.warn("a config profile replaces the built-in profile of the same name", {
        profile: name,
        setting,
        replaces: `built-in profile ${name}`,
      });
    } else {
      logger.warn("a config profile takes over a built-in alias", {
        profile: name,
        setting,
        replaces: `built-in alias ${name} (of ${o.aliasOf})`,
      });
    }
  }
}

/** The CA of a proxy started in MITM mode (tests, benchmarks); throws in passthrough. */
export function rootCaOf(running: RunningProxy): RootCa {
  if (running.ca === null) throw new ProxyError("INTERNAL", "a passthrough proxy has no CA");
  return running.ca;
}

/** Passthrough's leaves: none is ever asked for (the client's TLS goes through untouched). */
const NO_LEAVES = {
  get: (): Promise<never> => Promise.reject(new ProxyError("INTERNAL", "passthrough mints no certificate")),
};

/**
 * Starts the proxy. `caHint` makes a CA_INVALID hint name the flags the command was given (`polytls
 * ca init --force --ca-dir DIR`).
 */
export async function startProxy(
  config: Config,
  logger: Logger,
  caHint?: CaHintOptions,
): Promise<RunningProxy> {
  const { proxy } = config;
  const adminAt = adminAddress(proxy.admin); // refuse a bad admin address before anything starts
  const profiles = ProfileRegistry.fromConfig(config);
  warnIfBuiltinsOverridden(config.profiles, logger);
  const engine = new NativeEngine();
  const connectors = new ConnectorPool(engine, profiles);
  // Build the default profile's context now, so a spec BoringSSL refuses fails at start.
  connectors.get(proxy.upstream.defaultProfile);
  // Passthrough mints no certificate: no CA is read, nor created on disk.
  const root = proxy.mitm.enabled
    ? await loadOrCreateRootCa(
        {
          keyPath: proxy.certificate.caKeyPath,
          certPath: proxy.certificate.caCertPath,
        },
        caHint,
      )
    : null;
  const metrics = new ProxyMetrics({
    activeTunnels: () => server.activeTunnels,
    openConnections: () => server.openConnections,
    draining: () => server.draining,
  });
  const leaves =
    root === null
      ? NO_LEAVES
      : new CountedLeaves(
          await LeafMinter.create(root.ca),
          { ttlSeconds: proxy.certificate.cacheTtl },
          (hit) => metrics.leafLookup(hit),
        );
  const listen = splitHostPort(proxy.listen.address);
  if (typeof listen === "string") throw new ProxyError("CONFIG_INVALID", `proxy.listen.address: ${listen}`);
  const socks = proxy.socks.listen === "" ? null : splitHostPort(proxy.socks.listen);
  if (typeof socks === "string") throw new ProxyError("CONFIG_INVALID", `proxy.socks.listen: ${socks}`);
  const nextHop = proxy.upstream.nextHop === "" ? null : parseNextHop(proxy.upstream.nextHop);
  if (typeof nextHop === "string")
    throw new ProxyError("CONFIG_INVALID", `proxy.upstream.next_hop: ${nextHop}`);
  const server = new ProxyServer(
    {
      host: listen.host,
      port: listen.port,
      limits: { maxHeaderBytes: proxy.limits.maxHeaderBytes, maxHeaders: proxy.limits.maxHeaders },
      headerTimeoutMs: proxy.limits.headerTimeoutMs,
      maxTunnels: fittedMaxTunnels(proxy.limits.maxTunnels, logger),
      maxTunnelsPerClient: proxy.limits.maxTunnelsPerClient,
      authFailures: { max: proxy.auth.maxFailures, windowMs: proxy.auth.failureWindowMs },
      socks,
    },
    {
      mode: proxy.mitm.enabled ? "mitm" : "passthrough",
      access: accessPolicy(proxy.auth.users, proxy.access.allowedPorts),
      defaultProfile: proxy.upstream.defaultProfile,
      connectTimeoutMs: proxy.upstream.connectTimeoutMs,
      nextHop: { configured: nextHop, perRequest: proxy.upstream.allowNextHopHeader },
      clientHandshakeTimeoutMs: proxy.limits.clientHandshakeTimeoutMs,
      upstreamHandshakeTimeoutMs: proxy.upstream.handshakeTimeoutMs,
      idleTimeoutMs: proxy.limits.idleTimeoutMs,
      http: {
        mode: proxy.mitm.http,
        keepClient: keepSet(proxy.http.keepClientHeaders),
        maxConcurrentStreams: proxy.http.maxConcurrentStreams,
        maxRequestHeadBytes: proxy.http.maxRequestHeadBytes,
        headTimeoutMs: proxy.limits.headerTimeoutMs,
        ...(proxy.upstream.responseTimeoutMs > 0
          ? { responseTimeoutMs: proxy.upstream.responseTimeoutMs }
          : {}),
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
      observer: metrics,
    },
  );
  const address = await server.listen();
  warnIfOpen(proxy, logger);
  let admin: AdminServer | null = null;
  let adminListen: { host: string; port: number } | null = null;
  if (adminAt !== null) {
    admin = new AdminServer({ metrics: () => metrics.render(), ready: () => !server.draining });
    try {
      adminListen = await admin.listen(adminAt.host, adminAt.port);
      server.alsoSelf(adminListen); // metrics stay the operator's: no tunnel reaches them
    } catch (err) {
      await server.stop(0);
      connectors.close();
      throw err;
    }
  }
  return {
    server,
    ca: root?.ca ?? null,
    caCreated: root?.created ?? false,
    address,
    admin: adminListen,
    metrics,
    async stop() {
      const report = await server.stop(proxy.limits.drainTimeoutMs);
      connectors.close();
      await admin?.close();
      return report;
    },
  };
}
