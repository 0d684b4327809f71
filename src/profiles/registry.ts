/**
 * Name tables: IANA / RFC names <-> code points for everything a profile names. Only values the
 * engine's BoringSSL (the btls-sys 0.5.6 fork: upstream plus 3DES ECDHE suites, ffdhe groups,
 * duplicate signature algorithms, explicit extension order; plus our patch, ffi/patches/: ML-DSA
 * signature algorithms and a GREASE signature algorithm) can put in a ClientHello are listed; a
 * name missing here is a validation error.
 */

/** One two-way table; canonical names first, then accepted aliases. */
export class NameTable {
  readonly kind: string;
  private readonly byName = new Map<string, number>();
  private readonly byId = new Map<number, string>();

  constructor(
    kind: string,
    entries: ReadonlyArray<readonly [string, number]>,
    aliases: Record<string, number>,
  ) {
    this.kind = kind;
    for (const [name, id] of entries) {
      this.byName.set(name, id);
      this.byId.set(id, name);
    }
    for (const [alias, id] of Object.entries(aliases)) this.byName.set(alias, id);
  }

  /** Code point for a canonical name or alias. */
  id(name: string): number | undefined {
    return this.byName.get(name);
  }

  /** Canonical name of a code point. */
  name(id: number): string | undefined {
    return this.byId.get(id);
  }

  /** Canonical names, in table order. */
  names(): string[] {
    return [...this.byId.values()];
  }
}

/** Cipher suites (RFC 8446 §B.4, RFC 5246, RFC 4492/8422, RFC 7905 names). */
export const CIPHERS = new NameTable(
  "cipher suite",
  [
    // TLS 1.3 (RFC 8446 §B.4).
    ["TLS_AES_128_GCM_SHA256", 0x1301],
    ["TLS_AES_256_GCM_SHA384", 0x1302],
    ["TLS_CHACHA20_POLY1305_SHA256", 0x1303],
    // ECDHE AEAD.
    ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b],
    ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xc02c],
    ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f],
    ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xc030],
    ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca8],
    ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9],
    // ECDHE CBC.
    ["TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", 0xc008],
    ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xc009],
    ["TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xc00a],
    ["TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", 0xc012],
    ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xc013],
    ["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xc014],
    ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0xc023],
    ["TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 0xc024],
    ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0xc027],
    ["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 0xc028],
    // DHE (finite field).
    ["TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 0x0033],
    ["TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 0x0039],
    ["TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 0x0067],
    ["TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 0x006b],
    ["TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0x009e],
    ["TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0x009f],
    // Static RSA.
    ["TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009c],
    ["TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009d],
    ["TLS_RSA_WITH_AES_128_CBC_SHA", 0x002f],
    ["TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035],
    ["TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003c],
    ["TLS_RSA_WITH_AES_256_CBC_SHA256", 0x003d],
    ["TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x000a],
  ],
  {},
);

/** TLS 1.3 suites (0x13xx); BoringSSL writes them before every TLS 1.2 suite. */
export function isTls13Cipher(id: number): boolean {
  return id >> 8 === 0x13;
}

/** Named groups (RFC 8446 §4.2.7, RFC 7919, draft-ietf-tls-ecdhe-mlkem). */
export const GROUPS = new NameTable(
  "group",
  [
    ["X25519MLKEM768", 0x11ec],
    ["x25519", 29],
    ["secp256r1", 23],
    ["secp384r1", 24],
    ["secp521r1", 25],
    ["ffdhe2048", 256],
    ["ffdhe3072", 257],
    ["MLKEM1024", 0x0202],
    ["X25519Kyber768Draft00", 0x6399],
    ["P256Kyber768Draft00", 0xfe32],
  ],
  { X25519: 29, "P-256": 23, "P-384": 24, "P-521": 25, prime256v1: 23 },
);

/** Groups BoringSSL can only list in supported_groups: it has no key share code for them. */
export const GROUPS_WITHOUT_KEY_SHARE: ReadonlySet<number> = new Set([256, 257]);

/** Signature schemes (RFC 8446 §4.2.3 names). */
export const SIGALGS = new NameTable(
  "signature algorithm",
  [
    ["ecdsa_secp256r1_sha256", 0x0403],
    ["ecdsa_secp384r1_sha384", 0x0503],
    ["ecdsa_secp521r1_sha512", 0x0603],
    ["ed25519", 0x0807],
    ["rsa_pss_rsae_sha256", 0x0804],
    ["rsa_pss_rsae_sha384", 0x0805],
    ["rsa_pss_rsae_sha512", 0x0806],
    ["rsa_pkcs1_sha256", 0x0401],
    ["rsa_pkcs1_sha384", 0x0501],
    ["rsa_pkcs1_sha512", 0x0601],
    ["ecdsa_sha1", 0x0203],
    ["rsa_pkcs1_sha1", 0x0201],
    // ML-DSA (draft-ietf-tls-mldsa; Chrome 150+): advertised only. A server that picks one fails
    // the handshake (TLS_HANDSHAKE): the engine cannot verify ML-DSA certificates.
    ["mldsa44", 0x0904],
    ["mldsa65", 0x0905],
    ["mldsa87", 0x0906],
  ],
  {},
);

/** ClientHello extensions the engine can emit (IANA TLS ExtensionType names). */
export const EXTENSIONS = new NameTable(
  "extension",
  [
    ["server_name", 0],
    ["status_request", 5],
    ["supported_groups", 10],
    ["ec_point_formats", 11],
    ["signature_algorithms", 13],
    ["application_layer_protocol_negotiation", 16],
    ["signed_certificate_timestamp", 18],
    ["extended_master_secret", 23],
    ["compress_certificate", 27],
    ["record_size_limit", 28],
    ["delegated_credentials", 34],
    ["session_ticket", 35],
    ["pre_shared_key", 41],
    ["early_data", 42],
    ["supported_versions", 43],
    ["cookie", 44],
    ["psk_key_exchange_modes", 45],
    ["key_share", 51],
    ["application_settings_old", 17513],
    ["application_settings", 17613],
    ["trust_anchors", 51764], // 0xca34, draft-ietf-tls-trust-anchor-ids
    ["encrypted_client_hello", 65037],
    ["renegotiation_info", 65281],
  ],
  { alpn: 16, delegated_credential: 34 },
);

/** Extension ids with special meaning in profiles and fingerprints. */
export const EXT = {
  serverName: 0,
  statusRequest: 5,
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  alpn: 16,
  sct: 18,
  padding: 21, // RFC 7685; BoringSSL adds it by itself when the hello is 256..511 bytes long
  extendedMasterSecret: 23,
  compressCertificate: 27,
  recordSizeLimit: 28,
  delegatedCredentials: 34,
  sessionTicket: 35,
  preSharedKey: 41,
  earlyData: 42,
  supportedVersions: 43,
  cookie: 44,
  pskKeyExchangeModes: 45,
  keyShare: 51,
  alpsOld: 17513,
  alpsNew: 17613,
  trustAnchors: 51764,
  ech: 65037,
  renegotiationInfo: 65281,
} as const;

/** compress_certificate algorithms (RFC 8879 §7.3). */
export const CERT_COMPRESSION = new NameTable(
  "certificate compression algorithm",
  [
    ["zlib", 1],
    ["brotli", 2],
    ["zstd", 3],
  ],
  {},
);

/** Protocol versions as written in profiles. */
export const TLS_VERSIONS = new NameTable(
  "TLS version",
  [
    ["1.0", 0x0301],
    ["1.1", 0x0302],
    ["1.2", 0x0303],
    ["1.3", 0x0304],
  ],
  {},
);

export const TLS12 = 0x0303;
export const TLS13 = 0x0304;
