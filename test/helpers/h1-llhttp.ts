/**
 * Cross-check harness: a real Node (`node` on PATH, v20) running test/helpers/h1-llhttp-child.mjs,
 * i.e. llhttp in strict mode, an HTTP/1.1 parser that is not ours.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";

const CHILD = path.join(import.meta.dir, "h1-llhttp-child.mjs");
const ANSWER_TIMEOUT_MS = 5000; // ms; a verdict comes in a few ms, this only bounds a hung row

export interface NodeServer {
  port: number;
  close(): void;
}

export function startNodeServer(): Promise<NodeServer> {
  const child: ChildProcess = spawn("node", [CHILD, "server"], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`node server exited early (${code})`)));
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString("latin1");
      const m = /PORT (\d+)\n/.exec(out);
      if (m) resolve({ port: Number(m[1]), close: () => child.kill() });
    });
  });
}

/**
 * Sends `raw` on a fresh connection; "ok" if the final answer is 200, "refused" if it is 4xx / 5xx
 * or the server closes without a status, "no-answer" if nothing comes within the bound.
 */
export function askNode(port: number, raw: Uint8Array): Promise<"ok" | "refused" | "no-answer"> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = "";
    let settled = false;
    const finish = (v: "ok" | "refused" | "no-answer") => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const verdict = () => {
      for (const m of got.matchAll(/HTTP\/1\.[01] (\d{3})/g)) {
        const status = Number(m[1]);
        if (status >= 200) return status === 200 ? "ok" : "refused";
      }
      return null;
    };
    const timer = setTimeout(() => finish(verdict() ?? "no-answer"), ANSWER_TIMEOUT_MS);
    socket.on("connect", () => socket.write(raw));
    socket.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      const v = verdict();
      if (v !== null) finish(v);
    });
    socket.on("error", () => finish(verdict() ?? "refused"));
    socket.on("close", () => finish(verdict() ?? "refused"));
  });
}

/** Runs the child in `responses` mode: node:http client verdicts for raw responses. */
export function nodeClientVerdicts(cases: readonly { raw: Uint8Array; method: string }[]): Promise<string[]> {
  const child = spawn("node", [CHILD, "responses"], { stdio: ["pipe", "pipe", "inherit"] });
  const payload = JSON.stringify(
    cases.map((c) => ({ raw: Buffer.from(c.raw).toString("base64"), method: c.method })),
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("error", reject);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`node responses child exited with ${code}`));
      else resolve(JSON.parse(out) as string[]);
    });
    child.stdin.end(payload);
  });
}
