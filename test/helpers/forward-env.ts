/**
 * The plain-HTTP proxying rig: PolyTLS as `polytls run` builds it (startProxy from a Config) and
 * two plain-HTTP origins that are not ours (test/helpers/forward-origin.mjs under Node 20 as a
 * child process, and under Bun in process), both recording every request they get; plus a raw
 * socket client for what real clients will not send.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningProxy, startProxy } from "../../src/cli/serve.ts";
import { defaultConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log/logger.ts";
import { startForwardOrigin } from "./forward-origin.mjs";
import { removeTempTree } from "./temp-tree.ts";

export const ORIGIN_SCRIPT = join(import.meta.dir, "forward-origin.mjs");
export const CHROME = "chrome-143-macos-arm64";
export const FIREFOX = "firefox-145-macos-arm64";

export interface OriginRecord {
  conn: number;
  method: string;
  path: string;
  rawHeaders: string[];
  bodyLength: number;
}

export interface PlainOrigin {
  port: number;
  records(): Promise<OriginRecord[]>;
  close(): void;
}

export interface ForwardProxy {
  proxy: RunningProxy;
  port: number;
  logs: string[];
}

async function bunOrigin(): Promise<PlainOrigin> {
  const o = await startForwardOrigin();
  return { port: o.port, records: async () => o.records() as OriginRecord[], close: o.close };
}

async function nodeOrigin(): Promise<PlainOrigin> {
  const child: ChildProcess = spawn("node", [ORIGIN_SCRIPT, "--serve"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`node origin exited with ${code}`)));
  });
  const port = (JSON.parse(line) as { port: number }).port;
  return {
    port,
    records: async () => (await (await fetch(`http://127.0.0.1:${port}/__log`)).json()) as OriginRecord[],
    close: () => child.stdin?.end(),
  };
}

export interface ForwardEnv {
  bun: PlainOrigin;
  node: PlainOrigin;
  /** Starts a PolyTLS with the config adjusted by `edit`; stopped by close(). */
  polytls(edit?: (c: Config) => void): Promise<ForwardProxy>;
  close(): Promise<void>;
}

export async function startForwardEnv(): Promise<ForwardEnv> {
  const dir = mkdtempSync(join(tmpdir(), "polytls-forward-"));
  const bun = await bunOrigin();
  const node = await nodeOrigin();
  const proxies: RunningProxy[] = [];
  return {
    bun,
    node,
    async polytls(edit) {
      const config = defaultConfig(dir);
      config.proxy.listen.address = "127.0.0.1:0";
      config.proxy.certificate.caKeyPath = join(dir, "ca", "private.key");
      config.proxy.certificate.caCertPath = join(dir, "ca", "certificate.pem");
      config.proxy.upstream.defaultProfile = CHROME;
      config.proxy.upstream.connectTimeoutMs = 5_000;
      // Clients that keep their connection to the proxy open (Bun fetch's keep-alive) are reset
      // after the drain time at stop: the default 5 s alone would exceed the afterAll hook's 5 s.
      config.proxy.limits.drainTimeoutMs = 500;
      edit?.(config);
      const logs: string[] = [];
      const logger = createLogger({ level: "debug", format: "json", sink: (l) => logs.push(l) });
      const proxy = await startProxy(config, logger);
      proxies.push(proxy);
      return { proxy, port: proxy.address.port, logs };
    },
    async close() {
      try {
        for (const p of proxies) await p.stop();
        bun.close();
        node.close();
      } finally {
        removeTempTree(dir);
      }
    },
  };
}

/** Header names in wire order from node's rawHeaders (name, value, name, value, …). */
export function names(raw: readonly string[]): string[] {
  return raw.filter((_, i) => i % 2 === 0);
}

/** The value of a header (any case) in rawHeaders, or undefined. */
export function headerValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

/**
 * Sends `bytes` on a new connection to the proxy and collects everything until the proxy closes
 * (or `untilText` appears); `ended` tells a clean FIN from a reset.
 */
export function rawExchange(
  port: number,
  bytes: string,
  untilText?: string,
): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    let reset = false;
    const done = () => resolve({ text, reset });
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (untilText !== undefined && text.includes(untilText)) {
        socket.destroy();
        done();
      }
    });
    socket.on("error", () => {
      reset = true;
    });
    socket.on("close", done);
    socket.write(bytes);
  });
}

/**
 * One connection to the proxy, requests sent one after another: each step is written once the
 * text so far contains the previous step's `until`; resolves when the proxy closes.
 */
export function rawSequence(port: number, steps: { send: string; until: string }[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    let next = 0;
    const advance = () => {
      const prev = steps[next - 1];
      if (next >= steps.length || (prev !== undefined && !text.includes(prev.until))) return;
      socket.write(steps[next]?.send ?? "");
      next += 1;
    };
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      advance();
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(text));
    advance();
  });
}

/** Every `tunnel closed` record in the logs. */
export function records(logs: string[]): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === "tunnel closed");
}
