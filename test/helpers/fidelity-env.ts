/**
 * The fidelity matrix's world (tests only): a CA made now, two recording origins for "localhost"
 * (h2 + HTTP/1.1, and HTTP/1.1 only), and one running proxy per built-in profile, each wired as
 * `polytls run` wires it (src/cli/serve.ts) from the default config, whose `proxy.mitm.http` is
 * "full", with that profile as `proxy.upstream.default_profile` (so clients that cannot send a
 * CONNECT header still pick the profile by proxy port). All proxies share one root CA.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProxy, rootCaOf, startProxy } from "../../src/cli/serve.ts";
import { defaultConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/log/logger.ts";
import { BUILTIN_PROFILES } from "../../src/profiles/builtin.ts";
import { ProfileRegistry } from "../../src/profiles/registry-store.ts";
import { type FidelityOrigin, startFidelityOrigin } from "./fidelity-origin.ts";
import { removeTempTree } from "./temp-tree.ts";
import { makeTestPki, type TestPki } from "./tls-env.ts";

export interface FidelityProxy {
  profile: string;
  proxy: RunningProxy;
  port: number;
  logs: string[];
}

export interface FidelityEnv {
  pki: TestPki;
  /** The profiles with a proxy (by default every built-in, in src/profiles/builtin.ts order). */
  profiles: string[];
  registry: ProfileRegistry;
  h2Origin: FidelityOrigin;
  h1Origin: FidelityOrigin;
  proxies: Map<string, FidelityProxy>;
  /** The proxies' root CA, PEM file (what clients trust). */
  proxyCaPath: string;
  /** A private temp dir. */
  tmp: string;
  close(): Promise<void>;
}

/** `profiles`: the built-ins to start a proxy for (default: every one). */
export async function startFidelityEnv(
  profiles: string[] = BUILTIN_PROFILES.map((p) => p.name),
): Promise<FidelityEnv> {
  const pki = await makeTestPki();
  const tmp = mkdtempSync(join(tmpdir(), "polytls-fidelity-"));
  const leaf = await pki.leaf("localhost");
  const h2Origin = await startFidelityOrigin({
    keyPem: leaf.keyPem,
    certPem: leaf.chainPem,
    alpn: ["h2", "http/1.1"],
  });
  const h1Origin = await startFidelityOrigin({
    keyPem: leaf.keyPem,
    certPem: leaf.chainPem,
    alpn: ["http/1.1"],
  });
  const proxies = new Map<string, FidelityProxy>();
  for (const profile of profiles) {
    const config = defaultConfig(tmp);
    config.proxy.listen.address = "127.0.0.1:0";
    config.proxy.certificate.caKeyPath = join(tmp, "ca", "private.key");
    config.proxy.certificate.caCertPath = join(tmp, "ca", "certificate.pem");
    config.proxy.upstream.caFile = pki.caCertPath;
    config.proxy.upstream.defaultProfile = profile;
    if (config.proxy.mitm.http !== "full") throw new Error("the default HTTP mode is no longer full");
    const logs: string[] = [];
    const logger = createLogger({ level: "info", format: "json", sink: (l) => logs.push(l) });
    const proxy = await startProxy(config, logger);
    proxies.set(profile, { profile, proxy, port: proxy.address.port, logs });
  }
  const first = proxies.get(profiles[0] ?? "");
  if (first === undefined) throw new Error("no built-in profile");
  const proxyCaPath = join(tmp, "proxy-ca.pem");
  writeFileSync(proxyCaPath, rootCaOf(first.proxy).certPem);
  return {
    pki,
    profiles,
    registry: new ProfileRegistry(),
    h2Origin,
    h1Origin,
    proxies,
    proxyCaPath,
    tmp,
    async close() {
      try {
        for (const p of proxies.values()) await p.proxy.stop();
        await h2Origin.close();
        await h1Origin.close();
      } finally {
        removeTempTree(tmp);
        pki.remove();
      }
    },
  };
}

/** The proxy for a profile (throws when the env has none). */
export function proxyFor(env: FidelityEnv, profile: string): FidelityProxy {
  const p = env.proxies.get(profile);
  if (p === undefined) throw new Error(`no proxy for ${profile}`);
  return p;
}
