/**
 * The deploy/ examples name real things: every `--flag` given to polytls exists on that command,
 * every config key they set exists in the schema (and the files load), the probe, check and scrape
 * paths are the admin listener's routes on its configured port, and the Kubernetes init script
 * really produces a CA folder the CA loader accepts, read-only, where a Secret volume's own layout
 * is refused.
 */
import { describe, expect, onTestFinished, test } from "bun:test";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.ts";
import { overridesFrom } from "../src/cli/options.ts";
import { parseConfig } from "../src/config/load.ts";
import { type Config, configSchemaDoc, splitHostPort } from "../src/config/schema.ts";
import { isProxyError } from "../src/errors/proxy-error.ts";
import { adminAddress } from "../src/metrics/admin-address.ts";
import { ADMIN_ROUTES } from "../src/metrics/admin-server.ts";
import { loadRootCa } from "../src/pki/root-ca.ts";
import { removeTempTree } from "./helpers/temp-tree.ts";
import { makeTestPki } from "./helpers/tls-env.ts";

const DEPLOY = resolve(import.meta.dir, "../deploy");
const read = (rel: string) => readFileSync(join(DEPLOY, rel), "utf8");

// biome-ignore lint/suspicious/noExplicitAny: YAML documents are untyped trees, checked field by field below
type Doc = any;

const k8s: Doc[] = readdirSync(join(DEPLOY, "kubernetes"))
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((f) => {
    const parsed = Bun.YAML.parse(read(`kubernetes/${f}`)) as Doc;
    return Array.isArray(parsed) ? parsed : [parsed];
  });
const byKind = (kind: string): Doc => {
  const docs = k8s.filter((d) => d?.kind === kind);
  expect(docs.length).toBe(1);
  return docs[0];
};

interface CommandNode {
  args?: Record<string, { alias?: string | string[] }>;
  subCommands?: Record<string, CommandNode>;
}

/** The command `words` names (e.g. ["ca", "init"]) and how many words that took. */
function commandOf(words: string[]): { node: CommandNode; used: number; path: string } {
  let node = main as unknown as CommandNode;
  let used = 0;
  while (node.subCommands && words[used] !== undefined && words[used]! in node.subCommands) {
    node = node.subCommands[words[used]!]!;
    used++;
  }
  return { node, used, path: words.slice(0, used).join(" ") };
}

/** Every `--flag` of a polytls command line must be declared by that command. */
function checkCommandLine(words: string[], where: string): number {
  const { node, used, path } = commandOf(words);
  expect(used, `${where}: "${words.join(" ")}" names no polytls command`).toBeGreaterThan(0);
  const declared = new Set(Object.keys(node.args ?? {}));
  let flags = 0;
  for (const w of words.slice(used)) {
    if (!w.startsWith("--")) continue;
    const name = w.slice(2).split("=")[0] ?? "";
    expect(declared.has(name), `${where}: polytls ${path} has no --${name}`).toBe(true);
    flags++;
  }
  return flags;
}

/** `polytls …` command lines written in a text (comments, docs): the words after "polytls". */
function commandLinesIn(text: string): string[][] {
  const lines: string[][] = [];
  for (const m of text.matchAll(/\bpolytls\s+([a-z][^\n\\`"]*)/g)) {
    const words = (m[1] ?? "").trim().split(/\s+/);
    if (commandOf(words).used > 0) lines.push(words);
  }
  return lines;
}

/** Every dotted key of a TOML text that is a leaf (a value), e.g. proxy.admin.listen. */
function tomlKeys(node: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(node).flatMap(([k, v]) => {
    const path = prefix === "" ? k : `${prefix}.${k}`;
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? tomlKeys(v as Record<string, unknown>, path)
      : [path];
  });
}

const SCHEMA_KEYS = new Set(configSchemaDoc().map((line) => line.slice(0, line.indexOf(":"))));

/** Every key of a TOML example is a schema key, and the file loads through the real config loader. */
function loadExample(text: string, name: string): Config {
  const keys = tomlKeys(Bun.TOML.parse(text) as Record<string, unknown>);
  expect(keys.length).toBeGreaterThan(0);
  for (const k of keys) expect(SCHEMA_KEYS.has(k), `${name}: ${k} is not a config key`).toBe(true);
  return parseConfig(text, { file: join(DEPLOY, name), cwd: DEPLOY });
}

const deployment = byKind("Deployment");
const podSpec = deployment.spec.template.spec;
const proxyContainer: Doc = podSpec.containers.find((c: Doc) => c.name === "polytls");
const initContainer: Doc = podSpec.initContainers.find((c: Doc) => c.name === "ca-install");
const k8sConfig = loadExample(byKind("ConfigMap").data["config.toml"], "kubernetes/config.toml");
const haproxyConfig = loadExample(read("haproxy/polytls.toml"), "haproxy/polytls.toml");

describe("deploy/kubernetes", () => {
  test("the proxy container's arguments are a real command with real flags", () => {
    const args: string[] = proxyContainer.args;
    expect(checkCommandLine(args, "deployment.yaml")).toBeGreaterThanOrEqual(4);
    // Each string flag has its value; the config file is the ConfigMap's key, mounted where --config says.
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    const configMount = proxyContainer.volumeMounts.find((m: Doc) => m.name === "config");
    expect(value("--config")).toBe(`${configMount.mountPath}/config.toml`);
    expect(typeof splitHostPort(value("--listen") ?? "")).toBe("object");
  });

  test("the ConfigMap's config.toml loads; its keys are schema keys; the admin address is allowed", () => {
    expect(k8sConfig.proxy.admin.allowRemote).toBe(true);
    expect(adminAddress(k8sConfig.proxy.admin)).not.toBeNull();
  });

  test("probes and scrape annotations use the admin routes on the admin port", () => {
    const admin = adminAddress(k8sConfig.proxy.admin);
    const ports = new Map<string, number>(proxyContainer.ports.map((p: Doc) => [p.name, p.containerPort]));
    const probePort = (probe: Doc) =>
      typeof probe.httpGet.port === "string" ? ports.get(probe.httpGet.port) : probe.httpGet.port;
    expect(proxyContainer.livenessProbe.httpGet.path).toBe(ADMIN_ROUTES.health);
    expect(proxyContainer.readinessProbe.httpGet.path).toBe(ADMIN_ROUTES.ready);
    expect(probePort(proxyContainer.livenessProbe)).toBe(admin?.port ?? -1);
    expect(probePort(proxyContainer.readinessProbe)).toBe(admin?.port ?? -1);
    const ann = deployment.spec.template.metadata.annotations;
    expect(ann["prometheus.io/path"]).toBe(ADMIN_ROUTES.metrics);
    expect(Number(ann["prometheus.io/port"])).toBe(admin?.port ?? -1);
    // The proxy port is the one --listen names, and the Service targets it.
    const args: string[] = proxyContainer.args;
    const listen = splitHostPort(args[args.indexOf("--listen") + 1] ?? "");
    expect(typeof listen === "object" && listen.port).toBe(ports.get("proxy") ?? -1);
    const service = byKind("Service");
    expect(service.spec.ports.map((p: Doc) => p.targetPort)).toEqual(["proxy"]);
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    // Drain: the grace period covers preStop plus the drain time.
    const preStop = proxyContainer.lifecycle.preStop.sleep.seconds;
    expect(podSpec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
      preStop * 1000 + k8sConfig.proxy.limits.drainTimeoutMs,
    );
  });

  test("the Secret holds the two files --ca-dir expects; the CA reaches the proxy read-only", () => {
    const secret = byKind("Secret");
    const caDir = proxyContainer.args[proxyContainer.args.indexOf("--ca-dir") + 1];
    const cert = overridesFrom({ "ca-dir": "/x" }).proxy?.certificate;
    const names = [cert?.caKeyPath, cert?.caCertPath].map((p) => p?.slice("/x/".length));
    expect(Object.keys(secret.stringData).sort()).toEqual([...(names as string[])].sort());
    const caVolume = podSpec.volumes.find((v: Doc) => v.name === "ca");
    expect(caVolume.emptyDir).toBeDefined();
    const mount = proxyContainer.volumeMounts.find((m: Doc) => m.name === "ca");
    expect(mount.readOnly).toBe(true);
    expect(caDir.startsWith(`${mount.mountPath}/`)).toBe(true);
    // The Secret is mounted only in the init container, never in the proxy.
    const secretVolume = podSpec.volumes.find((v: Doc) => v.secret?.secretName === secret.metadata.name);
    expect(secretVolume.secret.defaultMode).toBe(0o440);
    expect(proxyContainer.volumeMounts.some((m: Doc) => m.name === secretVolume.name)).toBe(false);
    expect(initContainer.volumeMounts.some((m: Doc) => m.name === secretVolume.name)).toBe(true);
    expect(podSpec.securityContext.fsGroup).toBe(podSpec.securityContext.runAsUser);
  });

  test("the init script's CA folder is accepted read-only; a Secret volume's own layout is refused", async () => {
    const pki = await makeTestPki();
    const root = mkdtempSync(join(tmpdir(), "polytls-deploy-"));
    const secretDir = join(root, "secret");
    const runDir = join(root, "run");
    onTestFinished(() => {
      // The init script leaves run/ca read-only (0500): removeTempTree makes it writable first.
      removeTempTree(root);
      pki.remove();
    });
    mkdirSync(secretDir);
    mkdirSync(runDir);
    writeFileSync(join(secretDir, "private.key"), readFileSync(pki.caKeyPath));
    writeFileSync(join(secretDir, "certificate.pem"), readFileSync(pki.caCertPath));
    const secretMount = initContainer.volumeMounts.find((m: Doc) => m.name === "ca-secret").mountPath;
    const caMount = initContainer.volumeMounts.find((m: Doc) => m.name === "ca").mountPath;
    const script = (initContainer.command[2] as string)
      .replaceAll(secretMount, secretDir)
      .replaceAll(caMount, runDir);
    execFileSync("/bin/sh", ["-c", script]);
    const caDir = (proxyContainer.args[proxyContainer.args.indexOf("--ca-dir") + 1] as string).replace(
      proxyContainer.volumeMounts.find((m: Doc) => m.name === "ca").mountPath,
      runDir,
    );
    const ca = await loadRootCa({
      keyPath: join(caDir, "private.key"),
      certPath: join(caDir, "certificate.pem"),
    });
    expect(ca.sha256Fingerprint).toBe(pki.ca.sha256Fingerprint);

    // What a Secret volume looks like: world-writable sticky folder, files symlinked into ..data.
    const vol = join(root, "secret-volume");
    mkdirSync(join(vol, "..data"), { recursive: true });
    writeFileSync(join(vol, "..data", "private.key"), readFileSync(pki.caKeyPath), { mode: 0o440 });
    writeFileSync(join(vol, "..data", "certificate.pem"), readFileSync(pki.caCertPath));
    symlinkSync("..data/private.key", join(vol, "private.key"));
    symlinkSync("..data/certificate.pem", join(vol, "certificate.pem"));
    chmodSync(vol, 0o1777);
    const refused = async (keyPath: string, certPath: string) => {
      try {
        await loadRootCa({ keyPath, certPath });
      } catch (err) {
        return isProxyError(err, "CA_INVALID");
      }
      return false;
    };
    expect(await refused(join(vol, "private.key"), join(vol, "certificate.pem"))).toBe(true);
    chmodSync(vol, 0o755);
    expect(await refused(join(vol, "private.key"), join(vol, "certificate.pem"))).toBe(true);
    expect(await refused(join(vol, "..data", "private.key"), join(vol, "..data", "certificate.pem"))).toBe(
      true,
    );
  });
});

describe("deploy/haproxy", () => {
  const cfg = read("haproxy/haproxy.cfg")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter((l) => l !== "");

  test("TCP mode; the health check is GET /readyz on the instances' admin port", () => {
    expect(cfg).toContain("mode tcp");
    expect(cfg.some((l) => l.startsWith("mode http"))).toBe(false);
    const send = cfg.find((l) => l.startsWith("http-check send"));
    expect(send).toBe(`http-check send meth GET uri ${ADMIN_ROUTES.ready}`);
    expect(cfg).toContain("http-check expect status 200");
    const admin = adminAddress(haproxyConfig.proxy.admin);
    const checkPort = /\bcheck port (\d+)/.exec(cfg.find((l) => l.startsWith("default-server")) ?? "");
    expect(Number(checkPort?.[1])).toBe(admin?.port ?? -1);
  });

  test("servers point at the instances' proxy port; polytls.toml loads", () => {
    const listen = splitHostPort(haproxyConfig.proxy.listen.address);
    const servers = cfg.filter((l) => l.startsWith("server "));
    expect(servers.length).toBeGreaterThanOrEqual(2);
    for (const s of servers)
      expect(s.split(/\s+/)[2]?.endsWith(`:${typeof listen === "object" && listen.port}`)).toBe(true);
    expect(haproxyConfig.proxy.limits.maxTunnelsPerClient).toBe(haproxyConfig.proxy.limits.maxTunnels);
  });
});

describe("polytls command lines written in deploy/ and the README", () => {
  test("every one names a real command and only its flags", () => {
    const files = [
      "Dockerfile",
      "haproxy/haproxy.cfg",
      "haproxy/polytls.toml",
      ...readdirSync(join(DEPLOY, "kubernetes")).map((f) => `kubernetes/${f}`),
    ];
    const found = files.flatMap((f) => commandLinesIn(read(f)).map((words) => ({ f, words })));
    const readme = readFileSync(resolve(import.meta.dir, "../README.md"), "utf8");
    const from = readme.indexOf("\n## Metrics and health");
    const last = readme.indexOf("\n## Running several instances");
    expect(from).toBeGreaterThan(0);
    expect(last).toBeGreaterThan(from);
    const end = readme.indexOf("\n## ", last + 1);
    const section = readme.slice(from, end < 0 ? undefined : end);
    found.push(...commandLinesIn(section).map((words) => ({ f: "README.md", words })));
    const cmd = /^CMD (\[.*\])$/m.exec(read("Dockerfile"));
    found.push({ f: "Dockerfile CMD", words: JSON.parse(cmd?.[1] ?? "[]") as string[] });
    expect(found.length).toBeGreaterThanOrEqual(3);
    for (const { f, words } of found) checkCommandLine(words, f);
  });
});
