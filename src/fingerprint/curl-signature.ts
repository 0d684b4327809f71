/**
 * curl-impersonate signature files (`tests/signatures/*.yaml` of lwthiker/ and
 * lexiforest/curl-impersonate): a browser's ClientHello as parsed fields and its first HTTP/2
 * frames (SETTINGS, WINDOW_UPDATE, HEADERS with pseudo-header and header order). Turned into a
 * ClientHelloFingerprint (comparable with a recorded hello) and the HTTP/2 facts a profile must
 * reproduce. Pure: takes the YAML text.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { akamaiString } from "../http/h2/akamai.ts";
import { EXT } from "./extensions.ts";
import { type ClientHelloFingerprint, emptyFingerprint, GREASE, type KeyShareEntry } from "./types.ts";

/** The HTTP/2 start of a signature: what the Akamai string is made of plus the HEADERS fields. */
export interface SignatureH2 {
  settings: [number, number][];
  /** Connection WINDOW_UPDATE increment, null when none is listed. */
  windowUpdate: number | null;
  akamai: string;
  /** Stream id of the first HEADERS frame. */
  streamId: number;
  pseudoHeaders: string[];
  /** Regular fields in wire order, names lowercase. */
  headers: [string, string][];
}

export interface CurlSignature {
  browser: { name: string; os: string; version: string };
  fingerprint: ClientHelloFingerprint;
  /** The signature permutes its extensions (Chrome): only the extension set is meaningful. */
  permutesExtensions: boolean;
  h2: SignatureH2 | null;
}

type Json = Record<string, unknown>;

/** Extension type names used by the signature files → code points. */
const EXTENSION_IDS: Readonly<Record<string, number>> = {
  server_name: EXT.SERVER_NAME,
  status_request: EXT.STATUS_REQUEST,
  supported_groups: EXT.SUPPORTED_GROUPS,
  ec_point_formats: EXT.EC_POINT_FORMATS,
  signature_algorithms: EXT.SIGNATURE_ALGORITHMS,
  application_layer_protocol_negotiation: EXT.ALPN,
  signed_certificate_timestamp: EXT.SCT,
  padding: EXT.PADDING,
  extended_master_secret: EXT.EXTENDED_MASTER_SECRET,
  compress_certificate: EXT.COMPRESS_CERTIFICATE,
  record_size_limit: EXT.RECORD_SIZE_LIMIT,
  delegated_credentials: EXT.DELEGATED_CREDENTIALS,
  session_ticket: EXT.SESSION_TICKET,
  pre_shared_key: EXT.PRE_SHARED_KEY,
  supported_versions: EXT.SUPPORTED_VERSIONS,
  psk_key_exchange_modes: EXT.PSK_KEY_EXCHANGE_MODES,
  keyshare: EXT.KEY_SHARE,
  application_settings: EXT.ALPS_OLD,
  application_settings_new: EXT.ALPS,
  encrypted_client_hello: EXT.ECH,
  renegotiation_info: EXT.RENEGOTIATION_INFO,
  GREASE,
};

const VERSION_IDS: Readonly<Record<string, number>> = {
  GREASE,
  TLS_VERSION_1_0: 0x0301,
  TLS_VERSION_1_1: 0x0302,
  TLS_VERSION_1_2: 0x0303,
  TLS_VERSION_1_3: 0x0304,
};

function invalid(reason: string): ProxyError {
  return new ProxyError("CONFIG_INVALID", `curl-impersonate signature: ${reason}`);
}

function isRecord(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function record(v: unknown, where: string): Json {
  if (!isRecord(v)) throw invalid(`${where} is not a table`);
  return v;
}

function list(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(`${where} is not a list`);
  return v;
}

/** A numeric id, or the literal GREASE marker. */
function id(v: unknown, where: string): number {
  if (v === "GREASE") return GREASE;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff)
    throw invalid(`${where}: ${JSON.stringify(v)} is not a u16`);
  return v;
}

const ids = (v: unknown, where: string): number[] => list(v, where).map((x) => id(x, where));

function strings(v: unknown, where: string): string[] {
  const out = list(v, where);
  if (!out.every((s) => typeof s === "string")) throw invalid(`${where} is not a list of strings`);
  return out as string[];
}

function extensionsOf(raw: unknown[], fp: ClientHelloFingerprint): void {
  for (const [i, e] of raw.entries()) {
    const ext = record(e, `extensions[${i}]`);
    const type = ext.type;
    const code = typeof type === "string" ? EXTENSION_IDS[type] : undefined;
    if (code === undefined) throw invalid(`extensions[${i}]: unknown type ${JSON.stringify(type)}`);
    fp.extensions.push(code);
    const where = `extension ${String(type)}`;
    switch (code) {
      case EXT.SUPPORTED_GROUPS:
        fp.groups = ids(ext.supported_groups, where);
        break;
      case EXT.EC_POINT_FORMATS:
        fp.pointFormats = ids(ext.ec_point_formats, where);
        break;
      case EXT.SIGNATURE_ALGORITHMS:
        fp.sigalgs = ids(ext.sig_hash_algs, where);
        break;
      case EXT.SUPPORTED_VERSIONS:
        fp.versions = list(ext.supported_versions, where).map((v) => {
          const n = typeof v === "string" ? VERSION_IDS[v] : undefined;
          if (n === undefined) throw invalid(`${where}: unknown version ${JSON.stringify(v)}`);
          return n;
        });
        break;
      case EXT.KEY_SHARE:
        fp.keyShares = list(ext.key_shares, where).map((k): KeyShareEntry => {
          const share = record(k, where);
          return {
            group: id(share.group, where),
            length: typeof share.length === "number" ? share.length : 0,
          };
        });
        break;
      case EXT.PSK_KEY_EXCHANGE_MODES:
        fp.pskModes = [id(ext.psk_ke_mode, where)];
        break;
      case EXT.ALPN:
        fp.alpn = strings(ext.alpn_list, where);
        break;
      case EXT.ALPS:
      case EXT.ALPS_OLD:
        fp.alps = { codepoint: code, protocols: strings(ext.alps_alpn_list, where) };
        break;
      case EXT.COMPRESS_CERTIFICATE:
        fp.certCompression = ids(ext.algorithms, where);
        break;
      case EXT.RECORD_SIZE_LIMIT:
        fp.recordSizeLimit = id(ext.record_size_limit, where);
        break;
      case EXT.DELEGATED_CREDENTIALS:
        fp.delegatedCredentials = ids(ext.sig_hash_algs, where);
        break;
      case EXT.STATUS_REQUEST:
        fp.ocsp = ext.status_request_type === 1; // RFC 6066 §8 CertificateStatusType ocsp
        break;
      case EXT.SCT:
        fp.sct = true;
        break;
      case EXT.ECH:
        fp.ech = true;
        break;
      default:
        break;
    }
  }
}

function fingerprintOf(hello: Json): ClientHelloFingerprint {
  const fp = emptyFingerprint(VERSION_IDS[String(hello.handshake_version)] ?? 0);
  fp.ciphers = ids(hello.ciphersuites, "ciphersuites");
  if (fp.legacyVersion === 0) throw invalid(`unknown handshake_version ${String(hello.handshake_version)}`);
  extensionsOf(list(hello.extensions, "extensions"), fp);
  return fp;
}

function h2Of(frames: unknown[]): SignatureH2 | null {
  const all = frames.map((f, i) => record(f, `http2.frames[${i}]`));
  const settingsFrame = all.find((f) => f.frame_type === "SETTINGS");
  const headers = all.find((f) => f.frame_type === "HEADERS");
  if (settingsFrame === undefined || headers === undefined) return null;
  const settings = list(settingsFrame.settings, "SETTINGS").map((s): [number, number] => {
    const e = record(s, "SETTINGS");
    if (typeof e.key !== "number" || typeof e.value !== "number") throw invalid("SETTINGS entry");
    return [e.key, e.value];
  });
  const wu = all.find((f) => f.frame_type === "WINDOW_UPDATE" && f.stream_id === 0);
  const windowUpdate = typeof wu?.window_size_increment === "number" ? wu.window_size_increment : null;
  const pseudoHeaders = strings(headers.pseudo_headers, "HEADERS.pseudo_headers");
  const fields = strings(headers.headers, "HEADERS.headers").map((line): [string, string] => {
    const at = line.indexOf(":");
    if (at <= 0) throw invalid(`header line "${line}" has no name`);
    return [line.slice(0, at).toLowerCase(), line.slice(at + 1).trim()];
  });
  if (typeof headers.stream_id !== "number") throw invalid("HEADERS.stream_id is not a number");
  const akamai = akamaiString({ settings, windowIncrement: windowUpdate, priorities: [], pseudoHeaders });
  return { settings, windowUpdate, akamai, streamId: headers.stream_id, pseudoHeaders, headers: fields };
}

/** True when `text` looks like a curl-impersonate signature (YAML with a tls_client_hello). */
export function isCurlSignature(text: string): boolean {
  return /^\s*tls_client_hello:/m.test(text) && /^signature:/m.test(text);
}

/** Parses one signature file; throws ProxyError("CONFIG_INVALID") naming what is wrong. */
export function parseCurlSignature(text: string): CurlSignature {
  // Bun's YAML parser, reached without naming Bun's types: this module stays runtime-agnostic.
  const yaml = (globalThis as { Bun?: { YAML?: { parse(text: string): unknown } } }).Bun?.YAML;
  if (yaml === undefined) {
    throw new ProxyError("CONFIG_INVALID", "curl-impersonate signature: YAML needs the Bun runtime");
  }
  let doc: unknown;
  try {
    doc = yaml.parse(text);
  } catch (err) {
    throw new ProxyError("CONFIG_INVALID", "curl-impersonate signature: not valid YAML", { cause: err });
  }
  const top = record(doc, "document");
  const browser = record(top.browser, "browser");
  const signature = record(top.signature, "signature");
  const options = isRecord(signature.options) ? signature.options : {};
  const http2 = isRecord(signature.http2) ? signature.http2 : null;
  return {
    browser: { name: String(browser.name), os: String(browser.os), version: String(browser.version) },
    fingerprint: fingerprintOf(record(signature.tls_client_hello, "signature.tls_client_hello")),
    permutesExtensions: options.tls_permute_extensions === true,
    h2: http2 === null ? null : h2Of(list(http2.frames, "http2.frames")),
  };
}
