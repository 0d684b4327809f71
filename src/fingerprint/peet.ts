import { ProxyError } from "../errors/proxy-error.ts";
import { EXT } from "./extensions.ts";
import { isGrease, withoutGrease } from "./grease.ts";
import { SIGALG_IDS } from "./names.ts";
import { PEET_GREASE, peetAlpn } from "./peetprint.ts";
import { type ClientHelloFingerprint, GREASE, type KeyShareEntry } from "./types.ts";

type Json = Record<string, unknown>;

function invalid(reason: string): ProxyError {
  return new ProxyError("CONFIG_INVALID", `tls.peet.ws capture: ${reason}`);
}

function isRecord(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringField(obj: Json, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== "string") throw invalid(`${where}.${key} is not a string`);
  return v;
}

function stringArray(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    throw invalid(`${where} is not a list of strings`);
  }
  return v;
}

function u16(text: string, where: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 0xffff) throw invalid(`${where}: "${text}" is not a u16`);
  return Number(text);
}

/** "-"-joined decimal list; "GREASE" allowed when `grease` (peetprint). Empty string → []. */
function numList(text: string, where: string, grease: boolean): number[] {
  if (text === "") return [];
  return text.split("-").map((t) => (grease && t === PEET_GREASE ? GREASE : u16(t, where)));
}

/** Code point at the end of a peet name: "X25519 (29)", "TLS_GREASE (0x5a5a)", "zlib (1)". */
function idFromName(name: string, where: string): number {
  const m = /\((\d+|0x[0-9a-fA-F]+)\)$/.exec(name);
  if (!m) throw invalid(`${where}: no code point in "${name}"`);
  const id = Number(m[1]);
  if (id > 0xffff) throw invalid(`${where}: code point in "${name}" exceeds 0xffff`);
  return isGrease(id) ? GREASE : id;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

interface Captured {
  ja3: string[];
  pp: string[];
  /** Extension details by code point (GREASE entries skipped). */
  details: Map<number, Json>;
}

function readCapture(json: unknown): Captured {
  if (!isRecord(json) || !isRecord(json.tls)) throw invalid("no `tls` object (not a /api/all answer)");
  const tls = json.tls;
  const ja3 = stringField(tls, "ja3", "tls").split(",");
  if (ja3.length !== 5) throw invalid(`tls.ja3 has ${ja3.length} fields, expected 5`);
  const pp = stringField(tls, "peetprint", "tls").split("|");
  if (pp.length !== 8) throw invalid(`tls.peetprint has ${pp.length} fields, expected 8`);
  if (!Array.isArray(tls.extensions)) throw invalid("tls.extensions is not a list");
  const details = new Map<number, Json>();
  for (const [i, ext] of tls.extensions.entries()) {
    if (!isRecord(ext)) throw invalid(`tls.extensions[${i}] is not an object`);
    const id = idFromName(stringField(ext, "name", `tls.extensions[${i}]`), `tls.extensions[${i}]`);
    if (id !== GREASE) details.set(id, ext);
  }
  return { ja3, pp, details };
}

/**
 * Wire order of the extensions: ja3 (GREASE removed) plus the GREASE count from the peetprint,
 * placed as BoringSSL does: one first, one after the others but before padding (21) and
 * pre_shared_key (41, which RFC 8446 §4.2.11 requires last).
 */
function extensionOrder(ja3Exts: number[], ppExts: string[]): number[] {
  const greaseCount = ppExts.filter((e) => e === PEET_GREASE).length;
  const expected = [...ja3Exts.map(String), ...Array<string>(greaseCount).fill(PEET_GREASE)].sort();
  if (expected.join("-") !== ppExts.join("-"))
    throw invalid("tls.ja3 and tls.peetprint disagree on extensions");
  if (greaseCount > 2) throw invalid(`${greaseCount} GREASE extensions: cannot place more than 2`);
  const out = [...ja3Exts];
  if (greaseCount === 0) return out;
  let tail = out.length;
  while (tail > 0 && (out[tail - 1] === EXT.PRE_SHARED_KEY || out[tail - 1] === EXT.PADDING)) tail--;
  if (greaseCount === 2) out.splice(tail, 0, GREASE);
  out.unshift(GREASE);
  return out;
}

function alpnOrder(detail: Json | undefined, ppAlpn: string): string[] {
  if (detail === undefined) return [];
  const protocols = stringArray(detail.protocols, "ALPN protocols");
  const order = ppAlpn === "" ? [] : ppAlpn.split("-");
  const rank = (p: string): number => order.indexOf(peetAlpn(p));
  if (protocols.length !== order.length || protocols.some((p) => rank(p) < 0)) {
    throw invalid(`ALPN ${JSON.stringify(protocols)} does not match peetprint "${ppAlpn}"`);
  }
  return [...protocols].sort((a, b) => rank(a) - rank(b));
}

/** Key shares: GREASE first if present, then the others in supported_groups order. */
function keyShares(detail: Json | undefined, groups: number[]): KeyShareEntry[] {
  if (detail === undefined) return [];
  const shares = detail.shared_keys;
  if (!Array.isArray(shares)) throw invalid("key_share.shared_keys is not a list");
  const entries = shares.map((s, i): KeyShareEntry => {
    const where = `key_share.shared_keys[${i}]`;
    if (!isRecord(s) || Object.keys(s).length !== 1) throw invalid(`${where} is not a one-key object`);
    const [name, hex] = Object.entries(s)[0]!;
    if (typeof hex !== "string" || !/^([0-9a-fA-F]{2})*$/.test(hex)) throw invalid(`${where} key is not hex`);
    return { group: idFromName(name, where), length: hex.length / 2 };
  });
  const rank = (g: number): number => {
    if (g === GREASE) return -1;
    const i = groups.indexOf(g);
    return i < 0 ? groups.length : i;
  };
  return entries.sort((a, b) => rank(a.group) - rank(b.group));
}

function recordSizeLimit(detail: Json | undefined): number | null {
  if (detail === undefined) return null;
  const data = stringField(detail, "data", "record_size_limit");
  if (!/^[0-9a-fA-F]{4}$/.test(data)) throw invalid(`record_size_limit data "${data}" is not a u16`);
  return Number.parseInt(data, 16);
}

function delegatedCredentials(detail: Json | undefined): number[] | null {
  if (detail === undefined) return null;
  return stringArray(detail.signature_hash_algorithms, "delegated_credentials algorithms").map((name) => {
    const id = SIGALG_IDS.get(name);
    if (id === undefined) throw invalid(`delegated_credentials: unknown signature scheme "${name}"`);
    return id;
  });
}

function pskModes(detail: Json | undefined, present: boolean, ppPsk: string): number[] {
  if (!present) return [];
  const mode = detail?.PSK_Key_Exchange_Mode;
  if (typeof mode === "string") return [idFromName(mode, "psk_key_exchange_modes")];
  return [u16(ppPsk, "peetprint psk mode")];
}

/** status_request is present; OCSP unless the detail names another status type. */
function ocsp(detail: Json | undefined): boolean {
  const req = detail?.status_request;
  if (!isRecord(req) || typeof req.certificate_status_type !== "string") return true;
  return idFromName(req.certificate_status_type, "status_request") === 1; // RFC 6066 ocsp(1)
}

/**
 * Converts a tls.peet.ws `/api/all` answer into the normalized fingerprint. Orders come from
 * `ja3` and `peetprint` (the `extensions[]` detail lists are partly sorted by name). Throws
 * ProxyError("CONFIG_INVALID") when the input is not such a capture.
 */
export function fingerprintFromPeet(json: unknown): ClientHelloFingerprint {
  const { ja3, pp, details } = readCapture(json);
  const [ja3Version, ja3Ciphers, ja3Exts, ja3Groups, ja3Points] = ja3 as [
    string,
    string,
    string,
    string,
    string,
  ];
  const [ppVersions, ppAlpn, ppGroups, ppSigalgs, ppPsk, ppCompression, ppCiphers, ppExts] = pp as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const ciphers = numList(ppCiphers, "peetprint ciphers", true);
  if (!sameList(withoutGrease(ciphers), numList(ja3Ciphers, "ja3 ciphers", false))) {
    throw invalid("tls.ja3 and tls.peetprint disagree on ciphers");
  }
  const groups = numList(ppGroups, "peetprint groups", true);
  if (!sameList(withoutGrease(groups), numList(ja3Groups, "ja3 groups", false))) {
    throw invalid("tls.ja3 and tls.peetprint disagree on supported groups");
  }
  const extensions = extensionOrder(
    numList(ja3Exts, "ja3 extensions", false),
    ppExts === "" ? [] : ppExts.split("-"),
  );
  const has = (id: number): boolean => extensions.includes(id);
  const alpsId = has(EXT.ALPS) ? EXT.ALPS : has(EXT.ALPS_OLD) ? EXT.ALPS_OLD : null;
  const alpsDetail = alpsId === null ? undefined : details.get(alpsId);
  const sniDetail = details.get(EXT.SERVER_NAME);
  return {
    legacyVersion: u16(ja3Version, "ja3 version"),
    ciphers,
    extensions,
    groups,
    pointFormats: numList(ja3Points, "ja3 point formats", false),
    sigalgs: numList(ppSigalgs, "peetprint sigalgs", true),
    versions: numList(ppVersions, "peetprint versions", true),
    keyShares: keyShares(has(EXT.KEY_SHARE) ? details.get(EXT.KEY_SHARE) : undefined, groups),
    pskModes: pskModes(details.get(EXT.PSK_KEY_EXCHANGE_MODES), has(EXT.PSK_KEY_EXCHANGE_MODES), ppPsk),
    alpn: alpnOrder(has(EXT.ALPN) ? details.get(EXT.ALPN) : undefined, ppAlpn),
    alps:
      alpsId === null
        ? null
        : {
            codepoint: alpsId,
            protocols: alpsDetail ? stringArray(alpsDetail.protocols, "ALPS protocols") : [],
          },
    certCompression: has(EXT.COMPRESS_CERTIFICATE)
      ? numList(ppCompression, "peetprint cert compression", true)
      : [],
    recordSizeLimit: has(EXT.RECORD_SIZE_LIMIT) ? recordSizeLimit(details.get(EXT.RECORD_SIZE_LIMIT)) : null,
    delegatedCredentials: has(EXT.DELEGATED_CREDENTIALS)
      ? delegatedCredentials(details.get(EXT.DELEGATED_CREDENTIALS))
      : null,
    ocsp: has(EXT.STATUS_REQUEST) && ocsp(details.get(EXT.STATUS_REQUEST)),
    sct: has(EXT.SCT),
    ech: has(EXT.ECH),
    sni:
      has(EXT.SERVER_NAME) && sniDetail && typeof sniDetail.server_name === "string"
        ? sniDetail.server_name
        : null,
  };
}

/** Parses the text of a saved `/api/all` answer (no file I/O here) and converts it. */
export function fingerprintFromPeetJson(text: string): ClientHelloFingerprint {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ProxyError("CONFIG_INVALID", "tls.peet.ws capture: not valid JSON", { cause: err });
  }
  return fingerprintFromPeet(json);
}
