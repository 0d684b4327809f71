/**
 * Origins that announce tighter HTTP/2 limits than the defaults and enforce them from their first
 * frame on (test/helpers/strict-h2-origin.*: at most 2 streams, a 1000-byte stream window), under
 * Go's standard library and Node's nghttp2, through the proxy in the HTTP mode. The origin's
 * SETTINGS are read before the proxy opens a second stream or sends request DATA (the first
 * request still leaves with the preface, as Chromium's does), so a burst of uploads from one
 * HTTP/2 client and a single upload as a connection's first request all arrive whole. Before,
 * the burst went out under the defaults (100 streams, 65535 bytes): nghttp2 refused every stream
 * over 2 (a 502 for each POST) and Go reset the first upload (FLOW_CONTROL_ERROR).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, run } from "./helpers/fidelity-clients.ts";
import { curlThroughProxy, type ProxyHandle, startHttpModeProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type TestPki } from "./helpers/tls-env.ts";

const HELPERS = join(import.meta.dir, "helpers");
const HAS_GO = Bun.which("go") !== null;

let pki: TestPki;
let proxy: ProxyHandle;
const origins = new Map<string, { port: number; child: ChildProcess }>();

/** Starts an origin process; resolves with the port it prints first. */
function startOrigin(cmd: string, args: string[]): Promise<{ port: number; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: cleanEnv(), stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line !== undefined) resolve({ port: Number(line), child });
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
}

beforeAll(async () => {
  pki = await makeTestPki();
  const leaf = await pki.leaf("localhost");
  const cert = join(pki.dir, "origin-cert.pem");
  const key = join(pki.dir, "origin-key.pem");
  writeFileSync(cert, leaf.chainPem);
  writeFileSync(key, leaf.keyPem);
  origins.set("node", await startOrigin("node", [join(HELPERS, "strict-h2-origin.mjs"), cert, key]));
  if (HAS_GO) {
    const bin = join(pki.dir, "strict-h2-origin");
    const env = cleanEnv({ GOFLAGS: "-mod=mod", GOPROXY: "off", GOTOOLCHAIN: "local" });
    const b = await run("go", ["build", "-o", bin, join(HELPERS, "strict-h2-origin.go")], { env });
    if (b.code !== 0) throw new Error(`go build failed: ${b.err}`);
    origins.set("go", await startOrigin(bin, [cert, key]));
  }
  proxy = await startHttpModeProxy(pki);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  for (const o of origins.values()) {
    o.child.stdin?.end();
    o.child.kill();
  }
  pki?.remove();
});

const answer = (n: number) =>
  `n=${n} sha=${createHash("sha256").update(Buffer.alloc(n, 0x61)).digest("hex")}`;

interface Result {
  path: string;
  status: number;
  body: string;
}

async function batch(port: number, requests: { path: string; uploadBytes?: number }[]): Promise<Result[]> {
  const child = spawn("node", [join(HELPERS, "h2-batch-client.mjs")], { env: cleanEnv() });
  child.stdin.end(
    JSON.stringify({ proxyPort: proxy.port, caPath: pki.caCertPath, host: "localhost", port, requests }),
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await new Promise((resolve) => child.on("close", resolve));
  return JSON.parse(out) as Result[];
}

describe("an origin's own HTTP/2 limits apply from the proxy's second stream and first DATA on", () => {
  for (const name of ["node", "go"]) {
    test.if(name === "node" || HAS_GO)(
      `${name}: 8 uploads and 8 GETs at once from one HTTP/2 client, all whole`,
      async () => {
        const port = (origins.get(name) as { port: number }).port;
        const requests = Array.from({ length: 16 }, (_, i) =>
          i % 2 === 0 ? { path: `/up/${i}`, uploadBytes: 5000 + i } : { path: `/get/${i}` },
        );
        const results = await batch(port, requests);
        expect(results.map((r) => `${r.path} ${r.status} ${r.body}`)).toEqual(
          requests.map((q) => `${q.path} 200 ${answer(q.uploadBytes ?? 0)}`),
        );
      },
      60_000,
    );

    test.if(name === "node" || HAS_GO)(
      `${name}: an HTTP/1.1 client's upload as the connection's first request`,
      async () => {
        const port = (origins.get(name) as { port: number }).port;
        const file = join(pki.dir, "upload.bin");
        writeFileSync(file, Buffer.alloc(300_000, 0x61));
        const r = await curlThroughProxy(proxy.port, pki.caCertPath, [
          "--http1.1",
          "--data-binary",
          `@${file}`,
          `https://localhost:${port}/first`,
        ]);
        expect(r.out).toBe(answer(300_000));
      },
      60_000,
    );
  }
  test("node: a GOAWAY while requests wait for a stream slot: those go on a new connection, uploads too", async () => {
    const port = (origins.get("node") as { port: number }).port;
    const requests = [
      { path: "/goaway/1" },
      ...Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0 ? { path: `/after/up/${i}`, uploadBytes: 3000 + i } : { path: `/after/get/${i}` },
      ),
    ];
    const results = await batch(port, requests);
    expect(results.map((r) => `${r.path} ${r.status} ${r.body}`)).toEqual(
      requests.map((q) => `${q.path} 200 ${answer("uploadBytes" in q ? (q.uploadBytes as number) : 0)}`),
    );
  }, 60_000);
});
