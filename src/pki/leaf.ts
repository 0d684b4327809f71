/**
 * Per-host leaf certificates signed by the root CA. One leaf key pair is generated per minter and shared by
 * every leaf, so minting costs one ECDSA signature.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { Extension, JsonGeneralName } from "@peculiar/x509";
import { ProxyError } from "../errors/proxy-error.ts";
import {
  CLOCK_SKEW_BACKDATE_MS,
  exportPkcs8,
  generateEcKeyPair,
  randomSerialHex,
  SIGNING_ALGORITHM,
} from "./keys.ts";
import { encodePem } from "./pem.ts";
import type { RootCa } from "./root-ca.ts";
import { x509 } from "./x509.ts";

/**
 * Leaves are minted in memory and cheap to replace, so they are short-lived. 30 days is far under the
 * 398/825-day caps browsers and Apple platforms put on TLS server certificates (support.apple.com/HT211025,
 * support.apple.com/HT210176), and long enough that no cached leaf expires in use.
 */
export const LEAF_VALIDITY_DAYS = 30; // days
const DAY_MS = 24 * 60 * 60 * 1000; // ms per day
const MAX_DNS_NAME_LENGTH = 253; // characters; RFC 1035 §2.3.4 (255 octets on the wire)
const DNS_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i; // RFC 1123 labels, "_" tolerated as in real names

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** The subjectAltName entry for `host`: an IP address SAN for IP literals, else a DNS SAN. */
export function subjectAltNameFor(host: string): JsonGeneralName {
  if (isIPv4(host)) return { type: "ip", value: host };
  if (isIPv6(host) && !host.includes("%")) return { type: "ip", value: host };
  const labels = host.split(".");
  if (host.length <= MAX_DNS_NAME_LENGTH && labels.every((l) => DNS_LABEL.test(l))) {
    return { type: "dns", value: host };
  }
  throw new ProxyError(
    "BAD_AUTHORITY",
    `cannot mint a certificate for ${JSON.stringify(host)}: not a DNS name or IP`,
  );
}

/** A minted leaf: certificate, chain and the (shared) private key. The key never appears in logs or JSON. */
export class Leaf {
  readonly host: string;
  readonly certDer: Uint8Array;
  /** [leaf, root] as DER. */
  readonly chainDer: Uint8Array[];
  readonly certPem: string;
  /** Leaf PEM followed by root PEM: the `cert` value for a TLS server. */
  readonly chainPem: string;
  readonly notAfter: Date;
  readonly #keyPkcs8Der: Uint8Array;
  readonly #keyPem: string;

  constructor(
    host: string,
    certDer: Uint8Array,
    ca: RootCa,
    notAfter: Date,
    key: { der: Uint8Array; pem: string },
  ) {
    this.host = host;
    this.certDer = certDer;
    this.chainDer = [certDer, ca.certDer];
    this.certPem = encodePem("CERTIFICATE", certDer);
    this.chainPem = this.certPem + ca.certPem;
    this.notAfter = notAfter;
    this.#keyPkcs8Der = key.der;
    this.#keyPem = key.pem;
  }

  /** The leaf private key, PKCS#8 DER (shared by all leaves of one minter; do not mutate). */
  get keyPkcs8Der(): Uint8Array {
    return this.#keyPkcs8Der;
  }

  /** The leaf private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). */
  get keyPem(): string {
    return this.#keyPem;
  }

  toJSON(): { host: string; notAfter: string } {
    return { host: this.host, notAfter: this.notAfter.toISOString() };
  }

  [INSPECT](): string {
    return `Leaf { host: ${JSON.stringify(this.host)}, notAfter: ${this.notAfter.toISOString()}, key: [hidden] }`;
  }
}

export class LeafMinter {
  readonly #ca: RootCa;
  readonly #publicKey: CryptoKey;
  readonly #key: { der: Uint8Array; pem: string };
  /** Extensions identical for every leaf: computed once. */
  readonly #fixedExtensions: Extension[];

  private constructor(
    ca: RootCa,
    publicKey: CryptoKey,
    key: { der: Uint8Array; pem: string },
    fixed: Extension[],
  ) {
    this.#ca = ca;
    this.#publicKey = publicKey;
    this.#key = key;
    this.#fixedExtensions = fixed;
  }

  /** Generates the shared leaf key pair and the extensions every leaf carries. */
  static async create(ca: RootCa): Promise<LeafMinter> {
    const keys = await generateEcKeyPair();
    const der = await exportPkcs8(keys.privateKey);
    // Use the root's own subjectKeyIdentifier when present so the AKI matches it exactly (RFC 5280 §4.2.1.1).
    const rootSki = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const aki = rootSki
      ? new x509.AuthorityKeyIdentifierExtension(rootSki.keyId, false)
      : await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false);
    const fixed: Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      aki,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false),
    ];
    return new LeafMinter(ca, keys.publicKey, { der, pem: encodePem("PRIVATE KEY", der) }, fixed);
  }

  /**
   * Mints a leaf for `host` (DNS name, IPv4 literal, or IPv6 literal without brackets), valid from
   * `now` − 1 h to `now` + LEAF_VALIDITY_DAYS, never past the root's own notAfter.
   */
  async mint(host: string, now: Date): Promise<Leaf> {
    const san = subjectAltNameFor(host);
    const notAfterMs = Math.min(now.getTime() + LEAF_VALIDITY_DAYS * DAY_MS, this.#ca.notAfter.getTime());
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerialHex(),
      subject: [{ CN: [host] }],
      issuer: this.#ca.cert.subjectName,
      notBefore: new Date(now.getTime() - CLOCK_SKEW_BACKDATE_MS),
      notAfter: new Date(notAfterMs),
      signingAlgorithm: SIGNING_ALGORITHM,
      publicKey: this.#publicKey,
      signingKey: this.#ca.privateKey,
      extensions: [new x509.SubjectAlternativeNameExtension([san], false), ...this.#fixedExtensions],
    });
    return new Leaf(host, new Uint8Array(cert.rawData), this.#ca, cert.notAfter, this.#key);
  }

  toJSON(): { issuer: string } {
    return { issuer: this.#ca.subject };
  }

  [INSPECT](): string {
    return `LeafMinter { issuer: ${JSON.stringify(this.#ca.subject)}, key: [hidden] }`;
  }
}
