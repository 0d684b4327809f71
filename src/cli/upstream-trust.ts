import { accessSync, constants } from "node:fs";
import type { Config } from "../config/schema.ts";
import { ProxyError } from "../errors/proxy-error.ts";
import type { UpstreamTlsEngine } from "../upstream/engine.ts";

/**
 * Refuses, before the proxy starts (and in `run --check`), an upstream CA file the tunnels could
 * not use: one that cannot be read, or, when upstream certificates are verified in MITM mode, one
 * the engine cannot load (not PEM, no certificate in it). Without this the proxy would start and
 * then reset every tunnel after `200`. `fromFlag`: the file came from `--upstream-ca-file`.
 */
export function checkUpstreamTrust(config: Config, engine: () => UpstreamTlsEngine, fromFlag: boolean): void {
  const { upstream, mitm } = config.proxy;
  const caFile = upstream.caFile;
  const key = `proxy.upstream.ca_file${fromFlag ? " (command line)" : ""}`;
  if (caFile !== null) {
    try {
      accessSync(caFile, constants.R_OK);
    } catch (err) {
      throw new ProxyError("CONFIG_INVALID", `${key}: cannot read ${caFile}`, { cause: err });
    }
  }
  if (!mitm.enabled || upstream.insecureSkipVerify) return; // the store is never used
  try {
    engine().loadTrust(caFile);
  } catch (err) {
    if (!(err instanceof ProxyError) || err.code !== "CONFIG_INVALID") throw err;
    const where = caFile === null ? "upstream trust store (system CA bundle)" : key;
    throw new ProxyError("CONFIG_INVALID", `${where}: ${err.message}`, { cause: err });
  }
}
