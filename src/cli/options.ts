/** Flags shared by commands, and their mapping onto config overrides (flags beat the file). */
import { join } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { Config, ConfigOverrides } from "../config/schema.ts";
import { ProxyError } from "../errors/proxy-error.ts";

export const configArgs = {
  config: { type: "string", description: "TOML config file", valueHint: "FILE" },
  "ca-dir": {
    type: "string",
    description: "Folder of the MITM root CA (private.key, certificate.pem)",
    valueHint: "DIR",
  },
} as const;

export const logArgs = {
  "log-format": { type: "string", description: "text (default) or json", valueHint: "text|json" },
  "log-level": { type: "string", description: "debug, info (default), warn or error", valueHint: "LEVEL" },
} as const;

export interface FlagValues {
  config?: string | undefined;
  "ca-dir"?: string | undefined;
  "log-format"?: string | undefined;
  "log-level"?: string | undefined;
  profile?: string | undefined;
  mode?: string | undefined;
  "mitm-http"?: string | undefined;
  listen?: string | undefined;
  "socks-listen"?: string | undefined;
  "next-hop"?: string | undefined;
  "admin-listen"?: string | undefined;
  "upstream-ca-file"?: string | undefined;
  "upstream-insecure-skip-verify"?: boolean | undefined;
  "upstream-no-verify-hostname"?: boolean | undefined;
}

export function overridesFrom(f: FlagValues): ConfigOverrides {
  const proxy: NonNullable<ConfigOverrides["proxy"]> = {};
  const log: NonNullable<ConfigOverrides["log"]> = {};
  if (f.listen !== undefined) proxy.listen = { address: f.listen };
  if (f["socks-listen"] !== undefined) proxy.socks = { listen: f["socks-listen"] };
  if (f["admin-listen"] !== undefined) proxy.admin = { listen: f["admin-listen"] };
  if (f.mode !== undefined) {
    if (f.mode !== "mitm" && f.mode !== "passthrough") {
      throw new ProxyError("CONFIG_INVALID", `--mode: expected "mitm" or "passthrough", got "${f.mode}"`);
    }
    proxy.mitm = { enabled: f.mode === "mitm" };
  }
  const http = f["mitm-http"];
  if (http !== undefined) {
    if (http !== "full" && http !== "tls-relay") {
      throw new ProxyError("CONFIG_INVALID", `--mitm-http: expected "full" or "tls-relay", got "${http}"`);
    }
    proxy.mitm = { ...proxy.mitm, http };
  }
  const upstream: NonNullable<typeof proxy.upstream> = {};
  if (f.profile !== undefined) upstream.defaultProfile = f.profile;
  if (f["next-hop"] !== undefined) upstream.nextHop = f["next-hop"];
  if (f["upstream-ca-file"] !== undefined) upstream.caFile = f["upstream-ca-file"];
  if (f["upstream-insecure-skip-verify"]) upstream.insecureSkipVerify = true;
  if (f["upstream-no-verify-hostname"]) upstream.verifyHostname = false;
  if (Object.keys(upstream).length > 0) proxy.upstream = upstream;
  if (f["ca-dir"] !== undefined) {
    proxy.certificate = {
      caKeyPath: join(f["ca-dir"], "private.key"),
      caCertPath: join(f["ca-dir"], "certificate.pem"),
    };
  }
  if (f["log-format"] !== undefined) log.format = f["log-format"] as "text" | "json";
  if (f["log-level"] !== undefined) log.level = f["log-level"] as "info";
  return { proxy, log };
}

/** defaults < TOML (--config) < flags. */
export function configFromFlags(f: FlagValues): Config {
  return loadConfig({ ...(f.config !== undefined ? { file: f.config } : {}), overrides: overridesFrom(f) });
}

/**
 * The `--config` and `--ca-dir` this command was given, for a hint that names `polytls ca init`:
 * with them it creates (or replaces) the CA where the command looked for it.
 */
export function caLocationFlags(f: Pick<FlagValues, "config" | "ca-dir">): string[] {
  return [
    ...(f.config !== undefined ? ["--config", f.config] : []),
    ...(f["ca-dir"] !== undefined ? ["--ca-dir", f["ca-dir"]] : []),
  ];
}
