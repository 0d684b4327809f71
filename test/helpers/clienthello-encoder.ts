/**
 * TEST-ONLY ClientHello encoder: writes a handshake message carrying exactly the components of a
 * fingerprint, so the parser can be checked by round trip. Not a TLS implementation: randoms and
 * key shares are filler bytes.
 */
import { EXT } from "../../src/fingerprint/extensions.ts";
import { isGrease } from "../../src/fingerprint/grease.ts";
import type { ClientHelloFingerprint } from "../../src/fingerprint/types.ts";

class Writer {
  readonly bytes: number[] = [];
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >> 8).u8(v);
  }
  u24(v: number): this {
    return this.u8(v >> 16).u16(v);
  }
  u16s(values: readonly number[]): this {
    for (const v of values) this.u16(v);
    return this;
  }
  /** u8-length-prefixed names (ALPN, ALPS). */
  names(values: readonly string[]): this {
    for (const v of values) this.vec(1, (n) => n.raw(ascii(v)));
    return this;
  }
  raw(data: ArrayLike<number>): this {
    for (let i = 0; i < data.length; i++) this.u8(data[i]!);
    return this;
  }
  /** Writes what `fill` writes, preceded by its length in `prefix` bytes. */
  vec(prefix: 1 | 2 | 3, fill: (w: Writer) => void): this {
    const inner = new Writer();
    fill(inner);
    const n = inner.bytes.length;
    if (prefix === 1) this.u8(n);
    else if (prefix === 2) this.u16(n);
    else this.u24(n);
    return this.raw(inner.bytes);
  }
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

export interface EncodeOptions {
  /** Write each GREASE marker as a different real GREASE value (0x1a1a, 0x2a2a, …). Default true. */
  varyGrease?: boolean;
}

export function encodeClientHello(fp: ClientHelloFingerprint, opts: EncodeOptions = {}): Uint8Array {
  let greaseIndex = 0;
  const g = (v: number): number => {
    if (!isGrease(v) || opts.varyGrease === false) return v;
    greaseIndex = (greaseIndex % 15) + 1;
    return greaseIndex * 0x1010 + 0x0a0a;
  };
  let greaseExts = 0;
  const payload = (type: number, w: Writer): void => {
    if (isGrease(type)) {
      if (greaseExts++ > 0) w.u8(0); // BoringSSL: second GREASE extension carries one zero byte
      return;
    }
    switch (type) {
      case EXT.SERVER_NAME:
        if (fp.sni !== null) w.vec(2, (l) => l.u8(0).vec(2, (n) => n.raw(ascii(fp.sni ?? ""))));
        return;
      case EXT.STATUS_REQUEST:
        if (fp.ocsp) w.u8(1).u16(0).u16(0);
        else w.u8(2).u16(0).u16(0);
        return;
      case EXT.SUPPORTED_GROUPS:
        w.vec(2, (l) => l.u16s(fp.groups.map(g)));
        return;
      case EXT.EC_POINT_FORMATS:
        w.vec(1, (l) => l.raw(fp.pointFormats));
        return;
      case EXT.SIGNATURE_ALGORITHMS:
        w.vec(2, (l) => l.u16s(fp.sigalgs.map(g)));
        return;
      case EXT.ALPN:
        w.vec(2, (l) => l.names(fp.alpn));
        return;
      case EXT.COMPRESS_CERTIFICATE:
        w.vec(1, (l) => l.u16s(fp.certCompression.map(g)));
        return;
      case EXT.RECORD_SIZE_LIMIT:
        w.u16(fp.recordSizeLimit ?? 16385);
        return;
      case EXT.DELEGATED_CREDENTIALS:
        w.vec(2, (l) => l.u16s((fp.delegatedCredentials ?? []).map(g)));
        return;
      case EXT.SUPPORTED_VERSIONS:
        w.vec(1, (l) => l.u16s(fp.versions.map(g)));
        return;
      case EXT.PSK_KEY_EXCHANGE_MODES:
        w.vec(1, (l) => l.raw(fp.pskModes));
        return;
      case EXT.KEY_SHARE:
        w.vec(2, (l) => {
          for (const k of fp.keyShares)
            l.u16(g(k.group)).vec(2, (d) => d.raw(new Uint8Array(k.length).fill(0x42)));
        });
        return;
      case EXT.ALPS:
      case EXT.ALPS_OLD:
        w.vec(2, (l) => l.names(fp.alps?.protocols ?? []));
        return;
      case EXT.ECH:
        w.raw([0, 0, 1, 0, 1, 0x77, 0, 0x20])
          .raw(new Uint8Array(32).fill(7))
          .vec(2, (d) => d.raw([1, 2, 3]));
        return;
      case EXT.RENEGOTIATION_INFO:
        w.u8(0);
        return;
      case EXT.PRE_SHARED_KEY:
        // identities: one identity + u32 obfuscated_ticket_age; binders: one 32-byte binder
        w.vec(2, (l) =>
          l
            .vec(2, (id) => id.raw([9, 9, 9]))
            .u16(0)
            .u16(0),
        );
        w.vec(2, (b) => b.vec(1, (x) => x.raw(new Uint8Array(32).fill(5))));
        return;
      default:
        return; // empty payload (extended_master_secret, session_ticket, sct, …)
    }
  };
  const body = new Writer()
    .u16(fp.legacyVersion)
    .raw(new Uint8Array(32).fill(0xab))
    .vec(1, (s) => s.raw(new Uint8Array(32).fill(0xcd)))
    .vec(2, (l) => l.u16s(fp.ciphers.map(g)))
    .vec(1, (l) => l.u8(0))
    .vec(2, (l) => {
      for (const t of fp.extensions) l.u16(g(t)).vec(2, (d) => payload(t, d));
    });
  return new Uint8Array(new Writer().u8(1).vec(3, (w) => w.raw(body.bytes)).bytes);
}

/**
 * Wraps a handshake message in TLS records, cutting it at the given offsets of the message
 * (e.g. [100] → two records).
 */
export function wrapInRecords(message: Uint8Array, cuts: number[] = [], recordVersion = 0x0301): Uint8Array {
  const bounds = [0, ...cuts, message.length];
  const w = new Writer();
  for (let i = 0; i + 1 < bounds.length; i++) {
    const part = message.subarray(bounds[i]!, bounds[i + 1]!);
    w.u8(22)
      .u16(recordVersion)
      .vec(2, (d) => d.raw(part));
  }
  return new Uint8Array(w.bytes);
}
