/**
 * Bench set-up that is not measurement: the origin's PKI in a temp dir, which proxy command to run,
 * and the machine description printed above the table.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { LeafMinter } from "../src/pki/leaf.ts";
import { createRootCa } from "../src/pki/root-ca.ts";

export interface OriginPki {
  caCertPath: string;
  caPem: string;
  leafKeyPath: string;
  leafChainPath: string;
}

/** A fresh CA in `<dir>/origin-ca` and a leaf for "localhost" written as two PEM files in `dir`. */
export async function makeOriginPki(dir: string): Promise<OriginPki> {
  const caDir = join(dir, "origin-ca");
  const caCertPath = join(caDir, "certificate.pem");
  const ca = await createRootCa(
    { keyPath: join(caDir, "private.key"), certPath: caCertPath },
    { force: false },
  );
  const leaf = await (await LeafMinter.create(ca)).mint("localhost", new Date());
  const leafKeyPath = join(dir, "origin-leaf.key");
  const leafChainPath = join(dir, "origin-leaf-chain.pem");
  writeFileSync(leafKeyPath, leaf.keyPem, { mode: 0o600 });
  writeFileSync(leafChainPath, leaf.chainPem);
  return { caCertPath, caPem: ca.certPem, leafKeyPath, leafChainPath };
}

export interface ProxyCommand {
  cmd: string[];
  /** Printed above the table; says which build was measured. */
  label: string;
  /** A warning to print, e.g. that dist/polytls is older than the sources. */
  note: string | null;
}

function newestMtimeMs(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** dist/polytls when built, else `bun src/cli/main.ts`; null when neither exists yet. */
export function resolveProxyCommand(root: string, override: string | undefined): ProxyCommand | null {
  if (override !== undefined) {
    const cmd = override.split(" ").filter((s) => s.length > 0);
    return { cmd, label: `${override} (--proxy-cmd)`, note: null };
  }
  const dist = join(root, "dist", "polytls");
  if (existsSync(dist)) {
    const stale =
      statSync(dist).mtimeMs <
      Math.max(newestMtimeMs(join(root, "src")), newestMtimeMs(join(root, "profiles")));
    return {
      cmd: [dist],
      label: "dist/polytls",
      note: stale
        ? "dist/polytls is older than src/ or profiles/; run `make build` to measure the current code"
        : null,
    };
  }
  const main = join(root, "src", "cli", "main.ts");
  if (existsSync(main)) {
    return {
      cmd: [process.execPath, main],
      label: "bun src/cli/main.ts (dist/polytls not built)",
      note: null,
    };
  }
  return null;
}

export function machineInfo(proxy: ProxyCommand, fdLimit: number): string[] {
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown";
  return [
    `machine : nproc ${os.availableParallelism()}, ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}`,
    `bun     : ${process.versions.bun} (${process.execPath})`,
    `proxy   : ${proxy.label}`,
    `fd limit: ${fdLimit === Number.POSITIVE_INFINITY ? "unlimited" : fdLimit} (ulimit -n, inherited by origin and proxy)`,
    "note    : client, proxy and origin share this machine's cores",
  ];
}
