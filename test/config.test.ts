import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, parseConfig } from "../src/config/load.ts";
import { CONFIG_SCHEMA, configSchemaDoc, splitHostPort } from "../src/config/schema.ts";
import { isProxyError } from "../src/errors/proxy-error.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";
import { PROFILE_KEYS, snakeCase } from "../src/profiles/schema.ts";

const EXAMPLE = path.join(import.meta.dir, "../config/example.toml");
const tmp = mkdtempSync(path.join(os.tmpdir(), "polytls-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = path.join(tmp, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isProxyError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected a ProxyError");
}

describe("example.toml", () => {
  test("loads, and its user profile resolves through extends", () => {
    const config = loadConfig({ file: EXAMPLE, cwd: tmp });
    expect(config.file).toBe(EXAMPLE);
    expect(config.proxy.listen.address).toBe("127.0.0.1:8080");
    expect(config.proxy.certificate.caKeyPath).toBe(path.resolve(path.dirname(EXAMPLE), "../ca/private.key"));
    const registry = ProfileRegistry.fromConfig(config);
    expect(registry.spec("chrome-http1").alpn).toEqual(["http/1.1"]);
    expect(registry.spec("chrome-http1").alps).toBeNull();
    expect(registry.spec("chrome-http1").ciphers).toEqual(registry.spec("chrome").ciphers);
  });

  test("documents every config key and every profile key", () => {
    const text = readFileSync(EXAMPLE, "utf8");
    const keys = configSchemaDoc().map((line) => line.slice(0, line.indexOf(":")).split(".").pop()!);
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys) expect(text).toMatch(new RegExp(`^#? ?${key} = `, "m"));
    for (const key of ["extends", ...PROFILE_KEYS.map(snakeCase)]) {
      expect(text).toMatch(new RegExp(`^#\\s+${key}\\s+= `, "m"));
    }
  });
});

describe("README.md", () => {
  test("its configuration table has a row for every config key", () => {
    const text = readFileSync(path.join(import.meta.dir, "..", "README.md"), "utf8");
    const paths = configSchemaDoc().map((line) => line.slice(0, line.indexOf(":")));
    expect(paths.length).toBeGreaterThan(10);
    const missing = paths.filter((p) => !text.includes(`\n| \`${p}\` |`));
    expect(missing).toEqual([]);
  });

  test("its configuration table gives the range of every integer key, as the schema has it", () => {
    const text = readFileSync(path.join(import.meta.dir, "..", "README.md"), "utf8");
    const ranged = configSchemaDoc().flatMap((line) => {
      const range = /^[^:]+: [^(]*?(\d+\.\.\d+) \(/.exec(line)?.[1];
      return range === undefined ? [] : [{ key: line.slice(0, line.indexOf(":")), range }];
    });
    expect(ranged.length).toBeGreaterThan(10);
    const rows = text.split("\n");
    const without = ranged
      .filter(
        ({ key, range }) => !rows.some((row) => row.startsWith(`| \`${key}\` |`) && row.includes(range)),
      )
      .map(({ key, range }) => `${key} ${range}`);
    expect(without).toEqual([]);
  });
});

describe("loadConfig", () => {
  test("defaults without a file; relative default paths resolve against cwd", () => {
    const config = loadConfig({ cwd: tmp });
    expect(config.file).toBeNull();
    expect(config.proxy.upstream.defaultProfile).toBe("chrome-143-macos-arm64");
    expect(config.proxy.upstream.connectTimeoutMs).toBe(30_000);
    expect(config.proxy.upstream.caFile).toBeNull();
    expect(config.proxy.certificate.caCertPath).toBe(path.join(tmp, "ca/certificate.pem"));
    expect(config.log).toEqual({ level: "info", format: "text" });
    expect(config.profiles).toEqual({});
  });

  test("precedence: defaults < file < overrides", () => {
    const file = writeConfig(
      "prec.toml",
      '[proxy.limits]\nmax_headers = 10\nmax_header_bytes = 2048\n[log]\nlevel = "debug"\n',
    );
    const config = loadConfig({
      file,
      cwd: tmp,
      overrides: { proxy: { limits: { maxHeaders: 20 } }, log: { format: "json" } },
    });
    expect(config.proxy.limits).toMatchObject({
      headerTimeoutMs: 10_000,
      maxHeaderBytes: 2048,
      maxHeaders: 20,
    });
    expect(config.proxy.limits.maxTunnels).toBe(8_192);
    expect(config.log).toEqual({ level: "debug", format: "json" });
  });

  test("relative paths: file values against the file's folder, overrides against cwd", () => {
    const file = writeConfig(
      "nested/dir/paths.toml",
      '[proxy.upstream]\nca_file = "extra.pem"\n[proxy.certificate]\nca_key_path = "../keys/ca.key"\n',
    );
    const cwd = path.join(tmp, "work");
    const config = loadConfig({
      file,
      cwd,
      overrides: { proxy: { certificate: { caCertPath: "mine.pem" } } },
    });
    expect(config.proxy.upstream.caFile).toBe(path.join(tmp, "nested/dir/extra.pem"));
    expect(config.proxy.certificate.caKeyPath).toBe(path.join(tmp, "nested/keys/ca.key"));
    expect(config.proxy.certificate.caCertPath).toBe(path.join(cwd, "mine.pem"));
  });

  test("every problem is reported at once, each with its key path", () => {
    const file = writeConfig(
      "bad.toml",
      [
        "[proxy]",
        "colour = 1",
        "[proxy.listen]",
        'address = "localhost"',
        "[proxy.limits]",
        "max_headers = 0",
        "[proxy.auth]",
        'users = ["alice:pw", "nocolon"]',
        "[proxy.access]",
        "allowed_ports = [443, 70000]",
        "[proxy.upstream]",
        'verify_hostname = "yes"',
        'default_profile = "netscape"',
        "[log]",
        'level = "loud"',
        "[profiles.mine]",
        'extends = "chrome"',
        'groups = ["x448"]',
        "[extra]",
      ].join("\n"),
    );
    const { code, message } = failure(() =>
      loadConfig({ file, overrides: { proxy: { upstream: { connectTimeoutMs: 0 } } } }),
    );
    expect(code).toBe("CONFIG_INVALID");
    const lines = message.split("\n");
    expect(lines[0]).toBe(`invalid configuration in ${file}:`);
    expect(lines).toContain("proxy.colour: unknown key");
    expect(lines).toContain("extra: unknown key");
    expect(lines).toContain('proxy.listen.address: expected "host:port" or "[ipv6]:port", got "localhost"');
    expect(lines).toContain("proxy.limits.max_headers: 0 is out of range 1..1024");
    expect(lines.some((l) => l.startsWith('proxy.auth.users[1]: expected "name:password"'))).toBe(true);
    expect(lines).toContain("proxy.access.allowed_ports[1]: expected a port 1..65535, got integer 70000");
    expect(lines).toContain('proxy.upstream.verify_hostname: expected a boolean, got string "yes"');
    expect(lines).toContain('proxy.upstream.default_profile: unknown profile "netscape"');
    expect(lines).toContain('log.level: expected one of "debug", "info", "warn", "error", got string "loud"');
    expect(lines).toContain('profiles."mine".groups[0]: unknown group "x448"');
    expect(lines).toContain("proxy.upstream.connect_timeout_ms (command line): 0 is out of range 1..3600000");
  });

  test("an unknown default profile names where it was set: the file, or the command line", () => {
    const file = writeConfig(
      "badprofile.toml",
      ["[proxy.upstream]", 'default_profile = "netscape"'].join("\n"),
    );
    expect(failure(() => loadConfig({ file })).message).toContain(
      'proxy.upstream.default_profile: unknown profile "netscape"',
    );
    const flag = failure(() =>
      loadConfig({ file, overrides: { proxy: { upstream: { defaultProfile: "mosaic" } } } }),
    );
    expect(flag.message).toContain('proxy.upstream.default_profile (command line): unknown profile "mosaic"');
  });

  test("a proxy user named twice is refused at the repeat (its password would replace the first)", () => {
    const file = writeConfig(
      "dupusers.toml",
      ["[proxy.auth]", 'users = ["alice:one", "bob:two", "alice:three"]'].join("\n"),
    );
    const { code, message } = failure(() => loadConfig({ file }));
    expect(code).toBe("CONFIG_INVALID");
    expect(message).toContain("proxy.auth.users[2]: repeats the user name of proxy.auth.users[0]");
    expect(message).not.toContain("three");
    expect(message).not.toContain("one");
  });

  test("a section that is not a table is named", () => {
    const file = writeConfig("notable.toml", "proxy = 3\n");
    expect(failure(() => loadConfig({ file })).message).toContain("proxy: expected a table, got integer 3");
  });

  test("bad TOML syntax names the file and line", () => {
    const file = writeConfig("syntax.toml", '[proxy.listen]\naddress = "127.0.0.1:1"\nport = \n');
    const { code, message } = failure(() => loadConfig({ file }));
    expect(code).toBe("CONFIG_INVALID");
    expect(message).toStartWith(`${file}:3:`);
    expect(message).toContain("invalid TOML");
  });

  test("a missing file is an IO error naming it", () => {
    const { code, message } = failure(() => loadConfig({ file: "absent.toml", cwd: tmp }));
    expect(code).toBe("IO");
    expect(message).toContain(path.join(tmp, "absent.toml"));
  });

  test("default_profile may name a user profile or an alias", () => {
    const text =
      '[proxy.upstream]\ndefault_profile = "mine"\n[profiles.mine]\nextends = "safari"\ngrease = false\n';
    const config = parseConfig(text, { file: path.join(tmp, "x.toml") });
    expect(ProfileRegistry.fromConfig(config).resolveName("default")).toBe("mine");
    const aliased = loadConfig({ overrides: { proxy: { upstream: { defaultProfile: "firefox" } } } });
    expect(ProfileRegistry.fromConfig(aliased).resolveName("default")).toBe("firefox-156-windows-x64");
  });
});

describe("schema helpers", () => {
  test("listen address parsing", () => {
    expect(splitHostPort("127.0.0.1:8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(splitHostPort("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect(typeof splitHostPort("127.0.0.1:70000")).toBe("string");
    expect(typeof splitHostPort("::1:80")).toBe("string");
  });

  test("schema defaults are the documented ones", () => {
    expect(CONFIG_SCHEMA.proxy.limits.max_header_bytes.default).toBe(16_384);
    expect(CONFIG_SCHEMA.proxy.certificate.cache_ttl.default).toBe(3600);
  });
});
