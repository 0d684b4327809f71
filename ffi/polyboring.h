/*
 * libpolyboring — the C ABI of PolyTLS's TLS engine (BoringSSL, btls fork), built from ffi/src.
 *
 * Conventions
 * - Handles (pb_ctx, pb_conn) are opaque; free them with pb_ctx_free / pb_conn_free.
 * - Functions return an integer status (>= 0 success, < 0 a PB_* error); constructors return
 *   NULL on failure. The reason is in pb_last_error (thread-local; copy it before the next call).
 * - Buffers are borrowed only for the duration of a call: the library copies what it keeps and
 *   never stores a caller pointer. There are no callbacks into the caller.
 * - The engine owns no socket: feed ciphertext received from the peer with pb_feed, send what
 *   pb_take_output returns, and move plaintext with pb_read / pb_write.
 * - Only pb_* symbols are exported; BoringSSL's own symbols stay internal, so the library can be
 *   loaded into a process that has another BoringSSL or OpenSSL (Bun has one).
 * - Strings returned through (out, cap) are UTF-8, not NUL-terminated; the return value is the
 *   full length, so a return value > cap means "call again with a larger buffer".
 */
#ifndef POLYBORING_H
#define POLYBORING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PB_ABI_VERSION 5

#define PB_OK 0
#define PB_ERR (-1)        /* TLS or internal failure; see pb_last_error */
#define PB_EOF (-2)        /* the peer sent close_notify */
#define PB_ERR_VERIFY (-3) /* the peer's certificate failed verification */
#define PB_ERR_ARG (-4)    /* a NULL handle or malformed argument */
#define PB_ERR_CONFIG (-5) /* local configuration, e.g. an unreadable CA file (constructors) */

typedef struct pb_ctx pb_ctx;
typedef struct pb_conn pb_conn;

uint32_t pb_abi_version(void);
/* "btls-sys <version> (BoringSSL API <n>)". */
int32_t pb_version(uint8_t *out, size_t cap);
int32_t pb_last_error(uint8_t *out, size_t cap);
int32_t pb_last_error_code(void);
/*
 * Raises the process's soft RLIMIT_NOFILE to its hard limit. Returns the soft limit now in
 * force, or PB_ERR (reason in pb_last_error).
 */
int64_t pb_raise_nofile_limit(void);
/*
 * Loads (and keeps for the connections) the trust store upstream certificates are verified
 * against: the system bundle plus the CA file `path` (UTF-8, `len` bytes; len 0 = the system
 * bundle alone). PB_OK, or PB_ERR_CONFIG with the reason in pb_last_error.
 */
int32_t pb_trust_load(const uint8_t *path, size_t len);

/*
 * A client context from a profile spec (JSON, camelCase keys; see ProfileSpec in
 * src/upstream/engine.ts): minVersion, maxVersion, ciphers, groups, keyShares, sigalgs,
 * sigalgsGrease (optional), grease, extensionOrder, permuteExtensions, alpn, alps {protocols,
 * newCodepoint}, certCompression, ocspStapling, signedCertTimestamps, echGrease, sessionTickets,
 * sessionTicketsWhenResuming (optional, absent = true), pskDheKe, recordSizeLimit, delegatedCredentials, renegotiationInfo, trustAnchors (optional:
 * {ids: [[bytes]], order: "as-listed" | "shuffled-per-process"}; a shuffled order is drawn once per
 * context). sigalgs may hold ML-DSA (0x0904..0x0906), advertised only. A refusal (PB_ERR_CONFIG) names the knob
 * ("groups: 0x9999 ..."), including a ClientHello that would break RFC 8446: pre_shared_key not
 * last or without psk_key_exchange_modes, a key share outside groups, TLS 1.3 without a TLS 1.3
 * suite, an explicit extension order without supported_versions or key_share. A context whose
 * spec has pskDheKe = false keeps no session (pb_take_session always returns 0).
 */
pb_ctx *pb_client_ctx_new(const uint8_t *spec_json, size_t len);
/* A server context; options JSON (may be empty): {"certCompression": "zlib"|"brotli"|"zstd"}. */
pb_ctx *pb_server_ctx_new(const uint8_t *opts_json, size_t len);
void pb_ctx_free(pb_ctx *ctx);

/*
 * A client connection. opts JSON: {host, alpn?: [..], alps?: bool, verify: bool,
 * verifyHostname: bool, caFile?: string}. host is the SNI (unless an IP literal) and the name
 * checked against the certificate. session (may be empty) comes from pb_take_session; a context
 * with pskDheKe = false refuses any session (NULL, PB_ERR_CONFIG). With sessionTickets = true and
 * sessionTicketsWhenResuming = false, a TLS 1.3 session that will be offered makes this
 * connection's hello leave session_ticket out (SSL_OP_NO_TICKET on this connection only; the
 * server's NewSessionTicket is still taken); a TLS 1.3 session BoringSSL would not offer (expired
 * within a second, not resumable) is not set at all.
 */
pb_conn *pb_client_new(pb_ctx *ctx, const uint8_t *opts_json, size_t opts_len,
                       const uint8_t *session, size_t session_len);
/*
 * A server connection presenting chain (DER certificates concatenated, leaf first) with key
 * (PKCS#8 DER), selecting ALPN from alpn (wire format: length-prefixed names, our preference).
 */
pb_conn *pb_server_new(pb_ctx *ctx, const uint8_t *chain, size_t chain_len, const uint8_t *key,
                       size_t key_len, const uint8_t *alpn, size_t alpn_len);
void pb_conn_free(pb_conn *conn);

/* Ciphertext received from the peer. */
int32_t pb_feed(pb_conn *conn, const uint8_t *data, size_t len);
/* Bytes of ciphertext waiting to be sent, and taking them (returns the count copied). */
int32_t pb_pending_output(pb_conn *conn);
int32_t pb_take_output(pb_conn *conn, uint8_t *out, size_t cap);
/*
 * 1 = handshake complete, 0 = needs more input, < 0 = error. A failure's pb_last_error names the
 * TLS alert when one ended the handshake ("handshake: received alert handshake_failure",
 * "handshake: sent alert decode_error (<reason>)"), else BoringSSL's reason.
 */
int32_t pb_handshake(pb_conn *conn);
/* > 0 = plaintext bytes (as many records as fit), 0 = needs more input, PB_EOF, < 0 = error. */
int32_t pb_read(pb_conn *conn, uint8_t *out, size_t cap);
/* Encrypts plaintext into records (then pb_take_output); returns bytes consumed. */
int32_t pb_write(pb_conn *conn, const uint8_t *data, size_t len);
/* Queues close_notify. */
int32_t pb_shutdown(pb_conn *conn);
/* JSON: {alpn, version, cipherId, cipher, resumed, sni}. */
int32_t pb_info(pb_conn *conn, uint8_t *out, size_t cap);
/* The newest session from the server: 0 = none, n <= cap = taken, n > cap = call again. */
int32_t pb_take_session(pb_conn *conn, uint8_t *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* POLYBORING_H */
