/**
 * The `polytls` commands, run from source (`bun src/cli/main.ts ...`, faster than the compiled
 * executable) in temp folders: `ca init|path|export`, `profiles list|show`, flag/file precedence and
 * relative paths in config files.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { join, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { configFromFlags } from "../src/cli/options.ts";
import { BUILTIN_ALIASES, BUILTIN_PROFILES } from "../src/profiles/builtin.ts";
import {
  CLI_MAIN,
  killAll,
  makeSandbox,
  RunningChild,
  runToEnd,
  startRunFromSource,
} from "./helpers/exe-process.ts";

const TEST_TIMEOUT_MS = 20_000; // ms; bun's default of 5 s is tight for several child processes on slow CI
setDefaultTimeout(TEST_TIMEOUT_MS);
const EXAMPLE_CONFIG = resolve(import.meta.dir, "../config/example.toml");

let root: string;
let env: Record<string, string>;

beforeAll(() => {
  ({ root, env } = makeSandbox("polytls-cli-"));
});

afterAll(async () => {
  await killAll();
  rmSync(root, { recursive: true, force: true });
});

/** A new empty working folder for one test. */
function workdir(): string {
  return mkdtempSync(join(root, "cwd-"));
}

function cli(cwd: string, ...args: string[]) {
  return runToEnd([process.execPath, CLI_MAIN, ...args], { cwd, env });
}

/** Runs a command that must succeed; returns its stdout. */
async function ok(cwd: string, ...args: string[]): Promise<string> {
  const r = await cli(cwd, ...args);
  if (r.code !== 0) throw new Error(`polytls ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdoutText;
}

describe("ca", () => {
  test("init creates the CA; a second init refuses and changes nothing; --force replaces it", async () => {
    const cwd = workdir();
    const keyPath = join(cwd, "ca/private.key");
    const certPath = join(cwd, "ca/certificate.pem");
    expect(await ok(cwd, "ca", "init")).toContain(`created ${certPath}`);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyPath);
    const cert = readFileSync(certPath);
    expect(new X509Certificate(cert).ca).toBe(true);

    const again = await cli(cwd, "ca", "init");
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("CA_EXISTS");
    expect(readFileSync(keyPath).equals(key)).toBe(true);
    expect(readFileSync(certPath).equals(cert)).toBe(true);

    await ok(cwd, "ca", "init", "--force");
    const newCert = readFileSync(certPath);
    expect(newCert.equals(cert)).toBe(false);
    expect(readFileSync(keyPath).equals(key)).toBe(false);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    // The replacement pair is consistent: export loads it (it checks the key against the cert).
    expect(await ok(cwd, "ca", "export")).toBe(newCert.toString("utf8"));
  });

  test("path prints the configured certificate path, honouring --ca-dir and --config", async () => {
    const cwd = workdir();
    /** With no CA there yet, `ca path` still prints where it goes, says so, and exits 1. */
    const printedPath = async (dir: string, ...args: string[]) => {
      const r = await cli(dir, "ca", "path", ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("does not exist yet");
      return r.stdoutText.trim();
    };
    expect(await printedPath(cwd)).toBe(join(cwd, "ca/certificate.pem"));
    // A relative --ca-dir resolves against the working directory.
    expect(await printedPath(cwd, "--ca-dir", "elsewhere")).toBe(join(cwd, "elsewhere/certificate.pem"));
    // Relative paths in a config file resolve against the file's folder, not the working directory.
    mkdirSync(join(cwd, "conf"));
    writeFileSync(
      join(cwd, "conf/polytls.toml"),
      '[proxy.certificate]\nca_key_path = "keys/root.key"\nca_cert_path = "keys/root.pem"\n',
    );
    expect(await printedPath(cwd, "--config", "conf/polytls.toml")).toBe(join(cwd, "conf/keys/root.pem"));
    // A flag beats the file.
    expect(await printedPath(cwd, "--config", "conf/polytls.toml", "--ca-dir", "/srv/ca")).toBe(
      "/srv/ca/certificate.pem",
    );
    // The hint creates the CA where this command looked for it.
    const hint = await cli(cwd, "ca", "path", "--ca-dir", "elsewhere");
    expect(hint.stderr).toContain('run "polytls ca init --ca-dir elsewhere"');
  });

  test("a key without its certificate: run, path and export all hint init --force with the --ca-dir given", async () => {
    const cwd = workdir();
    await ok(cwd, "ca", "init", "--ca-dir", "mine");
    rmSync(join(cwd, "mine/certificate.pem"));
    const hint = 'run "polytls ca init --force --ca-dir mine" to replace both';
    for (const args of [
      ["run", "--listen", "127.0.0.1:0"],
      ["ca", "path"],
      ["ca", "export"],
    ]) {
      const r = await cli(cwd, ...args, "--ca-dir", "mine");
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toContain("CA_INVALID");
      expect(r.stderr, args.join(" ")).toContain(hint);
    }
    // The hinted command does replace both (a plain init would refuse: the key exists).
    await ok(cwd, "ca", "init", "--force", "--ca-dir", "mine");
    expect(existsSync(join(cwd, "mine/certificate.pem"))).toBe(true);
  });

  test("export writes PEM, and --der the same certificate as DER", async () => {
    const cwd = workdir();
    const missing = await cli(cwd, "ca", "export");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("CA_INVALID");
    expect(missing.stderr).toContain("ca init");

    await ok(cwd, "ca", "init", "--ca-dir", "root");
    const onDisk = readFileSync(join(cwd, "root/certificate.pem"), "utf8");
    const pem = await ok(cwd, "ca", "export", "--ca-dir", "root");
    expect(pem).toStartWith("-----BEGIN CERTIFICATE-----\n");
    expect(pem).toBe(onDisk);

    const der = await cli(cwd, "ca", "export", "--der", "--ca-dir", "root");
    expect(der.code).toBe(0);
    expect(der.stdout[0]).toBe(0x30); // DER SEQUENCE, not text
    const fromDer = new X509Certificate(Buffer.from(der.stdout));
    const fromPem = new X509Certificate(pem);
    expect(fromDer.raw.equals(fromPem.raw)).toBe(true);
    expect(fromDer.fingerprint256).toBe(fromPem.fingerprint256);
    expect(fromDer.subject).toContain("PolyTLS Root CA");

    // Only the certificate is needed: a client-side machine holding no key can export it.
    mkdirSync(join(cwd, "cert-only"));
    writeFileSync(join(cwd, "cert-only/certificate.pem"), onDisk);
    expect(await ok(cwd, "ca", "export", "--ca-dir", "cert-only")).toBe(onDisk);
  });

  test("init follows relative CA paths of a config file into the file's folder", async () => {
    const cwd = workdir();
    mkdirSync(join(cwd, "conf"));
    writeFileSync(
      join(cwd, "conf/polytls.toml"),
      '[proxy.certificate]\nca_key_path = "keys/root.key"\nca_cert_path = "keys/root.pem"\n',
    );
    const sub = join(cwd, "somewhere/else");
    mkdirSync(sub, { recursive: true });
    expect(await ok(sub, "ca", "init", "--config", "../../conf/polytls.toml")).toContain(
      join(cwd, "conf/keys/root.pem"),
    );
    expect(statSync(join(cwd, "conf/keys/root.key")).mode & 0o777).toBe(0o600);
    expect(new X509Certificate(readFileSync(join(cwd, "conf/keys/root.pem"))).ca).toBe(true);
  });
});

describe("profiles", () => {
  test("list prints every built-in with its aliases, and user profiles of the config", async () => {
    const cwd = workdir();
    const lines = (await ok(cwd, "profiles", "list")).trim().split("\n");
    expect(lines.length).toBe(BUILTIN_PROFILES.length);
    for (const { name } of BUILTIN_PROFILES) {
      const line = lines.find((l) => l.startsWith(`${name} `));
      expect(line).toBeDefined();
      for (const [alias, target] of Object.entries(BUILTIN_ALIASES)) {
        if (target === name) expect(line).toMatch(new RegExp(`\\(alias: [^)]*\\b${alias}\\b`));
      }
    }
    const withUser = await ok(cwd, "profiles", "list", "--config", EXAMPLE_CONFIG);
    expect(withUser).toContain("chrome-http1 — Chrome 143 offering HTTP/1.1 only");
  });

  test("show chrome prints TOML that parses and names chrome-143-macos-arm64; it loads back as a config", async () => {
    const cwd = workdir();
    const text = await ok(cwd, "profiles", "show", "chrome-143-macos-arm64");
    const doc = parseToml(text) as { profiles: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.profiles)).toEqual(["chrome-143-macos-arm64"]);
    const chrome = doc.profiles["chrome-143-macos-arm64"] ?? {};
    expect(chrome.ciphers).toContain("TLS_AES_128_GCM_SHA256");
    expect(chrome.alpn).toEqual(["h2", "http/1.1"]);
    // The printed profile is a valid config that replaces the built-in with identical settings.
    writeFileSync(join(cwd, "shown.toml"), text);
    expect(await ok(cwd, "profiles", "show", "chrome-143-macos-arm64", "--config", "shown.toml")).toBe(text);
    // A user profile is shown fully resolved (its `extends` applied).
    const user = parseToml(await ok(cwd, "profiles", "show", "chrome-http1", "--config", EXAMPLE_CONFIG));
    const http1 = (user as typeof doc).profiles["chrome-http1"] ?? {};
    expect(http1.alpn).toEqual(["http/1.1"]);
    expect(http1.ciphers).toEqual(chrome.ciphers);
    expect(http1.extends).toBeUndefined();
  });

  test("import warns on stderr when the profile's name is a built-in's name or alias, and suggests --name", async () => {
    const cwd = workdir();
    // The file name is the built-in default profile's name: without --name it becomes the profile's.
    const capture = resolve(import.meta.dir, "fixtures/fingerprints/chrome-143-macos-arm64.json");
    const warnings = async (...extra: string[]) => {
      const r = await cli(cwd, "profiles", "import", capture, ...extra);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdoutText).toContain("[profiles.");
      return r.stderr.split("\n").filter((l) => l.startsWith("warning: "));
    };
    expect(await warnings()).toEqual([
      'warning: profile name "chrome-143-macos-arm64" is the name of a built-in profile: in a config, this table replaces that built-in; choose another with --name NAME',
    ]);
    expect(await warnings("--name", "firefox")).toEqual([
      'warning: profile name "firefox" is a built-in alias (of firefox-156-windows-x64): in a config, this table takes the alias over; choose another with --name NAME',
    ]);
    expect(await warnings("--name", "my-chrome")).toEqual([]);
  });

  test("a config profile replacing a built-in or taking a built-in alias over is a warning at start (run and run --check), not an error", async () => {
    const cwd = workdir();
    writeFileSync(
      join(cwd, "over.toml"),
      [
        '[profiles."firefox"]',
        'extends = "chrome"',
        '[profiles."chrome-143-macos-arm64"]',
        'extends = "chrome-143-macos-arm64"',
        '[profiles."my-chrome"]',
        'extends = "chrome"',
      ].join("\n"),
    );
    const expected = [
      {
        level: "warn",
        msg: "a config profile takes over a built-in alias",
        profile: "firefox",
        setting: 'profiles."firefox"',
        replaces: "built-in alias firefox (of firefox-156-windows-x64)",
      },
      {
        level: "warn",
        msg: "a config profile replaces the built-in profile of the same name",
        profile: "chrome-143-macos-arm64",
        setting: 'profiles."chrome-143-macos-arm64"',
        replaces: "built-in profile chrome-143-macos-arm64",
      },
    ];
    const records = (stderr: string) =>
      stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => String(r.msg).startsWith("a config profile"))
        .map(({ ts: _, ...r }) => r);
    const check = await cli(cwd, "run", "--check", "--config", "over.toml", "--log-format", "json");
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdoutText).toContain("configuration OK");
    expect(records(check.stderr)).toEqual(expected);
    const text = await cli(cwd, "run", "--check", "--config", "over.toml");
    expect(text.stderr).toContain(
      'WARN a config profile takes over a built-in alias profile=firefox setting="profiles.\\"firefox\\"" replaces="built-in alias firefox (of firefox-156-windows-x64)"',
    );
    const plain = await cli(cwd, "run", "--check", "--config", EXAMPLE_CONFIG, "--log-format", "json");
    expect(records(plain.stderr)).toEqual([]);

    const { proxy } = await startRunFromSource(cwd, env, "over.toml");
    expect(records(proxy.stderr)).toEqual(expected);
    proxy.signal("SIGINT");
    expect(await proxy.waitForExit(5_000)).toBe(0);
  });

  test("show of an unknown profile exits non-zero with UNKNOWN_PROFILE", async () => {
    const r = await cli(workdir(), "profiles", "show", "nope");
    expect(r.code).not.toBe(0);
    expect(r.stdoutText).toBe("");
    expect(r.stderr).toContain("UNKNOWN_PROFILE");
    expect(r.stderr).toContain('"nope"');
  });
});

describe("configuration precedence", () => {
  test("run: --listen and --log-format beat [proxy.listen] and [log] of the file", async () => {
    const cwd = workdir();
    writeFileSync(
      join(cwd, "polytls.toml"),
      '[proxy.listen]\naddress = "127.0.0.1:1"\n[log]\nformat = "text"\n[proxy.upstream]\ndefault_profile = "safari"\n',
    );
    const { proxy, listening } = await startRunFromSource(cwd, env, "polytls.toml");
    expect(listening.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(listening.listen).not.toBe("127.0.0.1:1");
    // Keys without a flag still come from the file (an alias is kept as written).
    expect(listening.profile).toBe("safari");
    expect([listening.mode, listening.http]).toEqual(["mitm", "full"]); // the HTTP mode, named
    proxy.signal("SIGINT");
    expect(await proxy.waitForExit(5_000)).toBe(0);
  });

  test("configFromFlags: defaults < file < flags, relative file paths against the file's folder", () => {
    const dir = workdir();
    const file = join(dir, "conf", "polytls.toml");
    mkdirSync(join(dir, "conf"));
    writeFileSync(
      file,
      [
        "[proxy.listen]",
        'address = "127.0.0.1:9999"',
        "[proxy.upstream]",
        'default_profile = "firefox"',
        'ca_file = "trust/upstream.pem"',
        "connect_timeout_ms = 1234",
        "[log]",
        'format = "text"',
        'level = "warn"',
      ].join("\n"),
    );
    const fromFile = configFromFlags({ config: file });
    expect(fromFile.proxy.listen.address).toBe("127.0.0.1:9999");
    expect(fromFile.proxy.upstream.defaultProfile).toBe("firefox");
    expect(fromFile.proxy.upstream.caFile).toBe(join(dir, "conf/trust/upstream.pem"));
    expect(fromFile.log).toEqual({ format: "text", level: "warn" });
    expect(fromFile.file).toBe(file);

    const flagged = configFromFlags({
      config: file,
      listen: "127.0.0.1:0",
      profile: "safari",
      "log-format": "json",
      "upstream-ca-file": "/etc/other.pem",
      mode: "passthrough",
    });
    expect(flagged.proxy.listen.address).toBe("127.0.0.1:0");
    expect(flagged.proxy.upstream.defaultProfile).toBe("safari");
    expect(flagged.proxy.upstream.caFile).toBe("/etc/other.pem");
    expect(flagged.proxy.mitm.enabled).toBe(false);
    expect(flagged.log).toEqual({ format: "json", level: "warn" });
    expect(flagged.proxy.upstream.connectTimeoutMs).toBe(1234);
    // Defaults (no file): CA paths under the working directory.
    expect(configFromFlags({}).proxy.certificate.caCertPath).toBe(resolve("ca/certificate.pem"));
  });
});

describe("every failure is one `polytls: CODE: message` line", () => {
  test("a capture file that cannot be read (fingerprint --compare, profiles import)", async () => {
    const cwd = workdir();
    const missing = join(cwd, "no-such-capture.json");
    for (const args of [
      ["fingerprint", "-p", "firefox", "--compare", missing],
      ["profiles", "import", missing],
    ]) {
      const r = await cli(cwd, ...args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`polytls: IO: cannot read capture file ${missing}: ENOENT`);
    }
  });

  test("a capture file in no known format, or a broken one, is named with every format", async () => {
    const cwd = workdir();
    writeFileSync(join(cwd, "junk.txt"), "junk\n");
    writeFileSync(join(cwd, "broken.json"), '{"tls": {}}\n');
    const junk = await cli(cwd, "profiles", "import", "junk.txt");
    expect(junk.stderr.trim()).toBe(
      `polytls: CONFIG_INVALID: capture file junk.txt: neither tls.peet.ws JSON, a curl-impersonate signature, phantom record_N_hex= lines nor a hex ClientHello`,
    );
    const broken = await cli(cwd, "fingerprint", "-p", "firefox", "--compare", "broken.json");
    expect(broken.code).toBe(1);
    expect(broken.stderr).toStartWith("polytls: CONFIG_INVALID: capture file broken.json: ");
  });

  test("fingerprint -p names the profile to fingerprint: an unknown one is UNKNOWN_PROFILE", async () => {
    const r = await cli(workdir(), "fingerprint", "-p", "nosuch");
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('polytls: UNKNOWN_PROFILE: unknown profile "nosuch"');
  });

  test("a listen address in use names the listener", async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const proxy = await cli(workdir(), "run", "--listen", `127.0.0.1:${port}`, "--ca-dir", "ca");
      expect(proxy.code).toBe(1);
      expect(proxy.stderr.trim()).toBe(`polytls: IO: proxy listener 127.0.0.1:${port}: EADDRINUSE`);
      const socks = await cli(
        workdir(),
        "run",
        "--listen",
        "127.0.0.1:0",
        "--socks-listen",
        `127.0.0.1:${port}`,
        "--ca-dir",
        "ca",
      );
      expect(socks.code).toBe(1);
      expect(socks.stderr.trim()).toBe(`polytls: IO: SOCKS5 listener 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      busy.close();
    }
  });
});

describe("the upstream CA file is checked before the proxy starts", () => {
  // The engine loads it as the tunnels would (BoringSSL's PEM reader): a file it cannot load used
  // to pass `--check` and then reset every tunnel after `200`.
  test("a file without a PEM certificate is refused by run and run --check, naming its key", async () => {
    const cwd = workdir();
    writeFileSync(join(cwd, "garbage.pem"), "not a pem\n");
    writeFileSync(join(cwd, "bad.toml"), '[proxy.upstream]\nca_file = "garbage.pem"\n');
    const file = join(cwd, "garbage.pem");
    for (const args of [
      ["run", "--check", "--config", "bad.toml"],
      ["run", "--config", "bad.toml", "--listen", "127.0.0.1:0", "--ca-dir", "ca"],
    ]) {
      const r = await cli(cwd, ...args);
      expect(r.code).toBe(1);
      expect(r.stdoutText).not.toContain("configuration OK");
      expect(r.stderr).toStartWith(
        `polytls: CONFIG_INVALID: proxy.upstream.ca_file: cannot load CA file ${file}: `,
      );
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    const flag = await cli(cwd, "run", "--check", "--upstream-ca-file", "garbage.pem");
    expect(flag.code).toBe(1);
    expect(flag.stderr).toStartWith(
      "polytls: CONFIG_INVALID: proxy.upstream.ca_file (command line): cannot load",
    );
  });

  test("a real CA passes; a bad file is not looked at when nothing would use it", async () => {
    const cwd = workdir();
    await ok(cwd, "ca", "init", "--ca-dir", "origin-ca");
    writeFileSync(join(cwd, "garbage.pem"), "not a pem\n");
    expect(await ok(cwd, "run", "--check", "--upstream-ca-file", "origin-ca/certificate.pem")).toContain(
      "configuration OK",
    );
    for (const extra of [["--upstream-insecure-skip-verify"], ["--mode", "passthrough"]]) {
      expect(await ok(cwd, "run", "--check", "--upstream-ca-file", "garbage.pem", ...extra)).toContain(
        "configuration OK",
      );
    }
    const missing = await cli(cwd, "run", "--check", "--upstream-ca-file", "nope.pem");
    expect(missing.stderr.trim()).toBe(
      `polytls: CONFIG_INVALID: proxy.upstream.ca_file (command line): cannot read ${join(cwd, "nope.pem")}`,
    );
  });
});

describe("a listener beyond loopback without proxy users", () => {
  const WARNING =
    "listening beyond loopback without proxy.auth.users: anyone who can reach it can use the proxy";
  const run = (cwd: string, ...extra: string[]) =>
    new RunningChild(
      [
        process.execPath,
        CLI_MAIN,
        "run",
        "--listen",
        "0.0.0.0:0",
        "--log-format",
        "json",
        "--ca-dir",
        "ca",
        ...extra,
      ],
      { cwd, env },
    );

  test("is said at start (warn), naming the setting; not with proxy.auth.users, nor on loopback", async () => {
    const open = run(workdir());
    expect(await open.waitForLog(WARNING)).toMatchObject({ level: "warn", setting: "proxy.listen.address" });
    await open.waitForLog("proxy listening");
    open.signal("SIGINT");
    expect(await open.waitForExit(5_000)).toBe(0);

    const cwd = workdir();
    writeFileSync(join(cwd, "auth.toml"), '[proxy.auth]\nusers = ["alice:secret"]\n');
    const guarded = run(cwd, "--config", "auth.toml");
    await guarded.waitForLog("proxy listening");
    const { proxy: local } = await startRunFromSource(workdir(), env, null);
    for (const p of [guarded, local]) {
      expect(p.logs().some((r) => r.msg === WARNING)).toBe(false);
      p.signal("SIGINT");
      expect(await p.waitForExit(5_000)).toBe(0);
    }
  });
});

test("passthrough reads and creates no CA: none is written, and the start line names none, nor a profile", async () => {
  const cwd = workdir();
  const p = new RunningChild(
    [
      process.execPath,
      CLI_MAIN,
      "run",
      "--mode",
      "passthrough",
      "--listen",
      "127.0.0.1:0",
      "--log-format",
      "json",
      "--ca-dir",
      "fresh",
    ],
    { cwd, env },
  );
  const listening = await p.waitForLog("proxy listening");
  expect(listening.mode).toBe("passthrough");
  expect(listening.profile).toBeUndefined(); // no profile applies in passthrough
  expect(listening.http).toBeUndefined();
  expect(listening.ca).toBeUndefined();
  expect(listening.caSha256).toBeUndefined();
  expect(existsSync(join(cwd, "fresh"))).toBe(false);
  p.signal("SIGINT");
  expect(await p.waitForExit(5_000)).toBe(0);
});

test("--mitm-http picks the MITM HTTP mode over the file's (tls-relay here); a value it does not know is refused", async () => {
  const cwd = workdir();
  writeFileSync(join(cwd, "full.toml"), '[proxy.mitm]\nhttp = "full"\n');
  const { proxy: p, listening } = await startRunFromSource(cwd, env, "full.toml", [
    "--mitm-http",
    "tls-relay",
  ]);
  expect(listening.mode).toBe("mitm");
  expect(listening.http).toBe("tls-relay");
  p.signal("SIGINT");
  expect(await p.waitForExit(5_000)).toBe(0);
  const bad = await cli(cwd, "run", "--mitm-http", "relay", "--check");
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toBe(
    'polytls: CONFIG_INVALID: --mitm-http: expected "full" or "tls-relay", got "relay"\n',
  );
  expect((await cli(cwd, "run", "--mitm-http", "full", "--check")).code).toBe(0);
});
