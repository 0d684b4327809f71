/**
 * Test fixtures: a CA made at test time, leaves for loopback names, and in-process origins on
 * 127.0.0.1:0 (TLS with a chosen ALPN set, answering a tiny HTTP/1.1 exchange).
 */
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { type Leaf, LeafMinter } from "../../src/pki/leaf.ts";
import { loadOrCreateRootCa, type RootCa } from "../../src/pki/root-ca.ts";
import { removeTempTree } from "./temp-tree.ts";

export interface TestPki {
  dir: string;
  ca: RootCa;
  caCertPath: string;
  caKeyPath: string;
  minter: LeafMinter;
  leaf(host: string): Promise<Leaf>;
  /**
   * Deletes `dir` and everything in it (the CA's private key, and what callers put there). Call it
   * in the test file's `afterAll` (or the owning helper's close()): nothing else removes the dir.
   * Never throws (see helpers/temp-tree.ts).
   */
  remove(): void;
}

export async function makeTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), "polytls-test-"));
  const remove = () => removeTempTree(dir);
  const caCertPath = join(dir, "certificate.pem");
  const caKeyPath = join(dir, "private.key");
  try {
    const { ca } = await loadOrCreateRootCa({ keyPath: caKeyPath, certPath: caCertPath });
    const minter = await LeafMinter.create(ca);
    return { dir, ca, caCertPath, caKeyPath, minter, leaf: (h) => minter.mint(h, new Date()), remove };
  } catch (e) {
    remove(); // the caller never gets the handle that would remove it
    throw e;
  }
}

export interface Origin {
  port: number;
  server: tls.Server;
  /** ALPN each accepted connection negotiated, and whether its session was resumed. */
  accepted: { alpn: string | false; resumed: boolean; servername: string | false }[];
  close(): Promise<void>;
}

/**
 * A TLS origin answering every request with `HTTP/1.1 200` and a body "hello <path>" (or a
 * custom handler on the plaintext socket).
 */
export async function startTlsOrigin(
  leaf: Leaf,
  opts: { alpn?: string[]; handler?: (s: tls.TLSSocket) => void } = {},
): Promise<Origin> {
  const accepted: Origin["accepted"] = [];
  const server = tls.createServer(
    { key: leaf.keyPem, cert: leaf.chainPem, ALPNProtocols: opts.alpn ?? ["http/1.1"] },
    (s) => {
      accepted.push({
        alpn: s.alpnProtocol ?? false,
        resumed: s.isSessionReused(),
        servername: s.servername ?? false,
      });
      if (opts.handler) return opts.handler(s);
      let buf = "";
      s.on("data", (d: Buffer) => {
        buf += d.toString("latin1");
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const path = buf.split(" ")[1] ?? "/";
        buf = buf.slice(end + 4);
        const body = `hello ${path}`;
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`);
      });
      s.on("error", () => {});
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    accepted,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
