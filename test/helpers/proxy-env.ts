/** Starts a real ProxyServer on 127.0.0.1:0 and speaks CONNECT to it (tests only). */
import { spawn } from "node:child_process";
import * as net from "node:net";
import * as tls from "node:tls";
import { createLogger } from "../../src/log/logger.ts";
import { LeafCache } from "../../src/mitm/leaf-cache.ts";
import { type AccessPolicy, OPEN_ACCESS } from "../../src/proxy/access.ts";
import { DEFAULT_CONNECT_LIMITS } from "../../src/proxy/connect-parser.ts";
import { type ListenerOptions, ProxyServer } from "../../src/proxy/listener.ts";
import type { TunnelDeps } from "../../src/proxy/tunnel.ts";
import { ConnectorPool, type ProfileSource } from "../../src/upstream/connector-pool.ts";
import type { UpstreamTlsEngine } from "../../src/upstream/engine.ts";
import { SessionCache } from "../../src/upstream/session-cache.ts";
import type { TestPki } from "./tls-env.ts";

export interface ProxyHandle {
  proxy: ProxyServer;
  port: number;
  logs: string[];
  sessions: SessionCache;
  stop(): Promise<void>;
}

export async function startProxy(opts: {
  pki: TestPki;
  engine: UpstreamTlsEngine;
  profiles: ProfileSource;
  defaultProfile: string;
  mode?: "mitm" | "passthrough";
  caFile?: string | null;
  verify?: boolean;
  verifyHostname?: boolean;
  connectTimeoutMs?: number;
  headerTimeoutMs?: number;
  access?: AccessPolicy;
  /** Overrides of the remaining TunnelDeps / ListenerOptions fields (limits, guard, timeouts). */
  deps?: Partial<TunnelDeps>;
  listener?: Partial<Omit<ListenerOptions, "host" | "port">>;
  /** Listen address; 127.0.0.1 unless a test needs the all-addresses case (loop protection). */
  host?: string;
}): Promise<ProxyHandle> {
  const logs: string[] = [];
  const sessions = new SessionCache();
  const deps: TunnelDeps = {
    mode: opts.mode ?? "mitm",
    access: opts.access ?? OPEN_ACCESS,
    defaultProfile: opts.defaultProfile,
    connectTimeoutMs: opts.connectTimeoutMs ?? 5000,
    clientHandshakeTimeoutMs: 5000,
    upstreamHandshakeTimeoutMs: 5000,
    idleTimeoutMs: 60_000,
    targetGuard: { denyPrivate: false, denyCidrs: [] },
    // The seed's TLS relay unless a test asks for the HTTP mode (`deps: { http: … }`).
    http: {
      mode: "tls-relay",
      keepClient: new Set(),
      maxConcurrentStreams: 100,
      maxRequestHeadBytes: 65_536,
    },
    verify: {
      verify: opts.verify ?? true,
      verifyHostname: opts.verifyHostname ?? true,
      caFile: opts.caFile === undefined ? opts.pki.caCertPath : opts.caFile,
    },
    engine: opts.engine,
    connectors: new ConnectorPool(opts.engine, opts.profiles),
    sessions,
    leaves: new LeafCache(opts.pki.minter, { ttlSeconds: 3600 }),
    logger: createLogger({ level: "debug", format: "json", sink: (l) => logs.push(l) }),
    ...opts.deps,
  };
  const proxy = new ProxyServer(
    {
      host: opts.host ?? "127.0.0.1",
      port: 0,
      limits: DEFAULT_CONNECT_LIMITS,
      headerTimeoutMs: opts.headerTimeoutMs ?? 5000,
      maxTunnels: 10_000,
      maxTunnelsPerClient: 10_000,
      authFailures: { max: 1_000, windowMs: 60_000 },
      ...opts.listener,
    },
    deps,
  );
  const { port } = await proxy.listen();
  return {
    proxy,
    port,
    logs,
    sessions,
    stop: async () => {
      await proxy.stop(100);
      deps.connectors.close();
    },
  };
}

/** What the proxy still sends after a head (`rest`: read with it), until it closes the connection. */
export function readToClose(socket: net.Socket, rest: Buffer): Promise<string> {
  return new Promise((resolve) => {
    let text = rest.toString();
    socket.on("data", (d: Buffer) => {
      text += d.toString();
    });
    socket.once("close", () => resolve(text));
    socket.resume();
  });
}

/** Sends raw bytes to the proxy and resolves with the response head plus the open socket. */
export async function rawConnect(
  proxyPort: number,
  request: string | Uint8Array,
  allowHalfOpen = false,
): Promise<{ socket: net.Socket; head: string; status: number; rest: Buffer }> {
  const socket = net.connect({ host: "127.0.0.1", port: proxyPort, allowHalfOpen });
  await new Promise<void>((r, j) => {
    socket.once("connect", r);
    socket.once("error", j);
  });
  socket.write(request);
  return await new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      const head = buf.subarray(0, end).toString("latin1");
      resolve({ socket, head, status: Number(head.split(" ")[1]), rest: buf.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("end", () =>
      reject(new Error(`proxy closed; got ${JSON.stringify(buf.toString("latin1"))}`)),
    );
  });
}

export function connectRequest(target: string, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${extra}\r\n`;
}

/** CONNECT, then TLS to the minted leaf (verified against the proxy CA), as curl would. */
export async function tlsThroughProxy(
  proxyPort: number,
  target: string,
  opts: {
    ca: string;
    servername: string;
    alpn?: string[];
    headers?: Record<string, string>;
    /** Skip the client's host name check (to let a mismatching SNI reach the proxy). */
    acceptAnyName?: boolean;
    /** Keep the TLS socket writable after the peer's end (a half-closed relay). */
    allowHalfOpen?: boolean;
  },
): Promise<tls.TLSSocket> {
  const { socket, status, head } = await rawConnect(
    proxyPort,
    connectRequest(target, opts.headers),
    opts.allowHalfOpen ?? false,
  );
  if (status !== 200) throw new Error(`CONNECT failed: ${head}`);
  socket.on("error", () => {}); // a reset reaches the TLS socket too, where callers listen
  const t = tls.connect({
    socket,
    servername: opts.servername,
    ca: opts.ca,
    ALPNProtocols: opts.alpn ?? ["http/1.1"],
    ...(opts.acceptAnyName ? { checkServerIdentity: () => undefined } : {}),
    ...(opts.allowHalfOpen ? { allowHalfOpen: true } : {}),
  });
  await new Promise<void>((r, j) => {
    t.once("secureConnect", r);
    t.once("error", j);
  });
  return t;
}

/** One HTTP/1.1 GET on an open TLS socket; resolves with the whole response text. */
export function httpGet(t: tls.TLSSocket, host: string, path = "/"): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (d: Buffer) => {
      text += d.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const m = /content-length: (\d+)/i.exec(text);
      if (end >= 0 && m && text.length >= end + 4 + Number(m[1])) {
        t.off("data", onData);
        resolve(text);
      }
    };
    t.on("data", onData);
    t.once("error", reject);
    t.once("close", () => resolve(text));
    t.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  });
}

/**
 * A proxy in the full HTTP mode with the built-in profiles and the native engine, Chrome's
 * profile by default; `deps` overrides the rest (an idle timeout, say).
 */
export async function startHttpModeProxy(pki: TestPki, deps: Partial<TunnelDeps> = {}): Promise<ProxyHandle> {
  const [{ ProfileRegistry }, { NativeEngine }] = await Promise.all([
    import("../../src/profiles/registry-store.ts"),
    import("../../src/upstream/native/native-engine.ts"),
  ]);
  return startProxy({
    pki,
    engine: new NativeEngine(),
    profiles: new ProfileRegistry(),
    defaultProfile: "chrome-143-macos-arm64",
    deps: {
      http: { mode: "full", keepClient: new Set(), maxConcurrentStreams: 100, maxRequestHeadBytes: 65_536 },
      ...deps,
    },
  });
}

/** Runs curl through the proxy (`-x`), trusting `caPath`; resolves with its exit code and output. */
export function curlThroughProxy(
  proxyPort: number,
  caPath: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn("curl", [
      "-sS",
      "--max-time",
      "20",
      "--cacert",
      caPath,
      "-x",
      `http://127.0.0.1:${proxyPort}`,
      ...args,
    ]);
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    p.on("close", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** Every `tunnel closed` record in the (JSON) logs, oldest first. */
export function tunnelRecords(logs: string[]): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === "tunnel closed");
}
