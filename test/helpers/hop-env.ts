/**
 * PolyTLS as `polytls run` builds it (startProxy from a Config, so the config keys are wired too)
 * with an HTTP origin behind a ClientHello recorder, and a runner for real clients (curl, python3,
 * java) as child processes (tests of profile-by-username, next hops and SOCKS5 inbound only).
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProxy, startProxy } from "../../src/cli/serve.ts";
import { defaultConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { ja4 } from "../../src/fingerprint/ja4.ts";
import { type Recorder, startRecorder } from "../../src/fingerprint/recorder.ts";
import { createLogger } from "../../src/log/logger.ts";
import { type H2Origin, startH2Origin } from "./origins.ts";
import { removeTempTree } from "./temp-tree.ts";
import { makeTestPki, type TestPki } from "./tls-env.ts";
import { loadCapture } from "./wire-captures.ts";

/** The profile whose capture the tests compare with (no TLS resumption: every hello is the same). */
export const FIREFOX = "firefox-145-macos-arm64";
/** The default profile of the test proxies: a different hello, so a profile choice is visible. */
export const DEFAULT = "chrome-143-macos-arm64";
export const FIREFOX_JA4 = loadCapture(FIREFOX).json.tls.ja4;

export interface HopEnv {
  pki: TestPki;
  /** Origins for `localhost` (h2 + http/1.1) and for the IP literal 127.0.0.1. */
  origin: H2Origin;
  ipOrigin: H2Origin;
  /** The proxy's CA certificate file (clients trust it). */
  caPath: string;
  recorder(originPort?: number): Promise<Recorder>;
  /** Starts a PolyTLS with the config adjusted by `edit`; stopped by close(). */
  polytls(edit?: (c: Config) => void): Promise<{ proxy: RunningProxy; logs: string[] }>;
  close(): Promise<void>;
}

export async function startHopEnv(): Promise<HopEnv> {
  const pki = await makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), "polytls-hop-"));
  const origin = await startH2Origin(await pki.leaf("localhost"));
  const ipOrigin = await startH2Origin(await pki.leaf("127.0.0.1"));
  const recorders: Recorder[] = [];
  const proxies: RunningProxy[] = [];
  const caPath = join(dir, "ca", "certificate.pem");
  return {
    pki,
    origin,
    ipOrigin,
    caPath,
    async recorder(originPort = origin.port) {
      const r = await startRecorder(originPort);
      recorders.push(r);
      return r;
    },
    async polytls(edit) {
      const config = defaultConfig(dir);
      config.proxy.listen.address = "127.0.0.1:0";
      config.proxy.certificate.caKeyPath = join(dir, "ca", "private.key");
      config.proxy.certificate.caCertPath = caPath;
      config.proxy.upstream.caFile = pki.caCertPath;
      config.proxy.upstream.defaultProfile = DEFAULT;
      config.proxy.upstream.connectTimeoutMs = 5_000;
      edit?.(config);
      const logs: string[] = [];
      const logger = createLogger({ level: "debug", format: "json", sink: (l) => logs.push(l) });
      const proxy = await startProxy(config, logger);
      proxies.push(proxy);
      return { proxy, logs };
    },
    async close() {
      try {
        for (const p of proxies) await p.stop();
        for (const r of recorders) await r.close();
        await origin.close();
        await ipOrigin.close();
      } finally {
        removeTempTree(dir);
        pki.remove();
      }
    },
  };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a real client without blocking the event loop (the proxy runs in this process). */
export function run(cmd: string, args: string[], stdin?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

/**
 * curl (pass `--cacert`); `status` is the origin's status, `connect` the proxy's answer to CONNECT
 * (0 when there was none, e.g. SOCKS).
 */
export async function curl(
  args: string[],
): Promise<{ status: number; connect: number; body: string; ran: Ran }> {
  const ran = await run("curl", ["-sS", "--max-time", "20", "-w", "\n%{http_connect} %{http_code}", ...args]);
  const cut = ran.stdout.lastIndexOf("\n");
  const [connect = "0", status = "0"] = ran.stdout.slice(cut + 1).split(" ");
  return { status: Number(status), connect: Number(connect), body: ran.stdout.slice(0, cut), ran };
}

/** The JA4 of the n-th hello the recorder saw. */
export async function helloJa4(recorder: Recorder, n = 0): Promise<string> {
  return ja4((await recorder.waitFor(n)).fingerprint);
}

export { tunnelRecords } from "./proxy-env.ts";
