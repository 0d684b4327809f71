import { ProxyError } from "../errors/proxy-error.ts";
import { normalizeGrease } from "./grease.ts";
import type { ByteReader } from "./reader.ts";
import type { ClientHelloFingerprint } from "./types.ts";

/** TLS extension code points (IANA "TLS ExtensionType Values"). */
export const EXT = {
  SERVER_NAME: 0,
  STATUS_REQUEST: 5,
  SUPPORTED_GROUPS: 10,
  EC_POINT_FORMATS: 11,
  SIGNATURE_ALGORITHMS: 13,
  ALPN: 16,
  SCT: 18,
  PADDING: 21,
  EXTENDED_MASTER_SECRET: 23,
  COMPRESS_CERTIFICATE: 27,
  RECORD_SIZE_LIMIT: 28,
  DELEGATED_CREDENTIALS: 34,
  SESSION_TICKET: 35,
  PRE_SHARED_KEY: 41,
  SUPPORTED_VERSIONS: 43,
  PSK_KEY_EXCHANGE_MODES: 45,
  KEY_SHARE: 51,
  ALPS_OLD: 17513, // draft-vvv-tls-alps code point used by Chrome until 2024
  ALPS: 17613, // new ALPS code point (Chrome 125+)
  TRUST_ANCHORS: 51764, // 0xca34, draft-ietf-tls-trust-anchor-ids
  ECH: 65037, // draft-ietf-tls-esni encrypted_client_hello
  RENEGOTIATION_INFO: 65281,
} as const;

const SNI_HOST_NAME = 0; // RFC 6066 §3 NameType host_name
const STATUS_TYPE_OCSP = 1; // RFC 6066 §8 CertificateStatusType ocsp

/** Bytes as a Latin-1 string: never throws, keeps every byte visible. */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Reads a list of u8-length-prefixed protocol names (ALPN and ALPS share this shape). */
function protocolList(r: ByteReader, field: string): string[] {
  const list = r.vector(2, field);
  const out: string[] = [];
  while (list.remaining > 0) {
    const name = list.vector(1, "protocol name");
    if (name.remaining === 0) throw new ProxyError("BAD_REQUEST", `${r.what}: empty protocol name`);
    out.push(latin1(name.bytes(name.remaining, "protocol name")));
  }
  return out;
}

/**
 * Decodes the payload of one extension into `fp`. `r` is a reader over exactly the extension
 * data; extensions this module does not interpret are skipped. Every decoder must consume the
 * whole payload (checked by the caller).
 */
export function decodeExtension(type: number, r: ByteReader, fp: ClientHelloFingerprint): void {
  switch (type) {
    case EXT.SERVER_NAME: {
      if (r.remaining === 0) return; // empty form (servers echo it); no name to record
      const list = r.vector(2, "server_name_list");
      while (list.remaining > 0) {
        const nameType = list.u8("name_type");
        const name = list.vector(2, "host_name");
        if (nameType === SNI_HOST_NAME && fp.sni === null)
          fp.sni = latin1(name.bytes(name.remaining, "name"));
        else name.skip(name.remaining, "name");
      }
      return;
    }
    case EXT.STATUS_REQUEST: {
      const statusType = r.u8("status_type");
      if (statusType === STATUS_TYPE_OCSP) {
        r.vector(2, "responder_id_list");
        r.vector(2, "request_extensions");
        fp.ocsp = true;
      } else {
        r.skip(r.remaining, "status request");
      }
      return;
    }
    case EXT.SUPPORTED_GROUPS:
      fp.groups = r.u16List(2, "named_group_list").map(normalizeGrease);
      return;
    case EXT.EC_POINT_FORMATS:
      fp.pointFormats = r.u8List(1, "ec_point_format_list");
      return;
    case EXT.SIGNATURE_ALGORITHMS:
      fp.sigalgs = r.u16List(2, "supported_signature_algorithms").map(normalizeGrease);
      return;
    case EXT.ALPN:
      fp.alpn = protocolList(r, "protocol_name_list");
      return;
    case EXT.SCT:
      fp.sct = true;
      r.skip(r.remaining, "sct");
      return;
    case EXT.COMPRESS_CERTIFICATE:
      fp.certCompression = r.u16List(1, "algorithms").map(normalizeGrease);
      return;
    case EXT.RECORD_SIZE_LIMIT:
      fp.recordSizeLimit = r.u16("record_size_limit");
      return;
    case EXT.DELEGATED_CREDENTIALS:
      fp.delegatedCredentials = r.u16List(2, "signature_algorithms").map(normalizeGrease);
      return;
    case EXT.SUPPORTED_VERSIONS:
      fp.versions = r.u16List(1, "versions").map(normalizeGrease);
      return;
    case EXT.PSK_KEY_EXCHANGE_MODES:
      fp.pskModes = r.u8List(1, "ke_modes");
      return;
    case EXT.KEY_SHARE: {
      const list = r.vector(2, "client_shares");
      fp.keyShares = [];
      while (list.remaining > 0) {
        const group = normalizeGrease(list.u16("group"));
        const key = list.vector(2, "key_exchange");
        const length = key.remaining;
        key.skip(length, "key_exchange");
        fp.keyShares.push({ group, length });
      }
      return;
    }
    case EXT.ALPS_OLD:
    case EXT.ALPS:
      fp.alps = { codepoint: type, protocols: protocolList(r, "supported_protocols") };
      return;
    case EXT.TRUST_ANCHORS: {
      const list = r.vector(2, "trust_anchor_id_list");
      fp.trustAnchors = [];
      while (list.remaining > 0) {
        const id = list.vector(1, "trust_anchor_id");
        fp.trustAnchors.push(id.bytes(id.remaining, "trust_anchor_id"));
      }
      return;
    }
    case EXT.ECH:
      fp.ech = true;
      r.skip(r.remaining, "ech");
      return;
    default:
      r.skip(r.remaining, "extension data");
  }
}
