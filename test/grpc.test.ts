/**
 * gRPC through the running proxy in the full HTTP mode, client and server both @grpc/grpc-js
 * under Node 20 (not ours): a unary call with trailing metadata, an error sent the way servers send
 * errors (Trailers-Only: one HEADERS frame with END_STREAM; it used to reach the client as HEADERS
 * plus an empty DATA frame, which gRPC clients report as UNKNOWN), and a server stream whose
 * messages arrive as they are sent. With the Chrome profile, whose browser sends no `te`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { type E2eEnv, startE2e } from "./helpers/e2e-env.ts";

const PEER = join(import.meta.dir, "helpers", "grpc-peer.mjs");
let env: E2eEnv;
let server: ChildProcess;
let port: number;

/** The environment for Node children: no proxy variables of the caller's. */
function cleanEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/proxy/i.test(k)) out[k] = v;
  return out;
}

beforeAll(async () => {
  env = await startE2e({ profile: "chrome-143-macos-arm64" });
  server = spawn("node", [PEER, "server", join(env.dir, "key.pem"), join(env.dir, "cert.pem")], {
    stdio: ["ignore", "pipe", "inherit"],
    env: cleanEnv(),
  });
  port = await new Promise<number>((resolve, reject) => {
    let out = "";
    server.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve((JSON.parse(out.split("\n")[0] as string) as { port: number }).port);
    });
    server.once("exit", (c) => reject(new Error(`grpc server exited ${c}`)));
  });
});
afterAll(async () => {
  server?.kill();
  await env?.close();
});

function client(): Promise<Record<string, Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      "node",
      [PEER, "client", String(env.proxy.port), `localhost:${port}`, env.pki.caCertPath],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: cleanEnv(),
      },
    );
    let out = "";
    c.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    c.once("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`grpc client exited ${code}`)),
    );
  });
}

test("unary, a Trailers-Only error and a server stream reach a gRPC client as the server sent them", async () => {
  const r = await client();
  expect(r.unary).toEqual({ code: 0, details: "", body: "echo:hi", detail: "fine" });
  expect(r.deny).toEqual({ code: 7, details: "nope", body: null, detail: "oops" }); // PERMISSION_DENIED
  expect(r.stream?.code).toBe(0);
  expect(r.stream?.got).toEqual(["m0", "m1", "m2"]);
  expect(r.stream?.minGap as number).toBeGreaterThan(100); // each message as it was sent, not at the end
  // Every call went through the proxy's tunnel to the server.
  const tunnels = env.proxy.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((rec) => rec.msg === "tunnel closed" && rec.host === `localhost:${port}`);
  expect(tunnels.length).toBeGreaterThanOrEqual(1);
}, 30_000);
