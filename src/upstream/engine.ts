/**
 * The TLS engine interface the proxy uses. It is driven purely by memory buffers: the caller owns
 * the sockets, feeds ciphertext received from the peer, takes ciphertext to send, and reads/writes
 * plaintext. The one implementation is `native/` (BoringSSL through bun:ffi); nothing else in the
 * code base knows how it is built.
 */

/** Certificate compression algorithms (RFC 8879 code points 1, 2, 3). */
export type CertCompression = "zlib" | "brotli" | "zstd";

/**
 * Everything that shapes a ClientHello, as plain data. Built once per profile into a connector
 * context. IDs are IANA code points; lists are in wire order and never contain GREASE values
 * (GREASE is the `grease` switch).
 */
export interface ProfileSpec {
  /** For error messages only. */
  name: string;
  /** 0x0301..0x0304. */
  minVersion: number;
  maxVersion: number;
  /** Cipher suites, TLS 1.3 and TLS 1.2 ones, in wire order (TLS 1.3 order is preserved). */
  ciphers: number[];
  /** supported_groups in wire order (e.g. 4588 X25519MLKEM768, 29, 23, 24, 25, 256, 257). */
  groups: number[];
  /** Groups that get a key_share entry, in wire order; each must also be in `groups`. */
  keyShares: number[];
  /** signature_algorithms in wire order; duplicates allowed (Safari). */
  sigalgs: number[];
  /**
   * A GREASE value written before `sigalgs`, random per connection (Chrome 152+). Optional so
   * hand-written specs need not name it; absent = false.
   */
  sigalgsGrease?: boolean;
  /** GREASE in ciphers, extensions, groups, key shares and versions (RFC 8701). */
  grease: boolean;
  /** Explicit extension order (IANA ids); unknown ids are skipped, missing ones follow. */
  extensionOrder: number[] | null;
  /** Shuffle extension order per connection (Chrome); exclusive with `extensionOrder`. */
  permuteExtensions: boolean;
  /** ALPN protocols offered by default, in order. */
  alpn: string[];
  /** ALPS (application_settings): protocols it is offered for, and which code point. */
  alps: { protocols: string[]; newCodepoint: boolean } | null;
  /** compress_certificate algorithms in wire order; the engine can decompress each one. */
  certCompression: CertCompression[];
  /** status_request (OCSP) and signed_certificate_timestamp requests. */
  ocspStapling: boolean;
  signedCertTimestamps: boolean;
  /** encrypted_client_hello GREASE (a fake ECH extension). */
  echGrease: boolean;
  /** session_ticket extension (35). */
  sessionTickets: boolean;
  /**
   * Whether session_ticket stays in a hello that offers a TLS 1.3 session for resumption
   * (Chromium: yes; NSS-based Firefox and Tor: no). Optional so hand-written specs need not name
   * it; absent = true. Has an effect only with `sessionTickets` and `pskDheKe`.
   */
  sessionTicketsWhenResuming?: boolean;
  /** psk_key_exchange_modes (45) with psk_dhe_ke; without it TLS 1.3 resumption is not offered. */
  pskDheKe: boolean;
  /** record_size_limit (28) value, or null for none. */
  recordSizeLimit: number | null;
  /** delegated_credentials (34) signature algorithms, or null for none. */
  delegatedCredentials: number[] | null;
  /** renegotiation_info (65281). */
  renegotiationInfo: boolean;
  /** trust_anchors (0xca34), or null / absent for none. */
  trustAnchors?: TrustAnchorsSpec | null;
}

/** The trust_anchors extension: IDs in binary form (each 1..255 bytes) and their wire order. */
export interface TrustAnchorsSpec {
  /** Each ID's bytes (a relative OID's contents octets), in the profile's order. */
  ids: number[][];
  /** "shuffled-per-process": one random permutation per connector (profile and process). */
  order: "as-listed" | "shuffled-per-process";
}

/** How the upstream certificate is checked. */
export interface VerifyPolicy {
  /** false = accept any certificate (lab only). */
  verify: boolean;
  /** false = chain is checked but not the host name. */
  verifyHostname: boolean;
  /** PEM file with extra trusted CAs, added to the system store. */
  caFile: string | null;
}

export interface ClientConnectOptions {
  /** Host the certificate must match; sent as SNI unless it is an IP literal. */
  host: string;
  /** Overrides the profile's ALPN list for this connection (e.g. ["http/1.1"]). */
  alpn?: string[];
  /** Send ALPS (only meaningful when the profile has it and h2 is offered). Default true. */
  alps?: boolean;
  verify: VerifyPolicy;
  /** A session previously exported by `takeSession()`, to offer resumption. */
  session?: Uint8Array | null;
}

export interface ServerAcceptOptions {
  /** Leaf certificate chain (DER, leaf first) and its private key (PKCS#8 DER). */
  certChainDer: Uint8Array[];
  keyPkcs8Der: Uint8Array;
  /** ALPN protocols the server selects from, in server preference order; empty = no ALPN. */
  alpn: string[];
}

export interface HandshakeInfo {
  /** Negotiated ALPN, or null. */
  alpn: string | null;
  /** e.g. "TLSv1.3". */
  version: string;
  /** IANA cipher id and standard name. */
  cipherId: number;
  cipher: string;
  resumed: boolean;
  /** Server side: the SNI the client sent (null if none). Client side: the SNI we sent. */
  sni: string | null;
}

export type HandshakeState = "done" | "want";

/** One TLS connection (client or server side) over memory buffers. */
export interface TlsConnection extends Disposable {
  /** Feeds ciphertext received from the peer. Throws ProxyError on engine failure. */
  feed(ciphertext: Uint8Array): void;
  /** Ciphertext waiting to be sent to the peer, or null if none. */
  takeOutput(): Uint8Array | null;
  /** Advances the handshake; "want" means feed more and send output. Throws on failure. */
  handshake(): HandshakeState;
  /** Decrypted bytes available now; null if none; "eof" after the peer's close_notify. */
  read(): Uint8Array | null | "eof";
  /** Encrypts plaintext; the records appear in takeOutput(). */
  write(plaintext: Uint8Array): void;
  /** Queues close_notify. */
  shutdown(): void;
  info(): HandshakeInfo;
  /** The last fatal alert the peer sent (its description), or null; also after a failed handshake. */
  alertReceived(): number | null;
  /** The newest resumable session (client side), as bytes; null if none yet. */
  takeSession(): Uint8Array | null;
  close(): void;
}

/** A context built from one profile; creates client connections. */
export interface TlsConnector extends Disposable {
  readonly profile: string;
  connect(options: ClientConnectOptions): TlsConnection;
  close(): void;
}

export interface UpstreamTlsEngine {
  /** Builds a connector; throws ProxyError("TLS_CONFIG") naming the refused knob. */
  createConnector(spec: ProfileSpec): TlsConnector;
  /** Server side, used for the client-facing MITM handshake. */
  accept(options: ServerAcceptOptions): TlsConnection;
  /**
   * Loads the store upstream certificates are checked against: the system bundle plus `caFile`
   * (kept for the connections). Throws ProxyError("CONFIG_INVALID") with the engine's reason when
   * it cannot be loaded, so a bad file is refused at start rather than on every tunnel.
   */
  loadTrust(caFile: string | null): void;
  /** BoringSSL revision the engine was built from. */
  readonly boringsslVersion: string;
}
