/**
 * A client that does not trust the proxy's CA ends the handshake with a certificate alert; OpenSSL
 * clients send it in plaintext even under TLS 1.3, where the engine expects it encrypted and then
 * reports `bad_record_mac`, which points at corruption rather than at the usual setup mistake.
 * This spots such an alert record in what the client sent (pure) so the failure can say what
 * happened.
 */

const ALERT_RECORD = 0x15;
const ALERT_LENGTH = 2; // level, description (RFC 8446 §6)

/** Certificate alerts (IANA TLS Alerts): the client refused our certificate. */
const CERTIFICATE_ALERTS: ReadonlyMap<number, string> = new Map([
  [42, "bad_certificate"],
  [43, "unsupported_certificate"],
  [44, "certificate_revoked"],
  [45, "certificate_expired"],
  [46, "certificate_unknown"],
  [48, "unknown_ca"],
]);

/** The description of a plaintext alert record starting `bytes`, or -1. */
export function plaintextAlert(bytes: Uint8Array): number {
  if (bytes.length < 5 + ALERT_LENGTH) return -1;
  if (bytes[0] !== ALERT_RECORD || bytes[1] !== 0x03 || bytes[3] !== 0 || bytes[4] !== ALERT_LENGTH)
    return -1;
  return bytes[6] as number;
}

/** The message for a handshake the client ended with alert `desc`; null when it is no certificate alert. */
export function refusedCertificate(desc: number): string | null {
  const name = CERTIFICATE_ALERTS.get(desc);
  if (name === undefined) return null;
  return `the client refused the proxy's certificate (alert ${name}): does it trust the PolyTLS CA? (README: Trusting the CA)`;
}
