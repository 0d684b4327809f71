/**
 * Planted credentials driven through running proxies never reach a log line or an error response:
 * userinfo CONNECT targets, wrong and right Basic credentials, a Bearer token, and credentials in
 * 400 / 431 requests; in MITM and passthrough, at every log level, in text and JSON. Then the same
 * through `polytls run` (the CLI entry as a child process), and a credential in a config value.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import * as tls from "node:tls";
import { createLogger, LOG_LEVELS, type LogFormat } from "../src/log/logger.ts";
import { accessPolicy } from "../src/proxy/access.ts";
import { NativeEngine } from "../src/upstream/native/native-engine.ts";
import { CLI_MAIN, killAll, listenPort, makeSandbox, RunningChild, runToEnd } from "./helpers/exe-process.ts";
import { connectRequest, httpGet, rawConnect, startProxy, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { fixedProfiles, TEST_SPEC } from "./helpers/spec.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";

const TEST_TIMEOUT_MS = 60_000; // ms; 16 proxies, ~10 connections each, on a shared CI machine
setDefaultTimeout(TEST_TIMEOUT_MS);

const SECRET = `Pl4nted-${randomBytes(8).toString("hex")}`; // alice's real password
const WRONG = `Wr0ng-${randomBytes(8).toString("hex")}`; // a wrong password a client tries
const TOKEN = `T0ken-${randomBytes(8).toString("hex")}`; // a bearer token a client tries
const b64 = (s: string) => Buffer.from(s).toString("base64");
const RIGHT_AUTH = `Basic ${b64(`alice:${SECRET}`)}`;
const FORBIDDEN = [SECRET, WRONG, TOKEN, b64(`alice:${SECRET}`), b64(`alice:${WRONG}`), b64(SECRET)];

let pki: TestPki;
let engine: NativeEngine;
let origin: Origin;
const sandbox = makeSandbox("polytls-secrets-");
const profiles = fixedProfiles([TEST_SPEC]);

beforeAll(async () => {
  pki = await makeTestPki();
  engine = new NativeEngine();
  origin = await startTlsOrigin(await pki.leaf("localhost"));
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await killAll();
  await origin.close();
  rmSync(sandbox.root, { recursive: true, force: true });
});

function expectClean(what: string, texts: string[]): void {
  for (const text of texts) {
    for (const f of FORBIDDEN) expect(text.includes(f), `${what}: ${JSON.stringify(text)}`).toBe(false);
  }
}

/** Sends `request` and resolves with everything the proxy answers until it closes the connection. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let text = "";
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    socket.on("error", () => {}); // a 431 may reset while the rest is still being written
    socket.on("close", () => resolve(text));
    socket.write(request);
  });
}

/** Every refused request, with the status it must get. */
function refusals(target: string): [number, string][] {
  const pad = "a".repeat(17 * 1024); // over the default 16 KiB head limit (431)
  return [
    [400, connectRequest(`alice:${SECRET}@${target}`)],
    [400, `CONNECT http://alice:${SECRET}@${target}/ HTTP/1.1\r\nHost: ${target}\r\n\r\n`],
    [400, connectRequest(`alice:${SECRET}@${"a".repeat(400)}.test:443`)],
    [400, `GET http://alice:${SECRET}@${target}/ HTTP/1.1\r\nHost: ${target}\r\n\r\n`],
    [407, connectRequest(target, { "Proxy-Authorization": `Basic ${b64(`alice:${WRONG}`)}` })],
    [407, connectRequest(target, { "Proxy-Authorization": `Bearer ${TOKEN}` })],
    [407, connectRequest(target)],
    [431, connectRequest(target, { "Proxy-Authorization": RIGHT_AUTH, "X-Pad": pad })],
    [400, `CONNECT ${target} HTTP/1.1\r\nProxy-Authorization: ${RIGHT_AUTH}\r\nBad Header : x\r\n\r\n`],
    [
      400,
      `CONNECT ${target} HTTP/1.1\r\nProxy-Authorization: ${RIGHT_AUTH}\r\nProxy-Authorization: Basic ${b64(`alice:${WRONG}`)}\r\n\r\n`,
    ],
  ];
}

/** A good tunnel with the right credentials; returns the origin's answer. */
async function goodTunnel(
  port: number,
  mode: "mitm" | "passthrough",
  target: string,
  ca = pki.ca.certPem,
): Promise<string> {
  const headers = { "Proxy-Authorization": RIGHT_AUTH };
  let t: tls.TLSSocket;
  if (mode === "mitm") {
    t = await tlsThroughProxy(port, target, { ca, servername: "localhost", headers });
  } else {
    const { socket, status } = await rawConnect(port, connectRequest(target, headers));
    expect(status).toBe(200);
    t = tls.connect({ socket, servername: "localhost", ca: pki.ca.certPem });
    await new Promise<void>((r, j) => {
      t.once("secureConnect", r);
      t.once("error", j);
    });
  }
  const answer = await httpGet(t, "localhost");
  t.destroy();
  return answer;
}

describe("running proxy", () => {
  test("no planted credential in any log line or error response: every mode, level and format", async () => {
    const target = `localhost:${origin.port}`;
    for (const mode of ["mitm", "passthrough"] as const) {
      for (const format of ["text", "json"] as LogFormat[]) {
        for (const level of LOG_LEVELS) {
          const lines: string[] = [];
          const what = `${mode} ${format} ${level}`;
          const proxy = await startProxy({
            pki,
            engine,
            profiles,
            defaultProfile: TEST_SPEC.name,
            mode,
            access: accessPolicy([`alice:${SECRET}`], []),
            deps: { logger: createLogger({ level, format, sink: (l) => lines.push(l) }) },
          });
          const responses: string[] = [];
          for (const [status, request] of refusals(target)) {
            const response = await exchange(proxy.port, request);
            expect(response.split(" ")[1], `${what}: ${request.slice(0, 80)}`).toBe(String(status));
            responses.push(response);
          }
          expect(await goodTunnel(proxy.port, mode, target)).toContain("hello /");
          await proxy.stop();
          expectClean(`${what} log`, lines);
          expectClean(`${what} response`, responses);
          // The lines that could carry a credential were written (so this test can fail).
          if (level === "debug" || level === "info") {
            expect(
              lines.some((l) => l.includes("BAD_AUTHORITY") && l.includes("userinfo")),
              what,
            ).toBe(true);
            expect(
              lines.some((l) => l.includes("PROXY_AUTH_REQUIRED")),
              what,
            ).toBe(true);
          }
        }
      }
    }
  });
});

describe("polytls run", () => {
  test("no planted credential in the log of the CLI proxy (debug, JSON)", async () => {
    {
      const cwd = mkdtempSync(join(sandbox.root, "cwd-"));
      writeFileSync(join(cwd, "polytls.toml"), `[proxy.auth]\nusers = ["alice:${SECRET}"]\n`);
      const proxy = new RunningChild(
        [
          process.execPath,
          CLI_MAIN,
          "run",
          "--config",
          "polytls.toml",
          "--listen",
          "127.0.0.1:0",
          "--log-level",
          "debug",
          "--log-format",
          "json",
          "--upstream-ca-file",
          pki.caCertPath,
        ],
        { cwd, env: sandbox.env },
      );
      const port = listenPort(await proxy.waitForLog("proxy listening"));
      const target = `localhost:${origin.port}`;
      for (const [, request] of refusals(target)) await exchange(port, request);
      const ca = readFileSync(join(cwd, "ca/certificate.pem"), "utf8"); // the proxy made its own CA
      expect(await goodTunnel(port, "mitm", target, ca)).toContain("hello /");
      proxy.signal("SIGINT");
      expect(await proxy.waitForExit(10_000)).toBe(0);
      expect(proxy.stderr).toContain("userinfo");
      expectClean("run", [proxy.stderr, proxy.stdout]);
    }
  });

  test("a credential in a URL-like config value is not echoed in the start-up error", async () => {
    const cwd = mkdtempSync(join(sandbox.root, "cwd-"));
    const r = await runToEnd(
      [
        process.execPath,
        CLI_MAIN,
        "run",
        "--check",
        "--upstream-ca-file",
        `https://alice:${SECRET}@ca.test/ca.pem`,
      ],
      { cwd, env: sandbox.env },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ca.test/ca.pem");
    expectClean("run --check", [r.stderr, r.stdoutText]);
  });
});
