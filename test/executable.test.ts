/**
 * The compiled executable (dist/polytls from `make build`) copied alone into an empty folder: it must
 * carry its native library and built-in profiles, create its CA there, proxy MITM tunnels with each
 * built-in profile, stop cleanly on signals and refuse bad configs and corrupt CA files. A missing
 * executable fails every test ("run make build first"); nothing here is skipped.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import type { TLSSocket } from "node:tls";
import { BUILTIN_PROFILES, DEFAULT_PROFILE } from "../src/profiles/builtin.ts";
import {
  ExeFolders,
  killAll,
  listenPort,
  makeSandbox,
  RunningChild,
  runToEnd,
} from "./helpers/exe-process.ts";
import { httpGet, tlsThroughProxy } from "./helpers/proxy-env.ts";
import { makeTestPki, type Origin, startTlsOrigin, type TestPki } from "./helpers/tls-env.ts";

/** Bound on exit after SIGINT/SIGTERM with a tunnel held open: the 5 s drain plus margin, in ms. */
const SHUTDOWN_BOUND_MS = 8_000; // ms; DRAIN_TIMEOUT_MS (src/cli/serve.ts) is 5000
/** Per-test bound (bun's default is 5 s; the held-open tunnel alone waits out the 5 s drain), in ms. */
const TEST_TIMEOUT_MS = 30_000; // ms
setDefaultTimeout(TEST_TIMEOUT_MS);
/** A uid that is neither root nor the test user: the owner of a folder planted by another user. */
const NOBODY_UID = 65534;
/** Bound on exit after a signal with nothing open, in ms. */
const IDLE_SHUTDOWN_BOUND_MS = 5_000; // ms; nothing to drain, exits at once in practice

let pki: TestPki;
let origin: Origin;
let env: Record<string, string>;
let sandboxRoot: string;
let folders: ExeFolders;

beforeAll(async () => {
  pki = await makeTestPki();
  origin = await startTlsOrigin(await pki.leaf("localhost"));
  ({ root: sandboxRoot, env } = makeSandbox());
  folders = new ExeFolders(sandboxRoot);
});
afterAll(() => pki?.remove());

afterAll(async () => {
  await killAll();
  await origin?.close();
  if (sandboxRoot !== undefined) rmSync(sandboxRoot, { recursive: true, force: true });
});

function startRun(dir: string, exe: string, extra: string[] = []): RunningChild {
  return new RunningChild(
    [
      exe,
      "run",
      "--listen",
      "127.0.0.1:0",
      "--upstream-ca-file",
      pki.caCertPath,
      "--log-format",
      "json",
      ...extra,
    ],
    { cwd: dir, env },
  );
}

/** MITM through the proxy with the CA it made: TLS verified against ./ca/certificate.pem. */
async function mitm(port: number, ca: string, profile?: string): Promise<TLSSocket> {
  return tlsThroughProxy(port, `localhost:${origin.port}`, {
    ca,
    servername: "localhost",
    ...(profile === undefined ? {} : { headers: { "X-PolyTLS-Upstream-Profile": profile } }),
  });
}

describe("standalone executable", () => {
  test("--version prints polytls, BoringSSL and Bun lines", async () => {
    const [dir, exe] = folders.create();
    const r = await runToEnd([exe, "--version"], { cwd: dir, env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdoutText.trim().split("\n");
    expect(lines[0]).toMatch(/^polytls \d+\.\d+\.\d+/);
    expect(lines[1]).toMatch(/^BoringSSL: /);
    expect(lines[1]).not.toContain("unavailable");
    expect(lines[2]).toBe(`Bun: ${Bun.version}`);
    // The embedded native library was extracted under XDG_CACHE_HOME, not next to the executable.
    expect(existsSync(join(env.XDG_CACHE_HOME ?? "", "polytls"))).toBe(true);
  });

  test("a same-length library planted in another user's shared $TMPDIR/polytls-<uid> is never loaded", async () => {
    // The attack: the cache folder cannot be made (here its parent is a regular file, as a read-only
    // home would refuse it), so the shared temp folder is next, and another user made it first.
    const [dir, exe] = folders.create();
    const notAFolder = join(dir, "cache-file");
    writeFileSync(notAFolder, "");
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    chmodSync(tmp, 0o1777);
    const shared = join(tmp, `polytls-${process.geteuid?.()}`);
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const lib = readFileSync(resolve(import.meta.dir, "../ffi/target/release/libpolyboring.embed"));
    const file = process.platform === "darwin" ? "libpolyboring.dylib" : "libpolyboring.so";
    const name = `${createHash("sha256").update(lib).digest("hex").slice(0, 16)}-${file}`;
    const planted = Buffer.alloc(lib.length, 0x90); // not a library: loading it would fail
    writeFileSync(join(shared, name), planted, { mode: 0o755 });
    chownSync(shared, NOBODY_UID, -1);
    chownSync(join(shared, name), NOBODY_UID, -1);

    const r = await runToEnd([exe, "--version"], {
      cwd: dir,
      env: { ...env, XDG_CACHE_HOME: notAFolder, TMPDIR: tmp },
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdoutText.split("\n")[1]).toMatch(/^BoringSSL: btls-sys/);
    expect(readFileSync(join(shared, name)).equals(planted)).toBe(true);
    // The fresh private folder that held the copy was removed once the library was loaded.
    expect(readdirSync(tmp)).toEqual([`polytls-${process.geteuid?.()}`]);
  });

  test("run creates ./ca, MITMs with every built-in profile, logs each tunnel, stops on SIGINT", async () => {
    const [dir, exe] = folders.create();
    const proxy = startRun(dir, exe);
    const listening = await proxy.waitForLog("proxy listening");
    expect(listening.caCreated).toBe(true);
    expect(listening.ca).toBe(resolve(dir, "ca/certificate.pem"));
    const keyPath = join(dir, "ca/private.key");
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const ca = readFileSync(join(dir, "ca/certificate.pem"), "utf8");
    expect(ca).toContain("-----BEGIN CERTIFICATE-----");
    const port = listenPort(listening);

    expect(BUILTIN_PROFILES.length).toBeGreaterThanOrEqual(3);
    for (const { name } of BUILTIN_PROFILES) {
      const t = await mitm(port, ca, name);
      const request = `GET /${name} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
      const response = await httpGet(t, "localhost", `/${name}`);
      expect(response).toStartWith("HTTP/1.1 200 OK");
      expect(response).toEndWith(`hello /${name}`);
      t.end();
      const rec = await proxy.waitForLog("tunnel closed", (r) => r.profile === name);
      expect(rec).toMatchObject({
        level: "info",
        host: `localhost:${origin.port}`,
        mode: "mitm",
        clientAlpn: "http/1.1",
        upstreamAlpn: "http/1.1",
        bytesUp: Buffer.byteLength(request),
        bytesDown: Buffer.byteLength(response, "latin1"),
        errorCode: null,
      });
      expect(rec.upstreamVersion).toMatch(/^TLSv1\.[23]$/);
      expect(rec.upstreamCipher).toMatch(/^TLS_/);
    }
    // Without the header the default profile is used.
    const t = await mitm(port, ca);
    const plain = `GET /default HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    expect(await httpGet(t, "localhost", "/default")).toEndWith("hello /default");
    t.end();
    const def = await proxy.waitForLog(
      "tunnel closed",
      (r) => r.profile === DEFAULT_PROFILE && r.bytesUp === Buffer.byteLength(plain),
    );
    expect(def.errorCode).toBeNull();

    proxy.signal("SIGINT");
    expect(await proxy.waitForExit(IDLE_SHUTDOWN_BOUND_MS)).toBe(0);
    expect(proxy.logs().map((r) => r.msg)).toContain("stopped");
    expect(await proxy.waitForLog("shutting down")).toMatchObject({ signal: "SIGINT" });
  });

  test("a second start reuses the same CA; SIGTERM exits 0", async () => {
    const [dir, exe] = folders.create();
    const first = startRun(dir, exe);
    expect((await first.waitForLog("proxy listening")).caCreated).toBe(true);
    first.signal("SIGTERM");
    expect(await first.waitForExit(IDLE_SHUTDOWN_BOUND_MS)).toBe(0);
    const cert = readFileSync(join(dir, "ca/certificate.pem"));
    const key = readFileSync(join(dir, "ca/private.key"));

    const second = startRun(dir, exe);
    const listening = await second.waitForLog("proxy listening");
    expect(listening.caCreated).toBe(false);
    // The reused CA really signs the leaves: a client trusting the saved certificate connects.
    const t = await mitm(listenPort(listening), cert.toString("utf8"));
    await httpGet(t, "localhost", "/again");
    t.end();
    await second.waitForLog("tunnel closed");
    second.signal("SIGTERM");
    expect(await second.waitForExit(IDLE_SHUTDOWN_BOUND_MS)).toBe(0);
    expect(await second.waitForLog("shutting down")).toMatchObject({ signal: "SIGTERM" });
    await second.waitForLog("stopped");
    expect(readFileSync(join(dir, "ca/certificate.pem")).equals(cert)).toBe(true);
    expect(readFileSync(join(dir, "ca/private.key")).equals(key)).toBe(true);
  });

  test("SIGTERM with an idle tunnel held open: exits 0 within the drain bound", async () => {
    const [dir, exe] = folders.create();
    const proxy = startRun(dir, exe);
    const listening = await proxy.waitForLog("proxy listening");
    const ca = readFileSync(join(dir, "ca/certificate.pem"), "utf8");
    const t = await mitm(listenPort(listening), ca);
    const clientClosed = new Promise<void>((r) => t.once("close", () => r()));
    t.on("error", () => {});
    // CONNECT done and TLS established on both sides; the tunnel now sits idle.
    proxy.signal("SIGTERM");
    const shutting = await proxy.waitForLog("shutting down");
    expect(shutting).toMatchObject({ signal: "SIGTERM", open: 1 });
    expect(await proxy.waitForExit(SHUTDOWN_BOUND_MS)).toBe(0);
    expect(await proxy.waitForLog("stopped")).toMatchObject({ closedOpenTunnels: 1 });
    await clientClosed;
  });
});

describe("configuration errors (executable)", () => {
  let folder: [string, string] | undefined;

  /** One folder for this block's commands: they only read their config files. */
  function exeFolder(): [string, string] {
    folder ??= folders.create();
    return folder;
  }

  async function check(toml: string | null, name = "polytls.toml") {
    const [dir, exe] = exeFolder();
    const args = [exe, "run", "--check"];
    if (toml !== null) {
      writeFileSync(join(dir, name), toml);
      args.push("--config", name);
    }
    return runToEnd(args, { cwd: dir, env });
  }

  test("unknown key: exit non-zero naming proxy.upstream.bogus", async () => {
    const r = await check("[proxy.upstream]\nbogus = 1\n");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("CONFIG_INVALID");
    expect(r.stderr).toContain("proxy.upstream.bogus: unknown key");
  });

  test("wrong type: exit non-zero naming proxy.listen.address", async () => {
    const r = await check('[proxy.listen]\naddress = 8080\n[log]\nlevel = "info"\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("proxy.listen.address: expected a string");
  });

  test('bad profile group: exit non-zero naming profiles."x".groups', async () => {
    const r = await check('[profiles."x"]\ngroups = ["nope"]\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('profiles."x".groups[0]');
    expect(r.stderr).toContain("nope");
  });

  test("a good config and config/example.toml pass run --check", async () => {
    const good = await check(
      '[proxy.listen]\naddress = "127.0.0.1:0"\n[log]\nformat = "json"\n',
      "good.toml",
    );
    expect(good.stderr).toBe("");
    expect(good.code).toBe(0);
    expect(good.stdoutText).toContain("configuration OK");
    const example = resolve(import.meta.dir, "../config/example.toml");
    const [dir, exe] = exeFolder();
    const r = await runToEnd([exe, "run", "--check", "--config", example], { cwd: dir, env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdoutText).toContain(example);
  });
});

describe("corrupt CA files", () => {
  async function corruptCase(which: "certificate.pem" | "private.key") {
    const [dir, exe] = folders.create();
    mkdirSync(join(dir, "ca"));
    const good = {
      "certificate.pem": readFileSync(pki.caCertPath),
      "private.key": readFileSync(pki.caKeyPath),
    };
    const files = { ...good, [which]: Buffer.from("-----BEGIN GARBAGE-----\nnot a pem\n") };
    // Mode 0600: a key other users could read is refused before its content is even looked at.
    for (const [name, data] of Object.entries(files))
      writeFileSync(join(dir, "ca", name), data, { mode: 0o600 });
    const proxy = startRun(dir, exe);
    const code = await proxy.waitForExit(10_000);
    expect(code).not.toBe(0);
    expect(proxy.stderr).toContain("CA_INVALID");
    expect(proxy.stderr).toContain(join(dir, "ca", which));
    expect(proxy.logs().map((r) => r.msg)).not.toContain("proxy listening");
    for (const [name, data] of Object.entries(files)) {
      expect(readFileSync(join(dir, "ca", name)).equals(data)).toBe(true);
    }
  }

  test("a corrupt certificate.pem: run exits non-zero naming it and leaves both files unchanged", async () => {
    await corruptCase("certificate.pem");
  });

  test("a corrupt private.key: run exits non-zero naming it and leaves both files unchanged", async () => {
    await corruptCase("private.key");
  });
});
