/** Key, signature, serial and validity parameters shared by the root CA and the leaves. */

/** ECDSA P-256: fast to generate and sign with, accepted by every TLS client (RFC 8422, RFC 8446 §4.2.3). */
export const EC_KEY_PARAMS = { name: "ECDSA", namedCurve: "P-256" } as const;

/** ecdsa-with-SHA256, the signature paired with P-256 (RFC 5758 §3.2). */
export const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

/**
 * Both CA and leaves start this long before `now`, so a client whose clock runs a little behind the
 * proxy's still accepts them.
 */
export const CLOCK_SKEW_BACKDATE_MS = 60 * 60 * 1000; // ms (1 hour); common MITM-CA practice for skewed clients

const SERIAL_BYTES = 16; // bytes; ≥ 64 bits of CSPRNG output as CA/Browser Forum BR §7.1 asks, 20-octet cap in RFC 5280 §4.1.2.2

/** Generates an extractable ECDSA P-256 key pair. */
export async function generateEcKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC_KEY_PARAMS, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** Exports a private key as PKCS#8 DER. */
export async function exportPkcs8(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("pkcs8", key));
}

/** Imports a PKCS#8 DER ECDSA P-256 private key, non-extractable, for signing. */
export async function importSigningKey(pkcs8: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("pkcs8", new Uint8Array(pkcs8), EC_KEY_PARAMS, false, ["sign"]);
}

/**
 * A random positive serial as hex, 16 bytes. The top bit is cleared (positive INTEGER, RFC 5280 §4.1.2.2)
 * and bit 6 is set so the first byte is never 0x00: that keeps the DER INTEGER minimal, which strict
 * parsers (e.g. Go's encoding/asn1) require.
 */
export function randomSerialHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SERIAL_BYTES));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return Buffer.from(bytes).toString("hex");
}
