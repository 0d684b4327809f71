/**
 * Spawns test/helpers/openssl-origin.mjs under a real Node.js (OpenSSL 3), the kind of TLS stack
 * that aborts a ClientHello breaking RFC 8446 where BoringSSL is lenient (tests only).
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Leaf } from "../../src/pki/leaf.ts";

export interface OpensslEvent {
  event: "listening" | "conn" | "error" | "rotated";
  port?: number;
  resumed?: boolean;
  version?: string;
  message?: string;
}

export interface OpensslOrigin {
  port: number;
  /** Completed handshakes, in order: whether each resumed a session. */
  conns: { resumed: boolean; version: string }[];
  /** Handshakes the server aborted, with OpenSSL's reason. */
  errors: string[];
  /** New ticket keys: every ticket issued so far is refused (a full handshake follows). */
  rotateTicketKeys(): Promise<void>;
  close(): Promise<void>;
}

const SCRIPT = new URL("./openssl-origin.mjs", import.meta.url).pathname;

/** The OpenSSL version of the `node` on PATH, or throws: these tests need a real OpenSSL. */
export function nodeOpensslVersion(): string {
  const out = Bun.spawnSync(["node", "-p", "process.versions.openssl"]);
  if (out.exitCode !== 0) throw new Error("`node` (Node.js with OpenSSL) is needed for these tests");
  return out.stdout.toString().trim();
}

/** `maxVersion`: the highest TLS version the origin speaks (e.g. "TLSv1.2"); default TLS 1.3. */
export async function startOpensslOrigin(
  leaf: Leaf,
  opts: { maxVersion?: "TLSv1.2" | "TLSv1.3" } = {},
): Promise<OpensslOrigin> {
  const arg = { keyPem: leaf.keyPem, certPem: leaf.chainPem, ...opts };
  const child = spawn("node", [SCRIPT, JSON.stringify(arg)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const conns: OpensslOrigin["conns"] = [];
  const errors: string[] = [];
  const waiters: ((e: OpensslEvent) => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    const e = JSON.parse(line) as OpensslEvent;
    if (e.event === "conn") conns.push({ resumed: e.resumed === true, version: e.version ?? "" });
    if (e.event === "error") errors.push(e.message ?? "");
    for (const w of waiters.splice(0)) w(e);
  });
  const next = (event: OpensslEvent["event"]): Promise<OpensslEvent> =>
    new Promise((resolve, reject) => {
      const wait = (e: OpensslEvent) => (e.event === event ? resolve(e) : waiters.push(wait));
      waiters.push(wait);
      child.once("exit", (code) => reject(new Error(`openssl origin exited (${code})`)));
    });
  const listening = await next("listening");
  return {
    port: listening.port ?? 0,
    conns,
    errors,
    async rotateTicketKeys() {
      const done = next("rotated");
      child.stdin.write("rotate\n");
      await done;
    },
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin.end();
      }),
  };
}
