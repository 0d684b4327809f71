/** Extra origins for proxy tests: an h2-capable server and a port that never completes a connect. */
import { spawn } from "node:child_process";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { Leaf } from "../../src/pki/leaf.ts";

export interface H2Origin {
  port: number;
  seen: { alpn: string; path: string }[];
  close(): Promise<void>;
}

/** HTTP/2 (with HTTP/1.1 fallback) origin; answers "<httpVersion> <path>". */
export async function startH2Origin(leaf: Leaf): Promise<H2Origin> {
  const seen: H2Origin["seen"] = [];
  const srv = http2.createSecureServer(
    { key: leaf.keyPem, cert: leaf.chainPem, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] },
    (req, res) => {
      seen.push({ alpn: req.httpVersion, path: req.url });
      res.setHeader("content-type", "text/plain");
      res.end(`${req.httpVersion} ${req.url}`);
    },
  );
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as AddressInfo).port,
    seen,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

/**
 * A loopback port whose accept queue is full (listen backlog 0 plus one parked connection), so
 * a further connect hangs until the caller's timeout — a real connect timeout without leaving
 * loopback. Uses python3 because Bun and Node accept connections automatically.
 */
export async function blackholePort(): Promise<{ port: number; close(): void }> {
  const script = [
    "import socket, sys, time",
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    "filler = socket.create_connection(s.getsockname())",
    "print(s.getsockname()[1], flush=True)",
    "sys.stdin.read()",
  ].join("\n");
  const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    // The port line may arrive in pieces: read up to its newline.
    let text = "";
    const onData = (d: Buffer) => {
      text += d.toString();
      if (!text.includes("\n")) return;
      child.stdout.off("data", onData);
      resolve(Number(text.split("\n")[0]));
    };
    child.stdout.on("data", onData);
    child.once("error", reject);
  });
  return { port, close: () => child.kill() };
}
