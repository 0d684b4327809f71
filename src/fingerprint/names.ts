/**
 * IANA "TLS SignatureScheme" names (RFC 8446 §4.2.3 and later registrations) as tls.peet.ws
 * writes them, mapped to their code points.
 */
export const SIGALG_IDS: ReadonlyMap<string, number> = new Map([
  ["rsa_pkcs1_sha1", 0x0201],
  ["ecdsa_sha1", 0x0203],
  ["rsa_pkcs1_sha256", 0x0401],
  ["ecdsa_secp256r1_sha256", 0x0403],
  ["rsa_pkcs1_sha384", 0x0501],
  ["ecdsa_secp384r1_sha384", 0x0503],
  ["rsa_pkcs1_sha512", 0x0601],
  ["ecdsa_secp521r1_sha512", 0x0603],
  ["rsa_pss_rsae_sha256", 0x0804],
  ["rsa_pss_rsae_sha384", 0x0805],
  ["rsa_pss_rsae_sha512", 0x0806],
  ["ed25519", 0x0807],
  ["ed448", 0x0808],
  ["rsa_pss_pss_sha256", 0x0809],
  ["rsa_pss_pss_sha384", 0x080a],
  ["rsa_pss_pss_sha512", 0x080b],
  ["ecdsa_brainpoolP256r1tls13_sha256", 0x081a],
  ["ecdsa_brainpoolP384r1tls13_sha384", 0x081b],
  ["ecdsa_brainpoolP512r1tls13_sha512", 0x081c],
  ["mldsa44", 0x0904],
  ["mldsa65", 0x0905],
  ["mldsa87", 0x0906],
]);
