import { createHash } from "node:crypto";
import { EXT } from "./extensions.ts";
import { hex4, isGrease, withoutGrease } from "./grease.ts";
import type { ClientHelloFingerprint } from "./types.ts";

/** JA4 TLS version codes (FoxIO JA4 specification, "TLS Version"). */
const VERSION_CODES: ReadonlyMap<number, string> = new Map([
  [0x0304, "13"],
  [0x0303, "12"],
  [0x0302, "11"],
  [0x0301, "10"],
  [0x0300, "s3"],
  [0x0002, "s2"],
  [0xfeff, "d1"],
  [0xfefd, "d2"],
  [0xfefc, "d3"],
]);
const EMPTY_HASH = "000000000000"; // JA4 spec: hash written when the list is empty
const HASH_CHARS = 12; // JA4 spec: truncated SHA-256, 12 hex chars
const MAX_COUNT = 99; // JA4 spec: counts are 2 digits, capped at 99

export interface Ja4Options {
  /** QUIC hello ("q") instead of TCP TLS ("t"). Default false. */
  quic?: boolean;
}

function versionCode(fp: ClientHelloFingerprint): string {
  const versions = withoutGrease(fp.versions);
  const highest = versions.length > 0 ? Math.max(...versions) : fp.legacyVersion;
  return VERSION_CODES.get(highest) ?? "00";
}

function isAlnum(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/** First and last character of the first ALPN value; hex of them when not alphanumeric. */
function alpnCode(fp: ClientHelloFingerprint): string {
  const first = fp.alpn[0];
  if (first === undefined || first.length === 0) return "00";
  const a = first.charCodeAt(0);
  const z = first.charCodeAt(first.length - 1);
  if (isAlnum(a) && isAlnum(z)) return first[0]! + first[first.length - 1]!;
  const hexA = (a & 0xff).toString(16).padStart(2, "0");
  const hexZ = (z & 0xff).toString(16).padStart(2, "0");
  return hexA[0]! + hexZ[1]!;
}

function count(n: number): string {
  return String(Math.min(n, MAX_COUNT)).padStart(2, "0");
}

function hash12(text: string): string {
  if (text.length === 0) return EMPTY_HASH;
  return createHash("sha256").update(text).digest("hex").slice(0, HASH_CHARS);
}

interface Ja4Parts {
  a: string;
  ciphers: string;
  extensionsAndSigalgs: string;
}

function parts(fp: ClientHelloFingerprint, opts: Ja4Options): Ja4Parts {
  const ciphers = withoutGrease(fp.ciphers);
  const extensions = withoutGrease(fp.extensions);
  const a =
    (opts.quic ? "q" : "t") +
    versionCode(fp) +
    (extensions.includes(EXT.SERVER_NAME) ? "d" : "i") +
    count(ciphers.length) +
    count(extensions.length) +
    alpnCode(fp);
  const sortedCiphers = ciphers.map(hex4).sort().join(",");
  const sortedExts = extensions
    .filter((e) => e !== EXT.SERVER_NAME && e !== EXT.ALPN)
    .map(hex4)
    .sort()
    .join(",");
  const sigalgs = fp.sigalgs
    .filter((s) => !isGrease(s))
    .map(hex4)
    .join(",");
  // JA4 spec: with no signature algorithms the string ends without the underscore.
  const extensionsAndSigalgs = sigalgs.length > 0 ? `${sortedExts}_${sigalgs}` : sortedExts;
  return { a, ciphers: sortedCiphers, extensionsAndSigalgs };
}

/** JA4 (FoxIO): `a_b_c` with b, c the truncated SHA-256 of the sorted cipher and extension lists. */
export function ja4(fp: ClientHelloFingerprint, opts: Ja4Options = {}): string {
  const p = parts(fp, opts);
  return `${p.a}_${hash12(p.ciphers)}_${hash12(p.extensionsAndSigalgs)}`;
}

/** JA4_r: the raw (unhashed) form of JA4, lists as comma-separated 4-digit hex. */
export function ja4r(fp: ClientHelloFingerprint, opts: Ja4Options = {}): string {
  const p = parts(fp, opts);
  return `${p.a}_${p.ciphers}_${p.extensionsAndSigalgs}`;
}
