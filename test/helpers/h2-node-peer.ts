import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/** A running `node test/helpers/h2-node-server.mjs` (nghttp2) on 127.0.0.1. */
export interface NodeH2Server {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startNodeH2Server(): Promise<NodeH2Server> {
  const child: ChildProcess = spawn("node", [join(import.meta.dir, "h2-node-server.mjs")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`h2 node server exited with ${code}`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin?.end();
      }),
  };
}
