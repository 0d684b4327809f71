/**
 * Starts test/helpers/cancel-origin.mjs under Node (an HTTP/2 or HTTP/1.1-only origin that is not
 * ours) with a leaf for `localhost` from the test CA, and collects the events it prints.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestPki } from "./tls-env.ts";

const SCRIPT = join(import.meta.dir, "cancel-origin.mjs");

export interface OriginEvent {
  ev: "req" | "close" | "conn-close" | "session";
  path?: string;
  conn?: number;
  rst?: number;
  sent?: number;
  id?: number;
}

export interface CancelOrigin {
  /** `localhost:PORT`, for CONNECT and Host. */
  authority: string;
  events: OriginEvent[];
  child: ChildProcess;
  close(): void;
}

export async function startCancelOrigin(
  pki: TestPki,
  kind: "h2" | "h1",
  maxConcurrentStreams?: number,
): Promise<CancelOrigin> {
  const leaf = await pki.leaf("localhost");
  const keyPath = join(pki.dir, "cancel-origin-key.pem");
  const certPath = join(pki.dir, "cancel-origin-cert.pem");
  writeFileSync(keyPath, leaf.keyPem);
  writeFileSync(certPath, leaf.chainPem);
  const args = [
    SCRIPT,
    kind,
    keyPath,
    certPath,
    ...(maxConcurrentStreams ? [String(maxConcurrentStreams)] : []),
  ];
  const child = spawn("node", args, { stdio: ["ignore", "pipe", "inherit"] });
  const events: OriginEvent[] = [];
  let rest = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      const lines = (rest + d.toString()).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        const o = JSON.parse(line) as OriginEvent & { port?: number };
        if (o.port !== undefined) resolve(o.port);
        else events.push(o);
      }
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`origin exited ${code} before listening`)));
  });
  return { authority: `localhost:${port}`, events, child, close: () => child.kill() };
}
