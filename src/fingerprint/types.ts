/**
 * A ClientHello reduced to the components a fingerprint is made of. Produced both by the wire
 * parser (`clienthello.ts`) and from a tls.peet.ws capture (`peet.ts`), so the two can be compared
 * component by component. All lists are in wire order; GREASE values are kept as the literal
 * marker GREASE (0x0a0a) so order and presence stay visible while the random value does not.
 */
export const GREASE = 0x0a0a;

export interface KeyShareEntry {
  group: number;
  /** Length of the key exchange bytes (0 when unknown, e.g. from a capture). */
  length: number;
}

export interface ClientHelloFingerprint {
  /** legacy_version of the ClientHello body (e.g. 0x0303). */
  legacyVersion: number;
  ciphers: number[];
  /** Extension ids in wire order. */
  extensions: number[];
  /** supported_groups. */
  groups: number[];
  /** ec_point_formats. */
  pointFormats: number[];
  /** signature_algorithms. */
  sigalgs: number[];
  /** supported_versions. */
  versions: number[];
  /** key_share groups in wire order. */
  keyShares: KeyShareEntry[];
  /** psk_key_exchange_modes. */
  pskModes: number[];
  alpn: string[];
  /** ALPS: code point (17513 or 17613) and protocols, or null when absent. */
  alps: { codepoint: number; protocols: string[] } | null;
  /** compress_certificate algorithm ids (1 zlib, 2 brotli, 3 zstd) in wire order. */
  certCompression: number[];
  /** record_size_limit value or null. */
  recordSizeLimit: number | null;
  /** delegated_credentials signature algorithms or null. */
  delegatedCredentials: number[] | null;
  /** status_request present with OCSP type. */
  ocsp: boolean;
  /** signed_certificate_timestamp present. */
  sct: boolean;
  /** encrypted_client_hello (65037) present. */
  ech: boolean;
  /** server_name value, or null. */
  sni: string | null;
  /**
   * trust_anchors (0xca34) IDs in wire order, each in binary form; absent when the extension is
   * absent or its content is unknown (e.g. from a capture that lists extension ids only).
   */
  trustAnchors?: Uint8Array[];
}

/** A fingerprint with no components yet: what the parsers fill in. */
export function emptyFingerprint(legacyVersion: number): ClientHelloFingerprint {
  return {
    legacyVersion,
    ciphers: [],
    extensions: [],
    groups: [],
    pointFormats: [],
    sigalgs: [],
    versions: [],
    keyShares: [],
    pskModes: [],
    alpn: [],
    alps: null,
    certCompression: [],
    recordSizeLimit: null,
    delegatedCredentials: null,
    ocsp: false,
    sct: false,
    ech: false,
    sni: null,
  };
}
