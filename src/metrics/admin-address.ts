/**
 * Where the admin listener (metrics, health) listens: nowhere unless `proxy.admin.listen` is set,
 * and only on a loopback address unless `proxy.admin.allow_remote` says otherwise. Pure.
 */
import { splitHostPort } from "../config/schema.ts";
import { ProxyError } from "../errors/proxy-error.ts";
import { classify, parseIp } from "../proxy/target-guard.ts";

export interface AdminSettings {
  /** `host:port`, or "" for no admin listener. */
  listen: string;
  allowRemote: boolean;
}

/** `localhost`, 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === "localhost") return true;
  const ip = parseIp(host);
  return ip !== null && classify(ip) === "loopback";
}

/** The admin listen address, null when off; CONFIG_INVALID for a non-loopback one not allowed. */
export function adminAddress(admin: AdminSettings): { host: string; port: number } | null {
  if (admin.listen === "") return null;
  const a = splitHostPort(admin.listen);
  if (typeof a === "string") throw new ProxyError("CONFIG_INVALID", `proxy.admin.listen: ${a}`);
  if (!admin.allowRemote && !isLoopbackHost(a.host)) {
    throw new ProxyError(
      "CONFIG_INVALID",
      `proxy.admin.listen: "${admin.listen}" is not a loopback address; metrics and health would be open to the network: set proxy.admin.allow_remote = true to listen there`,
    );
  }
  return a;
}
