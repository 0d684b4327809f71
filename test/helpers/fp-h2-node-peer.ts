/**
 * Runs test/helpers/fp-h2-node-origin.mjs (Node's http2, nghttp2, over TLS) as a child process
 * with a leaf from a CA made at test time, and collects the requests it reports.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LeafMinter } from "../../src/pki/leaf.ts";
import { generateRootCa } from "../../src/pki/root-ca.ts";

export interface NodeSeenRequest {
  alpn: string | null;
  /** nghttp2 stream flags of the request. */
  flags: number;
  /** The request's fields (pseudo-headers included) in wire order. */
  headers: [string, string][];
}

export interface NodeTlsH2Origin {
  readonly port: number;
  /** Resolves with the n-th request (0-based) the origin reported. */
  request(n: number): Promise<NodeSeenRequest>;
  stop(): Promise<void>;
}

export async function startNodeTlsH2Origin(host: string): Promise<NodeTlsH2Origin> {
  const dir = mkdtempSync(join(tmpdir(), "polytls-fp-h2-"));
  const { ca } = await generateRootCa(new Date());
  const leaf = await (await LeafMinter.create(ca)).mint(host, new Date());
  writeFileSync(join(dir, "key.pem"), leaf.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, "cert.pem"), leaf.chainPem);
  const child: ChildProcess = spawn(
    "node",
    [join(import.meta.dir, "fp-h2-node-origin.mjs"), join(dir, "key.pem"), join(dir, "cert.pem")],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const seen: NodeSeenRequest[] = [];
  const waiters: { n: number; resolve(r: NodeSeenRequest): void }[] = [];
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`node TLS h2 origin exited with ${code}`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      let nl = out.indexOf("\n");
      while (nl >= 0) {
        const line = JSON.parse(out.slice(0, nl)) as { port?: number } & NodeSeenRequest;
        out = out.slice(nl + 1);
        nl = out.indexOf("\n");
        if (line.port !== undefined) {
          resolve(line.port);
          continue;
        }
        seen.push(line);
        for (const w of waiters.filter((w) => w.n < seen.length)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(seen[w.n] as NodeSeenRequest);
        }
      }
    });
  });
  return {
    port,
    request(n) {
      const r = seen[n];
      if (r) return Promise.resolve(r);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once("exit", done);
        child.stdin?.end();
      }),
  };
}
