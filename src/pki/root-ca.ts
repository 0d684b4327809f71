/**
 * The proxy's root CA: creating it, loading it from its two PEM files, and checking those files
 * (their permissions first, ca-safety.ts, then their content). Existing files are never
 * overwritten or deleted, except by `createRootCa` with `force`.
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import type { X509Certificate } from "@peculiar/x509";
import { ProxyError } from "../errors/proxy-error.ts";
import { type CaFile, caFileExists, createCaFilesExclusive, readCaFile, replaceCaFiles } from "./ca-files.ts";
import { checkCaFolder, checkCaKeyFile } from "./ca-safety.ts";
import {
  CLOCK_SKEW_BACKDATE_MS,
  EC_KEY_PARAMS,
  exportPkcs8,
  generateEcKeyPair,
  importSigningKey,
  randomSerialHex,
  SIGNING_ALGORITHM,
} from "./keys.ts";
import { decodePem, encodePem } from "./pem.ts";
import { x509 } from "./x509.ts";

const ROOT_CA_VALIDITY_DAYS = 3650; // days (10 years); a local root the user installs once, not re-issued
const DAY_MS = 24 * 60 * 60 * 1000; // ms per day
const CA_ID_BYTES = 4; // bytes → 8 hex chars in the CN, so several PolyTLS roots can be told apart in a trust store

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

export interface CaPaths {
  keyPath: string;
  certPath: string;
}

/** The root certificate and its signing key. The key never appears in logs or JSON. */
export class RootCa {
  readonly cert: X509Certificate;
  readonly #privateKey: CryptoKey;
  readonly #certDer: Uint8Array;
  readonly #certPem: string;

  constructor(cert: X509Certificate, privateKey: CryptoKey) {
    this.cert = cert;
    this.#privateKey = privateKey;
    this.#certDer = new Uint8Array(cert.rawData);
    this.#certPem = encodePem("CERTIFICATE", this.#certDer);
  }

  /** Non-extractable ECDSA P-256 signing key. */
  get privateKey(): CryptoKey {
    return this.#privateKey;
  }

  get certDer(): Uint8Array {
    return this.#certDer;
  }

  get certPem(): string {
    return this.#certPem;
  }

  get subject(): string {
    return this.cert.subject;
  }

  get notAfter(): Date {
    return this.cert.notAfter;
  }

  /** SHA-256 of the certificate DER as colon-separated upper-case hex (as browsers display it). */
  get sha256Fingerprint(): string {
    return sha256Fingerprint(this.#certDer);
  }

  toJSON(): { subject: string; notAfter: string; sha256Fingerprint: string } {
    return {
      subject: this.subject,
      notAfter: this.notAfter.toISOString(),
      sha256Fingerprint: this.sha256Fingerprint,
    };
  }

  [INSPECT](): string {
    return `RootCa { subject: ${JSON.stringify(this.subject)}, notAfter: ${this.notAfter.toISOString()}, privateKey: [hidden] }`;
  }
}

/**
 * SHA-256 of a certificate's DER as colon-separated upper-case hex, the form of
 * `openssl x509 -noout -fingerprint -sha256` and of browsers' certificate viewers.
 */
export function sha256Fingerprint(der: Uint8Array): string {
  const hex = createHash("sha256").update(der).digest("hex").toUpperCase();
  return hex.match(/../g)?.join(":") ?? hex;
}

/** Generates a new root CA valid from `now` − 1 h for 10 years. Returns the CA and its key as PKCS#8 PEM. */
export async function generateRootCa(now: Date): Promise<{ ca: RootCa; keyPem: string }> {
  const keys = await generateEcKeyPair();
  const id = Buffer.from(crypto.getRandomValues(new Uint8Array(CA_ID_BYTES))).toString("hex");
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: `CN=PolyTLS Root CA ${id}, O=PolyTLS`,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_BACKDATE_MS),
    notAfter: new Date(now.getTime() + ROOT_CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await exportPkcs8(keys.privateKey);
  const signingKey = await importSigningKey(pkcs8);
  return { ca: new RootCa(cert, signingKey), keyPem: encodePem("PRIVATE KEY", pkcs8) };
}

function invalid(message: string, cause?: unknown): ProxyError {
  return new ProxyError("CA_INVALID", message, cause === undefined ? undefined : { cause });
}

function parseCaCert(text: string, path: string, now: Date): X509Certificate {
  const pem = decodePem(text, "CERTIFICATE");
  if (!pem.ok) throw invalid(`CA certificate ${path}: ${pem.reason}`);
  let cert: X509Certificate;
  try {
    cert = new x509.X509Certificate(pem.der);
  } catch (err) {
    throw invalid(`CA certificate ${path}: not a valid X.509 certificate`, err);
  }
  const alg = cert.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (alg.name !== EC_KEY_PARAMS.name || alg.namedCurve !== EC_KEY_PARAMS.namedCurve) {
    const found = [alg.name, alg.namedCurve].filter(Boolean).join(" ") || "unknown";
    throw invalid(`CA certificate ${path}: public key is ${found}; only ECDSA P-256 CAs are supported`);
  }
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
    throw invalid(`CA certificate ${path}: not a CA certificate (basicConstraints CA:TRUE missing)`);
  }
  if (now.getTime() > cert.notAfter.getTime()) {
    throw invalid(`CA certificate ${path}: expired on ${cert.notAfter.toISOString()}`);
  }
  if (now.getTime() < cert.notBefore.getTime()) {
    throw invalid(`CA certificate ${path}: not valid before ${cert.notBefore.toISOString()}`);
  }
  return cert;
}

async function parseCaKey(text: string, path: string): Promise<CryptoKey> {
  const pem = decodePem(text, "PRIVATE KEY");
  if (!pem.ok) throw invalid(`CA key ${path}: ${pem.reason} (expected a PKCS#8 "PRIVATE KEY")`);
  try {
    return await importSigningKey(pem.der);
  } catch (err) {
    throw invalid(`CA key ${path}: not a PKCS#8 ECDSA P-256 private key`, err);
  }
}

/** Proves the key belongs to the certificate: sign a random challenge, verify with the cert's public key. */
async function keyMatchesCert(key: CryptoKey, cert: X509Certificate): Promise<boolean> {
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const signature = await crypto.subtle.sign(SIGNING_ALGORITHM, key, challenge);
  const publicKey = await cert.publicKey.export(EC_KEY_PARAMS, ["verify"]);
  return crypto.subtle.verify(SIGNING_ALGORITHM, publicKey, signature, challenge);
}

/** Refuses CA files other users could read or replace, before anything is read (ca-safety.ts). */
async function checkCaFiles(paths: CaPaths): Promise<void> {
  for (const dir of new Set([dirname(paths.keyPath), dirname(paths.certPath)])) await checkCaFolder(dir);
  await checkCaKeyFile(paths.keyPath);
}

async function readRootCa(paths: CaPaths, now: Date): Promise<RootCa> {
  await checkCaFiles(paths);
  const keyText = await readCaFile(paths.keyPath, "CA key");
  const certText = await readCaFile(paths.certPath, "CA certificate");
  const cert = parseCaCert(certText, paths.certPath, now);
  const key = await parseCaKey(keyText, paths.keyPath);
  if (!(await keyMatchesCert(key, cert))) {
    throw invalid(
      `CA key ${paths.keyPath} does not match the public key of CA certificate ${paths.certPath}`,
    );
  }
  return new RootCa(cert, key);
}

/** How a hint names `polytls ca init` for these paths. */
export interface CaHintOptions {
  /** The flags that locate the CA (`--ca-dir DIR`, `--config FILE`), as the user gave them. */
  initFlags?: readonly string[];
}

/** `polytls ca init [--force] <flags>`, the command a hint tells the user to run. */
export function caInitCommand(hint: CaHintOptions | undefined, force: boolean): string {
  return ["polytls ca init", ...(force ? ["--force"] : []), ...(hint?.initFlags ?? [])].join(" ");
}

/**
 * Which of the two files exist; throws CA_INVALID when exactly one does (`ca path` and `ca export`
 * call it too, so their hint for a lone key is this one).
 */
export async function probeCaFiles(paths: CaPaths, hint?: CaHintOptions): Promise<"none" | "both"> {
  const [hasKey, hasCert] = await Promise.all([
    caFileExists(paths.keyPath, "CA key"),
    caFileExists(paths.certPath, "CA certificate"),
  ]);
  if (hasKey && hasCert) return "both";
  if (!hasKey && !hasCert) return "none";
  const [present, missing] = hasKey ? [paths.keyPath, paths.certPath] : [paths.certPath, paths.keyPath];
  throw invalid(
    `CA file ${missing} is missing but ${present} exists; restore it, or run "${caInitCommand(hint, true)}" to replace both`,
  );
}

function caFiles(paths: CaPaths, ca: RootCa, keyPem: string): CaFile[] {
  return [
    { path: paths.keyPath, data: keyPem, secret: true },
    { path: paths.certPath, data: ca.certPem, secret: false },
  ];
}

/**
 * Loads the CA, or creates both files when neither exists. Exactly one file present, an unreadable or
 * corrupt file, a key or folder other users could read or replace (ca-safety.ts), or a key that does
 * not match the certificate is CA_INVALID naming the file.
 */
export async function loadOrCreateRootCa(
  paths: CaPaths,
  opts?: { now?: Date } & CaHintOptions,
): Promise<{ ca: RootCa; created: boolean }> {
  const now = opts?.now ?? new Date();
  if ((await probeCaFiles(paths, opts)) === "both")
    return { ca: await readRootCa(paths, now), created: false };
  const { ca, keyPem } = await generateRootCa(now);
  await createCaFilesExclusive(caFiles(paths, ca, keyPem));
  return { ca, created: true };
}

/** Loads an existing CA; missing files are CA_INVALID telling the user to run `polytls ca init`. */
export async function loadRootCa(paths: CaPaths, opts?: { now?: Date } & CaHintOptions): Promise<RootCa> {
  if ((await probeCaFiles(paths, opts)) === "none") {
    throw invalid(
      `CA not found: neither ${paths.keyPath} nor ${paths.certPath} exists; run "${caInitCommand(opts, false)}"`,
    );
  }
  return readRootCa(paths, opts?.now ?? new Date());
}

/**
 * `polytls ca init`: creates a new CA. Without `force`, refuses with CA_EXISTS naming the first existing
 * file; with `force`, replaces both files atomically (temp file + rename).
 */
export async function createRootCa(paths: CaPaths, opts: { force: boolean; now?: Date }): Promise<RootCa> {
  if (!opts.force) {
    for (const [path, what] of [
      [paths.keyPath, "CA key"],
      [paths.certPath, "CA certificate"],
    ] as const) {
      if (await caFileExists(path, what)) {
        throw new ProxyError("CA_EXISTS", `${what} ${path} already exists; use --force to replace it`);
      }
    }
  }
  const { ca, keyPem } = await generateRootCa(opts.now ?? new Date());
  if (opts.force) await replaceCaFiles(caFiles(paths, ca, keyPem));
  else await createCaFilesExclusive(caFiles(paths, ca, keyPem));
  return ca;
}

/**
 * `polytls ca path` / `ca export`: the CA certificate file (PEM, DER, SHA-256 fingerprint), or
 * null when it does not exist yet; the key is not read. A file that is not a usable CA
 * certificate is CA_INVALID naming it.
 */
export async function readCaCertificate(
  certPath: string,
  opts?: { now?: Date },
): Promise<{ pem: string; der: Uint8Array; sha256: string } | null> {
  if (!(await caFileExists(certPath, "CA certificate"))) return null;
  const cert = parseCaCert(await readCaFile(certPath, "CA certificate"), certPath, opts?.now ?? new Date());
  const der = new Uint8Array(cert.rawData);
  return { pem: encodePem("CERTIFICATE", der), der, sha256: sha256Fingerprint(der) };
}
