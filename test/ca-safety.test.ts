/**
 * The CA files are checked before they are used: a private key readable by group or others, a key
 * owned by another user, a key that is a symlink, a CA folder writable by group or others or owned
 * by another user are all CA_INVALID naming the file and the fix. New files get exact modes
 * whatever the umask. The CA's SHA-256 fingerprint is logged at start-up and printed by `ca`.
 * Tests run as root, which ignores permissions, so modes are checked with statSync, never by reading.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { isProxyError, type ProxyError } from "../src/errors/proxy-error.ts";
import { type CaPaths, createRootCa, loadOrCreateRootCa, loadRootCa } from "../src/pki/root-ca.ts";
import { CLI_MAIN, killAll, makeSandbox, runToEnd, startRunFromSource } from "./helpers/exe-process.ts";

const TEST_TIMEOUT_MS = 20_000; // ms; several child processes per test on a shared CI machine
setDefaultTimeout(TEST_TIMEOUT_MS);
const OTHER_UID = 4242; // an arbitrary uid that is neither root nor the test user

const dirs: string[] = [];
const sandbox = makeSandbox("polytls-ca-safety-");
afterAll(async () => {
  await killAll();
  for (const d of [...dirs, sandbox.root]) rmSync(d, { recursive: true, force: true });
});

/** Paths in a new temp folder; the CA itself goes in `<tmp>/ca/` (not created yet). */
function tempPaths(): CaPaths & { dir: string } {
  const root = mkdtempSync(join(tmpdir(), "polytls-ca-safety-"));
  dirs.push(root);
  const dir = join(root, "ca");
  return { dir, keyPath: join(dir, "private.key"), certPath: join(dir, "certificate.pem") };
}

async function newCa(): Promise<CaPaths & { dir: string }> {
  const paths = tempPaths();
  await loadOrCreateRootCa(paths);
  return paths;
}

async function rejection(p: Promise<unknown>): Promise<ProxyError> {
  try {
    await p;
  } catch (err) {
    if (isProxyError(err)) return err;
    throw err;
  }
  throw new Error("expected a ProxyError");
}

const modeOf = (path: string) => statSync(path).mode & 0o7777;

/** Both loaders refuse the CA with CA_INVALID; the message contains every `parts`; files unchanged. */
async function expectRefused(paths: CaPaths, parts: string[]): Promise<void> {
  const before = [readFileSync(paths.keyPath), readFileSync(paths.certPath)];
  for (const load of [() => loadOrCreateRootCa(paths), () => loadRootCa(paths)]) {
    const err = await rejection(load());
    expect(err.code).toBe("CA_INVALID");
    for (const part of parts) expect(err.message).toContain(part);
  }
  expect(readFileSync(paths.keyPath).equals(before[0] as Buffer)).toBe(true);
  expect(readFileSync(paths.certPath).equals(before[1] as Buffer)).toBe(true);
}

describe("checks on load", () => {
  test("a private key readable or writable by group or others is refused, naming chmod 600", async () => {
    for (const mode of [0o640, 0o644, 0o604, 0o620, 0o602, 0o660, 0o666]) {
      const paths = await newCa();
      chmodSync(paths.keyPath, mode);
      await expectRefused(paths, [paths.keyPath, `chmod 600 ${paths.keyPath}`, mode.toString(8)]);
      expect(modeOf(paths.keyPath)).toBe(mode); // reported, never "fixed" behind the user's back
    }
  });

  test("a CA folder writable by group or others is refused, naming chmod 700", async () => {
    for (const mode of [0o777, 0o775, 0o757, 0o1777, 0o730]) {
      const paths = await newCa();
      chmodSync(paths.dir, mode);
      await expectRefused(paths, [paths.dir, `chmod 700 ${paths.dir}`]);
      expect(modeOf(paths.dir)).toBe(mode);
    }
  });

  test("a CA folder readable by others but not writable (0755, as git checks ca/ out) is accepted", async () => {
    const paths = await newCa();
    chmodSync(paths.dir, 0o755);
    const first = await loadOrCreateRootCa(paths);
    expect(first.created).toBe(false);
    expect((await loadRootCa(paths)).sha256Fingerprint).toBe(first.ca.sha256Fingerprint);
  });

  test("a private key that is a symlink is refused, even to a 0600 key in a 0700 folder", async () => {
    const paths = await newCa();
    const real = join(dirname(paths.dir), "real.key");
    const moved = readFileSync(paths.keyPath);
    rmSync(paths.keyPath);
    // The target is a perfectly safe file: the link itself is the problem.
    await Bun.write(real, moved);
    chmodSync(real, 0o600);
    symlinkSync(real, paths.keyPath);
    await expectRefused(paths, [paths.keyPath, "symbolic link"]);
  });

  test("a certificate that is a symlink is accepted (it is public and must match the key)", async () => {
    const paths = await newCa();
    const real = join(dirname(paths.dir), "real.pem");
    await Bun.write(real, readFileSync(paths.certPath));
    rmSync(paths.certPath);
    symlinkSync(real, paths.certPath);
    const { created } = await loadOrCreateRootCa(paths);
    expect(created).toBe(false);
  });

  test("a key or CA folder owned by another user is refused, naming chown", async () => {
    const keyCase = await newCa();
    chownSync(keyCase.keyPath, OTHER_UID, OTHER_UID);
    await expectRefused(keyCase, [keyCase.keyPath, String(OTHER_UID), "chown"]);

    const dirCase = await newCa();
    chownSync(dirCase.dir, OTHER_UID, OTHER_UID);
    await expectRefused(dirCase, [dirCase.dir, String(OTHER_UID), "chown"]);
  });

  test("an empty CA folder writable by others is refused before anything is created in it", async () => {
    const paths = tempPaths();
    mkdirSync(paths.dir);
    chmodSync(paths.dir, 0o777);
    const err = await rejection(loadOrCreateRootCa(paths));
    expect(err.code).toBe("CA_INVALID");
    expect(err.message).toContain(`chmod 700 ${paths.dir}`);
    expect(readdirSync(paths.dir)).toEqual([]);
    const init = await rejection(createRootCa(paths, { force: false }));
    expect(init.code).toBe("CA_INVALID");
    expect(readdirSync(paths.dir)).toEqual([]);
  });
});

describe("modes of new files", () => {
  test("with umask 000 a new CA folder is 0700, the key 0600, the certificate 0644", async () => {
    const old = process.umask(0);
    try {
      const made = tempPaths();
      await loadOrCreateRootCa(made);
      expect(modeOf(made.dir)).toBe(0o700);
      expect(modeOf(made.keyPath)).toBe(0o600);
      expect(modeOf(made.certPath)).toBe(0o644);

      const init = tempPaths();
      await createRootCa(init, { force: false });
      expect(modeOf(init.dir)).toBe(0o700);
      expect(modeOf(init.keyPath)).toBe(0o600);

      const forced = tempPaths();
      await createRootCa(forced, { force: true });
      expect(modeOf(forced.dir)).toBe(0o700);
      expect(modeOf(forced.keyPath)).toBe(0o600);
      expect(modeOf(forced.certPath)).toBe(0o644);
      // What was made loads back under the new checks.
      expect((await loadOrCreateRootCa(forced)).created).toBe(false);
    } finally {
      process.umask(old);
    }
  });

  test("an existing folder keeps its mode; only new files are created in it", async () => {
    const paths = tempPaths();
    mkdirSync(paths.dir, { mode: 0o755 });
    chmodSync(paths.dir, 0o755);
    await loadOrCreateRootCa(paths);
    expect(modeOf(paths.dir)).toBe(0o755);
    expect(modeOf(paths.keyPath)).toBe(0o600);
  });
});

function cli(cwd: string, ...args: string[]) {
  return runToEnd([process.execPath, CLI_MAIN, ...args], { cwd, env: sandbox.env });
}

function workdir(): string {
  return mkdtempSync(join(sandbox.root, "cwd-"));
}

const fingerprintOf = (certPath: string) => new X509Certificate(readFileSync(certPath)).fingerprint256;

describe("fingerprint and CLI", () => {
  test("run logs the CA's SHA-256 fingerprint (openssl's colon hex) at start-up", async () => {
    const cwd = workdir();
    const { proxy, listening } = await startRunFromSource(cwd, sandbox.env, null);
    proxy.signal("SIGINT");
    expect(await proxy.waitForExit(5_000)).toBe(0);
    const expected = fingerprintOf(join(cwd, "ca/certificate.pem"));
    expect(expected).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(listening.caSha256).toBe(expected);
  });

  test("run refuses a world-readable CA key with the fix, and does not listen", async () => {
    const cwd = workdir();
    expect((await cli(cwd, "ca", "init")).code).toBe(0);
    const key = join(cwd, "ca/private.key");
    chmodSync(key, 0o644);
    const r = await cli(cwd, "run", "--listen", "127.0.0.1:0", "--log-format", "json");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("CA_INVALID");
    expect(r.stderr).toContain(`chmod 600 ${key}`);
    expect(r.stderr).not.toContain("proxy listening");
  });

  test("ca init and ca path print the fingerprint; ca path of a missing CA says so and exits 1", async () => {
    const cwd = workdir();
    const certPath = join(cwd, "ca/certificate.pem");
    const missing = await cli(cwd, "ca", "path");
    expect(missing.code).toBe(1);
    expect(missing.stdoutText.trim()).toBe(certPath); // still says where it will be
    expect(missing.stderr).toContain("does not exist");
    expect(missing.stderr).toContain("polytls ca init");
    expect(existsSync(join(cwd, "ca"))).toBe(false);

    const init = await cli(cwd, "ca", "init");
    expect(init.code).toBe(0);
    const fp = fingerprintOf(certPath);
    expect(init.stdoutText).toContain(fp);

    const found = await cli(cwd, "ca", "path");
    expect(found.code).toBe(0);
    expect(found.stdoutText).toBe(`${certPath}\n`); // stdout stays just the path, for scripts
    expect(found.stderr).toContain(`SHA-256 fingerprint ${fp}`);
  });
});
