/**
 * The end-to-end HTTP-mode rig: a CA made at test time, the running proxy in the full HTTP mode,
 * and origins that are not ours (test/helpers/e2e-origin.mjs under Node 20 as a child process, and
 * under Bun in process), each with a stats port recording upstream connections and requests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { ProfileRegistry } from "../../src/profiles/registry-store.ts";
import { NativeEngine } from "../../src/upstream/native/native-engine.ts";
import { patternBlock, startE2eOrigin } from "./e2e-origin.mjs";
import { type ProxyHandle, startProxy, tlsThroughProxy } from "./proxy-env.ts";
import { makeTestPki, type TestPki } from "./tls-env.ts";

export const ORIGIN_SCRIPT = join(import.meta.dir, "e2e-origin.mjs");
export const BLOCK: Buffer = patternBlock();

export interface OriginConn {
  id: number;
  alpn: string | null;
  hello: { alpn: string[]; extensions: string[] } | null;
}
export interface OriginReq {
  conn: number;
  version: string;
  method: string;
  path: string;
  raw?: string[];
  dropped?: boolean;
}
export interface OriginStats {
  conns: OriginConn[];
  reqs: OriginReq[];
  /** Bytes each /bytes request (by its path) handed to the origin's stream so far. */
  sent: Record<string, number>;
  /** /no-head requests read, and how many of them the proxy has closed (stream or connection). */
  noHead?: number;
  noHeadClosed?: number;
}

export interface E2eOrigin {
  name: string;
  port: number;
  authority: string;
  stats(): Promise<OriginStats>;
  /** Forgets what was recorded so far. */
  clear(): Promise<void>;
  close(): void;
}

/** The plain text every /enc/<coding> route decodes to. */
export const DECODED_TEXT = "the decoded body, ".repeat(400);

export interface E2eEnv {
  pki: TestPki;
  proxy: ProxyHandle;
  dir: string;
  origins: { nodeH2: E2eOrigin; nodeH1: E2eOrigin; bunH2: E2eOrigin; bunH1: E2eOrigin };
  close(): Promise<void>;
}

function originHandle(name: string, port: number, statsPort: number, close: () => void): E2eOrigin {
  const statsUrl = `http://127.0.0.1:${statsPort}/`;
  return {
    name,
    port,
    authority: `localhost:${port}`,
    stats: async () => (await (await fetch(statsUrl)).json()) as OriginStats,
    clear: async () => {
      await fetch(statsUrl, { method: "POST" });
    },
    close,
  };
}

async function nodeOrigin(kind: "h2" | "h1", keyPath: string, certPath: string, dir: string) {
  const child: ChildProcess = spawn("node", [ORIGIN_SCRIPT, "--serve", kind, keyPath, certPath, dir], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0] as string);
    });
    child.once("error", reject);
    child.once("exit", (c) => reject(new Error(`node origin exited ${c}`)));
  });
  const { port, stats } = JSON.parse(line) as { port: number; stats: number };
  return originHandle(`node-${kind}`, port, stats, () => child.kill());
}

export async function startE2e(
  opts: { profile?: string; idleTimeoutMs?: number; headTimeoutMs?: number; responseTimeoutMs?: number } = {},
): Promise<E2eEnv> {
  const pki = await makeTestPki();
  const leaf = await pki.leaf("localhost");
  const dir = mkdtempSync(join(pki.dir, "e2e-"));
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  writeFileSync(keyPath, leaf.keyPem);
  writeFileSync(certPath, leaf.chainPem);
  const text = Buffer.from(DECODED_TEXT);
  writeFileSync(join(dir, "body.txt"), text);
  writeFileSync(join(dir, "body.gzip"), zlib.gzipSync(text));
  writeFileSync(join(dir, "body.br"), zlib.brotliCompressSync(text));
  writeFileSync(join(dir, "body.zstd"), Bun.zstdCompressSync(text));
  const [nodeH2, nodeH1] = await Promise.all([
    nodeOrigin("h2", keyPath, certPath, dir),
    nodeOrigin("h1", keyPath, certPath, dir),
  ]);
  const bun = async (kind: "h2" | "h1") => {
    const o = await startE2eOrigin({ kind, key: leaf.keyPem, cert: leaf.chainPem, dir });
    return originHandle(`bun-${kind}`, o.port, o.statsPort, o.close);
  };
  const [bunH2, bunH1] = await Promise.all([bun("h2"), bun("h1")]);
  const proxy = await startProxy({
    pki,
    engine: new NativeEngine(),
    profiles: new ProfileRegistry(),
    defaultProfile: opts.profile ?? "chrome-143-macos-arm64",
    deps: {
      http: {
        mode: "full",
        keepClient: new Set(),
        maxConcurrentStreams: 100,
        maxRequestHeadBytes: 65_536,
        ...(opts.headTimeoutMs ? { headTimeoutMs: opts.headTimeoutMs } : {}),
        ...(opts.responseTimeoutMs ? { responseTimeoutMs: opts.responseTimeoutMs } : {}),
      },
      ...(opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    },
  });
  const origins = { nodeH2, nodeH1, bunH2, bunH1 };
  return {
    pki,
    proxy,
    dir,
    origins,
    close: async () => {
      try {
        await proxy.stop();
        for (const o of Object.values(origins)) o.close();
      } finally {
        pki.remove(); // `dir` is inside it
      }
    },
  };
}

/** sha256 (hex) of the first n pattern bytes, computed block by block. */
export function patternSha(n: number): string {
  const h = createHash("sha256");
  for (let left = n; left > 0; left -= BLOCK.length)
    h.update(BLOCK.subarray(0, Math.min(left, BLOCK.length)));
  return h.digest("hex");
}

/** Writes n pattern bytes to a file (streamed block by block), for curl uploads. */
export async function patternFile(dir: string, n: number): Promise<string> {
  const path = join(dir, `upload-${n}.bin`);
  const w = Bun.file(path).writer();
  for (let left = n; left > 0; left -= BLOCK.length) w.write(BLOCK.subarray(0, Math.min(left, BLOCK.length)));
  await w.end();
  return path;
}

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs a command; stdout and stderr as text. */
export function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args);
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString("latin1");
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    p.on("close", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** curl through the proxy, trusting the test CA. */
export function curl(env: E2eEnv, args: string[]): Promise<Run> {
  return run("curl", [
    "-sS",
    "-p", // tunnel explicitly, so that the proxy's own 200 is left out of -i output
    "--suppress-connect-headers",
    "--max-time",
    "60",
    "--cacert",
    env.pki.caCertPath,
    "-x",
    proxyUrl(env),
    ...args,
  ]);
}

export function proxyUrl(env: E2eEnv): string {
  return `http://127.0.0.1:${env.proxy.port}`;
}

/** curl through the proxy with its stdout hashed by sha256sum (never held by the test). */
export async function curlSha(
  env: E2eEnv,
  args: string[],
): Promise<{ sha: string; err: string; code: number }> {
  const quoted = [
    "curl",
    "-sS",
    "--max-time",
    "60",
    "--cacert",
    env.pki.caCertPath,
    "-x",
    proxyUrl(env),
    ...args,
  ]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(" ");
  const r = await run("bash", ["-o", "pipefail", "-c", `${quoted} | sha256sum`]);
  return { sha: r.out.split(" ")[0] ?? "", err: r.err, code: r.code };
}

/** A Bun node:http2 client session through the proxy to `origin`. */
export async function h2Client(env: E2eEnv, origin: E2eOrigin): Promise<http2.ClientHttp2Session> {
  const ca = await Bun.file(env.pki.caCertPath).text();
  const t = await tlsThroughProxy(env.proxy.port, origin.authority, {
    ca,
    servername: "localhost",
    alpn: ["h2"],
  });
  const session = http2.connect(`https://${origin.authority}`, { createConnection: () => t });
  session.on("error", () => {});
  return session;
}

/** One request on an h2 session; the body as a Buffer (small bodies only), plus headers and trailers. */
export function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Uint8Array,
): Promise<{
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
  error: Error | null;
  rstCode: number;
}> {
  return new Promise((resolve) => {
    const req = session.request(headers, { endStream: body === undefined });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let error: Error | null = null;
    req.on("response", (h) => {
      head = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", (e) => {
      error = e;
    });
    req.on("close", () =>
      resolve({ headers: head, body: Buffer.concat(chunks), trailers, error, rstCode: req.rstCode ?? 0 }),
    );
    if (body !== undefined) req.end(body);
  });
}
