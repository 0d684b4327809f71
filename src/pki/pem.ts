/** PEM text ⇄ DER bytes (RFC 7468). Pure: no I/O. */

const LINE_LENGTH = 64; // characters per base64 line; RFC 7468 §2 (strict encoders)

/** `der` owns its own `ArrayBuffer` (WebCrypto and @peculiar/x509 take `BufferSource`). */
export type PemDecodeResult = { ok: true; der: Uint8Array<ArrayBuffer> } | { ok: false; reason: string };

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += LINE_LENGTH) lines.push(b64.slice(i, i + LINE_LENGTH));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Returns the DER of the first block labelled `label`. Text outside blocks is ignored (RFC 7468 §2
 * allows explanatory text). Other labels found instead are named in the reason.
 */
export function decodePem(text: string, label: string): PemDecodeResult {
  const blocks = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  const seen: string[] = [];
  for (const m of text.matchAll(blocks)) {
    const begin = m[1] ?? "";
    const body = m[2] ?? "";
    if (begin !== label) {
      seen.push(begin);
      continue;
    }
    if (m[3] !== begin) return { ok: false, reason: `PEM block "${begin}" ends with "${m[3]}"` };
    const compact = body.replace(/\s+/g, "");
    if (compact.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
      return { ok: false, reason: `PEM block "${label}" has invalid base64` };
    }
    return { ok: true, der: new Uint8Array(Buffer.from(compact, "base64")) };
  }
  if (seen.length > 0) {
    return {
      ok: false,
      reason: `expected a "${label}" PEM block, found ${seen.map((s) => `"${s}"`).join(", ")}`,
    };
  }
  return { ok: false, reason: `no "${label}" PEM block` };
}
