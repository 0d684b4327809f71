import { afterAll, describe, expect, test } from "bun:test";
import { X509Certificate as NodeX509 } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { inspect } from "node:util";
import type { X509Certificate } from "@peculiar/x509";
import { isProxyError, type ProxyError } from "../src/errors/proxy-error.ts";
import { LEAF_VALIDITY_DAYS, type Leaf, LeafMinter } from "../src/pki/leaf.ts";
import {
  type CaPaths,
  createRootCa,
  loadOrCreateRootCa,
  loadRootCa,
  type RootCa,
} from "../src/pki/root-ca.ts";
import { x509 } from "../src/pki/x509.ts";

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const NOW = new Date("2026-03-01T12:00:00Z");

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempPaths(): CaPaths {
  const dir = mkdtempSync(join(tmpdir(), "polytls-pki-"));
  dirs.push(dir);
  return { keyPath: join(dir, "nested", "ca.key"), certPath: join(dir, "nested", "ca.pem") };
}

function snapshot(paths: CaPaths): { key: Buffer; cert: Buffer } {
  return { key: readFileSync(paths.keyPath), cert: readFileSync(paths.certPath) };
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

async function newCa(now = NOW): Promise<{ paths: CaPaths; ca: RootCa }> {
  const paths = tempPaths();
  const { ca } = await loadOrCreateRootCa(paths, { now });
  return { paths, ca };
}

describe("root CA files", () => {
  test("creates both files, key 0600 PKCS#8, then reloads the same CA", async () => {
    const paths = tempPaths();
    const first = await loadOrCreateRootCa(paths, { now: NOW });
    expect(first.created).toBe(true);
    expect(statSync(paths.keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(paths.keyPath, "utf8").startsWith("-----BEGIN PRIVATE KEY-----\n")).toBe(true);
    expect(readFileSync(paths.certPath, "utf8")).toBe(first.ca.certPem);

    const second = await loadOrCreateRootCa(paths, { now: NOW });
    expect(second.created).toBe(false);
    expect(Buffer.from(second.ca.certDer).equals(Buffer.from(first.ca.certDer))).toBe(true);
    expect(second.ca.certPem).toBe(first.ca.certPem);
    const again = await loadRootCa(paths, { now: NOW });
    expect(again.sha256Fingerprint).toBe(first.ca.sha256Fingerprint);
  });

  test("root certificate carries the CA profile", async () => {
    const { ca } = await newCa();
    const cert = ca.cert;
    expect(cert.subject).toMatch(/^CN=PolyTLS Root CA [0-9a-f]{8}, O=PolyTLS$/);
    expect(cert.issuer).toBe(cert.subject);
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    expect(bc?.ca).toBe(true);
    expect(bc?.pathLength).toBe(0);
    expect(bc?.critical).toBe(true);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    expect(ku?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(ku?.critical).toBe(true);
    expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(cert.notBefore.getTime()).toBe(NOW.getTime() - HOUR_MS);
    expect(cert.notAfter.getTime()).toBe(NOW.getTime() + 3650 * DAY_MS);
    expect(cert.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
    expect(await cert.verify({ signatureOnly: true })).toBe(true);
    const node = new NodeX509(ca.certDer);
    expect(node.ca).toBe(true);
    expect(node.publicKey.asymmetricKeyType).toBe("ec");
  });

  test("corrupt files are CA_INVALID naming the file and are left byte-identical", async () => {
    const cases: { file: keyof CaPaths; text: string }[] = [
      { file: "keyPath", text: "not a key at all\n" },
      { file: "keyPath", text: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" },
      { file: "keyPath", text: "-----BEGIN PRIVATE KEY-----\n%%%%\n-----END PRIVATE KEY-----\n" },
      { file: "certPath", text: "garbage" },
      { file: "certPath", text: "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n" },
    ];
    for (const c of cases) {
      const { paths } = await newCa();
      writeFileSync(paths[c.file], c.text);
      const before = snapshot(paths);
      const err = await rejection(loadOrCreateRootCa(paths, { now: NOW }));
      expect(err.code).toBe("CA_INVALID");
      expect(err.message).toContain(paths[c.file]);
      const after = snapshot(paths);
      expect(after.key.equals(before.key)).toBe(true);
      expect(after.cert.equals(before.cert)).toBe(true);
    }
  });

  test("a key from another CA is CA_INVALID (mismatch) and nothing is rewritten", async () => {
    const a = await newCa();
    const b = await newCa();
    writeFileSync(a.paths.keyPath, readFileSync(b.paths.keyPath));
    const before = snapshot(a.paths);
    const err = await rejection(loadOrCreateRootCa(a.paths, { now: NOW }));
    expect(err.code).toBe("CA_INVALID");
    expect(err.message).toContain(a.paths.keyPath);
    expect(err.message).toContain(a.paths.certPath);
    const after = snapshot(a.paths);
    expect(after.key.equals(before.key)).toBe(true);
    expect(after.cert.equals(before.cert)).toBe(true);
  });

  test("exactly one file present is CA_INVALID naming the missing file; nothing is created", async () => {
    for (const missing of ["keyPath", "certPath"] as const) {
      const { paths } = await newCa();
      const present = missing === "keyPath" ? paths.certPath : paths.keyPath;
      const kept = readFileSync(present);
      unlinkSync(paths[missing]);
      const err = await rejection(loadOrCreateRootCa(paths, { now: NOW }));
      expect(err.code).toBe("CA_INVALID");
      expect(err.message).toContain(paths[missing]);
      expect(readFileSync(present).equals(kept)).toBe(true);
      expect(() => statSync(paths[missing])).toThrow();
    }
  });

  test("the hint for a lone file names the flags that locate the CA, --force first", async () => {
    const { paths } = await newCa();
    unlinkSync(paths.certPath);
    const initFlags = ["--config", "my.toml", "--ca-dir", "/srv/ca"];
    const err = await rejection(loadOrCreateRootCa(paths, { now: NOW, initFlags }));
    expect(err.code).toBe("CA_INVALID");
    expect(err.message).toContain(
      'run "polytls ca init --force --config my.toml --ca-dir /srv/ca" to replace both',
    );
    // Without flags (the default paths), the bare command.
    expect((await rejection(loadOrCreateRootCa(paths, { now: NOW }))).message).toContain(
      'run "polytls ca init --force" to replace both',
    );
  });

  test("loadRootCa without files says to run ca init and creates nothing", async () => {
    const paths = tempPaths();
    const err = await rejection(loadRootCa(paths, { now: NOW }));
    expect(err.code).toBe("CA_INVALID");
    expect(err.message).toContain("polytls ca init");
    expect(() => statSync(paths.keyPath)).toThrow();
  });

  test("an expired root is CA_INVALID", async () => {
    const { paths } = await newCa();
    const err = await rejection(loadRootCa(paths, { now: new Date(NOW.getTime() + 3651 * DAY_MS) }));
    expect(err.code).toBe("CA_INVALID");
    expect(err.message).toContain(paths.certPath);
  });

  test("createRootCa refuses existing files without force and replaces them with force", async () => {
    const fresh = tempPaths();
    const made = await createRootCa(fresh, { force: false, now: NOW });
    expect(readFileSync(fresh.certPath, "utf8")).toBe(made.certPem);

    const { paths, ca } = await newCa();
    const before = snapshot(paths);
    const err = await rejection(createRootCa(paths, { force: false }));
    expect(err.code).toBe("CA_EXISTS");
    expect(err.message).toContain(paths.keyPath);
    expect(snapshot(paths).key.equals(before.key)).toBe(true);

    unlinkSync(paths.keyPath); // the cert alone also blocks a non-forced init
    const certOnly = await rejection(createRootCa(paths, { force: false }));
    expect(certOnly.code).toBe("CA_EXISTS");
    expect(certOnly.message).toContain(paths.certPath);
    writeFileSync(paths.keyPath, before.key);

    const replaced = await createRootCa(paths, { force: true, now: NOW });
    expect(replaced.certPem).not.toBe(ca.certPem);
    const after = snapshot(paths);
    expect(after.key.equals(before.key)).toBe(false);
    expect(statSync(paths.keyPath).mode & 0o777).toBe(0o600);
    const reloaded = await loadRootCa(paths, { now: NOW });
    expect(reloaded.certPem).toBe(replaced.certPem);
  });

  test("inspect and JSON never show the private key", async () => {
    const { paths, ca } = await newCa();
    const keyBody = readFileSync(paths.keyPath, "utf8").split("\n")[1] ?? "";
    for (const text of [inspect(ca), Bun.inspect(ca), JSON.stringify(ca)]) {
      expect(text).not.toContain("PRIVATE KEY");
      expect(text).not.toContain(keyBody);
    }
    expect(inspect(ca)).toContain("[hidden]");
  });
});

function sanOf(cert: X509Certificate): { type: string; value: string }[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return san ? san.names.toJSON() : [];
}

describe("leaf minting", () => {
  test("DNS leaf: SAN, EKU, key usage, AKI, validity, chain, signed by the root", async () => {
    const { ca } = await newCa();
    const minter = await LeafMinter.create(ca);
    const leaf = await minter.mint("example.test", NOW);
    const cert = new x509.X509Certificate(leaf.certDer);

    expect(cert.subject).toBe("CN=example.test");
    expect(cert.issuer).toBe(ca.cert.subject);
    expect(sanOf(cert)).toEqual([{ type: "dns", value: "example.test" }]);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
    ]);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    expect(ku?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(ku?.critical).toBe(true);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    const rootSki = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(rootSki);
    expect(cert.signatureAlgorithm).toMatchObject({ name: "ECDSA", hash: { name: "SHA-256" } });

    expect(cert.notBefore.getTime()).toBe(NOW.getTime() - HOUR_MS);
    expect(cert.notAfter.getTime()).toBe(NOW.getTime() + LEAF_VALIDITY_DAYS * DAY_MS);
    expect(leaf.notAfter.getTime()).toBe(cert.notAfter.getTime());
    expect(await cert.verify({ publicKey: ca.cert.publicKey, date: NOW })).toBe(true);
    const otherCa = (await newCa()).ca;
    expect(await cert.verify({ publicKey: otherCa.cert.publicKey, date: NOW })).toBe(false);

    expect(leaf.chainDer).toHaveLength(2);
    expect(Buffer.from(leaf.chainDer[0] ?? []).equals(Buffer.from(leaf.certDer))).toBe(true);
    expect(Buffer.from(leaf.chainDer[1] ?? []).equals(Buffer.from(ca.certDer))).toBe(true);
    expect(leaf.chainPem).toBe(leaf.certPem + ca.certPem);

    // Independent parser: OpenSSL (node:crypto) agrees on issuer linkage, signature and host match.
    const node = new NodeX509(leaf.certDer);
    const nodeRoot = new NodeX509(ca.certDer);
    expect(node.checkIssued(nodeRoot)).toBe(true);
    expect(node.verify(nodeRoot.publicKey)).toBe(true);
    expect(node.checkHost("example.test")).toBe("example.test");
    expect(node.ca).toBe(false);
  });

  test("IP literals get an IP SAN, not a DNS SAN", async () => {
    const minter = await LeafMinter.create((await newCa()).ca);
    for (const host of ["127.0.0.1", "::1"]) {
      const leaf = await minter.mint(host, NOW);
      const cert = new x509.X509Certificate(leaf.certDer);
      const names = sanOf(cert);
      expect(names).toHaveLength(1);
      expect(names[0]?.type).toBe("ip");
      const node = new NodeX509(leaf.certDer);
      expect(node.subjectAltName).toStartWith("IP Address:");
      expect(node.checkIP(host)).toBe(host);
      expect(node.subjectAltName).not.toContain("DNS:");
    }
  });

  test("leaves share one public key and have distinct serials", async () => {
    const minter = await LeafMinter.create((await newCa()).ca);
    const a = new x509.X509Certificate((await minter.mint("a.example", NOW)).certDer);
    const b = new x509.X509Certificate((await minter.mint("b.example", NOW)).certDer);
    expect(Buffer.from(a.publicKey.rawData).equals(Buffer.from(b.publicKey.rawData))).toBe(true);
    expect(a.serialNumber).not.toBe(b.serialNumber);
  });

  test("a leaf never outlives its root", async () => {
    const { ca } = await newCa();
    const minter = await LeafMinter.create(ca);
    const late = new Date(ca.notAfter.getTime() - 2 * DAY_MS);
    const leaf = await minter.mint("late.example", late);
    expect(leaf.notAfter.getTime()).toBe(ca.notAfter.getTime());
  });

  test("hosts that are neither DNS names nor IP literals are refused", async () => {
    const minter = await LeafMinter.create((await newCa()).ca);
    for (const host of [
      "",
      "bad host",
      "a..b",
      "fe80::1%eth0",
      "[::1]",
      "x,O=evil",
      `${"a".repeat(64)}.test`,
    ]) {
      const err = await rejection(minter.mint(host, NOW));
      expect(err.code).toBe("BAD_AUTHORITY");
    }
  });

  test("inspect and JSON never show the leaf key", async () => {
    const minter = await LeafMinter.create((await newCa()).ca);
    const leaf = await minter.mint("example.test", NOW);
    const keyB64 = Buffer.from(leaf.keyPkcs8Der).toString("base64").slice(0, 40);
    for (const value of [leaf, minter]) {
      for (const text of [inspect(value), Bun.inspect(value), JSON.stringify(value)]) {
        expect(text).not.toContain("PRIVATE KEY");
        expect(text).not.toContain(keyB64);
      }
    }
    expect(leaf.keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n")).toBe(true);
  });
});

/** Serves `leaf` on 127.0.0.1:0, connects with `connectOpts`, returns the client's verdict. */
async function handshake(leaf: Leaf, connectOpts: tls.ConnectionOptions): Promise<{ authorized: boolean }> {
  const server = tls.createServer({ key: leaf.keyPem, cert: leaf.chainPem }, (socket) => {
    socket.on("error", () => {}); // the client may reset first; only its verdict matters
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ...connectOpts }, () => {
        resolve({ authorized: socket.authorized });
        socket.destroy();
      });
      socket.on("error", reject);
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("TLS handshake with a minted leaf", () => {
  // The client checks validity against the real clock, so these CAs and leaves use it too.
  test("a client trusting the root accepts the leaf for its SNI host and IP", async () => {
    const now = new Date();
    const { ca } = await newCa(now);
    const minter = await LeafMinter.create(ca);
    const dns = await handshake(await minter.mint("example.test", now), {
      servername: "example.test",
      ca: ca.certPem,
    });
    expect(dns.authorized).toBe(true);
    const ip = await handshake(await minter.mint("127.0.0.1", now), { ca: ca.certPem });
    expect(ip.authorized).toBe(true);
  });

  test("a client trusting another root, or expecting another host, rejects it", async () => {
    const now = new Date();
    const { ca } = await newCa(now);
    const other = (await newCa(now)).ca;
    const leaf = await (await LeafMinter.create(ca)).mint("example.test", now);
    const untrusted = await handshake(leaf, {
      servername: "example.test",
      ca: other.certPem,
      rejectUnauthorized: false,
    });
    expect(untrusted.authorized).toBe(false);
    const wrongHost = handshake(leaf, { servername: "other.test", ca: ca.certPem });
    await expect(wrongHost).rejects.toThrow();
  });
});
