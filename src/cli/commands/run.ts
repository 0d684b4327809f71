import { defineCommand } from "citty";
import { createLogger } from "../../log/logger.ts";
import { adminAddress } from "../../metrics/admin-address.ts";
import { ProfileRegistry } from "../../profiles/registry-store.ts";
import { formatHostPort } from "../../proxy/authority.ts";
import { abandonedConnects } from "../../proxy/connect-tcp.ts";
import { parseNextHop } from "../../proxy/next-hop-url.ts";
import { NativeEngine } from "../../upstream/native/native-engine.ts";
import { exitAfterStderr } from "../exit-after-stderr.ts";
import { caLocationFlags, configArgs, configFromFlags, logArgs } from "../options.ts";
import { startProxy, warnIfBuiltinsOverridden } from "../serve.ts";
import { checkUpstreamTrust } from "../upstream-trust.ts";

/** The SOCKS5 listener and the next hop for the start line; the hop without its credentials. */
function socksAndHop(socks: { host: string; port: number } | null, nextHop: string): Record<string, string> {
  const hop = nextHop === "" ? null : parseNextHop(nextHop);
  return {
    ...(socks ? { socks: formatHostPort(socks.host, socks.port) } : {}),
    ...(hop !== null && typeof hop !== "string" ? { nextHop: hop.name } : {}),
  };
}

export const runCommand = defineCommand({
  meta: { name: "run", description: "Start the proxy (MITM by default)" },
  args: {
    profile: {
      type: "string",
      alias: "p",
      description: "Default upstream profile (name or alias)",
      valueHint: "NAME",
    },
    mode: { type: "string", description: "mitm (default) or passthrough", valueHint: "mitm|passthrough" },
    "mitm-http": {
      type: "string",
      description:
        "In MITM mode: full (default; HTTP re-originated as the profile's browser) or tls-relay (the decrypted bytes relayed)",
      valueHint: "full|tls-relay",
    },
    listen: {
      type: "string",
      description: "Listen address (default 127.0.0.1:8080)",
      valueHint: "HOST:PORT",
    },
    "admin-listen": {
      type: "string",
      description: "Serve /metrics, /healthz and /readyz on this loopback address (default off)",
      valueHint: "HOST:PORT",
    },
    "socks-listen": {
      type: "string",
      description: "Also accept SOCKS5 on this address (default off)",
      valueHint: "HOST:PORT",
    },
    "next-hop": {
      type: "string",
      description:
        "Upstream proxy for every tunnel: http://, socks5:// or socks5h:// [user[:password]@]host:port",
      valueHint: "URL",
    },
    ...configArgs,
    "upstream-ca-file": {
      type: "string",
      description: "Extra CA file trusted for upstream servers",
      valueHint: "FILE",
    },
    "upstream-insecure-skip-verify": {
      type: "boolean",
      description: "Do not verify upstream certificates (lab only)",
    },
    "upstream-no-verify-hostname": {
      type: "boolean",
      description: "Verify the upstream chain but not its host name",
    },
    ...logArgs,
    check: { type: "boolean", description: "Validate the configuration and profiles, then exit" },
  },
  async run({ args }) {
    const config = configFromFlags(args);
    checkUpstreamTrust(config, () => new NativeEngine(), args["upstream-ca-file"] !== undefined);
    if (args.check) {
      adminAddress(config.proxy.admin);
      const profiles = ProfileRegistry.fromConfig(config);
      warnIfBuiltinsOverridden(
        config.profiles,
        createLogger({ level: config.log.level, format: config.log.format }),
      );
      console.log(`configuration OK (${config.file ?? "defaults"}; ${profiles.names().length} profiles)`);
      return;
    }
    const logger = createLogger({ level: config.log.level, format: config.log.format });
    const running = await startProxy(config, logger, { initFlags: caLocationFlags(args) });
    const { host, port } = running.address;
    // Signal handlers go in before "proxy listening" is logged: a supervisor that stops the proxy as
    // soon as it reports ready must get a clean shutdown, not the default SIGTERM death (status 143).
    const stopped = new Promise<void>((resolve) => {
      let stopping = false;
      const onSignal = (signal: "SIGINT" | "SIGTERM") => {
        if (stopping) {
          // A second signal during the drain (a second Ctrl-C): stop now, as the shell expects,
          // with a line saying so; what is still open is reset (the kernel's FIN on exit could
          // pass for the end of an answer).
          logger.warn("second signal: exiting without waiting for the drain", {
            signal,
            open: running.server.openConnections,
          });
          void running.server.resetAll().finally(() => exitAfterStderr(signal === "SIGINT" ? 130 : 143));
          return;
        }
        stopping = true;
        logger.info("shutting down", { signal, open: running.server.openConnections });
        void running.stop().then((r) => {
          logger.info("stopped", {
            drained: r.drained,
            reset: r.reset,
            refused: r.refused,
            destroyed: r.destroyed,
            closedOpenTunnels: r.reset + r.destroyed, // the pre-drain-report field, kept for log readers
          });
          resolve();
        });
      };
      process.on("SIGINT", () => onSignal("SIGINT"));
      process.on("SIGTERM", () => onSignal("SIGTERM"));
    });
    logger.info("proxy listening", {
      listen: formatHostPort(host, port),
      mode: config.proxy.mitm.enabled ? "mitm" : "passthrough",
      // Passthrough applies no profile: the start line names none.
      ...(config.proxy.mitm.enabled
        ? { http: config.proxy.mitm.http, profile: config.proxy.upstream.defaultProfile }
        : {}),
      ...(running.ca === null
        ? {}
        : {
            ca: config.proxy.certificate.caCertPath,
            caSha256: running.ca.sha256Fingerprint,
            caCreated: running.caCreated,
          }),
      ...(running.admin ? { admin: formatHostPort(running.admin.host, running.admin.port) } : {}),
      ...socksAndHop(running.server.socksAddress(), config.proxy.upstream.nextHop),
    });
    await stopped;
    // A native connect the proxy gave up on stays pending until the kernel settles it (up to ~2 min
    // for a black-holed address, connect-tcp.ts) and would hold the process until then: with
    // everything else stopped, the process ends once its log is out.
    if (abandonedConnects.pending > 0) await exitAfterStderr(0);
  },
});
