//! libpolyboring: a C ABI over BoringSSL (the btls fork) for PolyTLS.
//!
//! Only `pb_*` symbols are exported (a Rust cdylib hides everything else, BoringSSL's own
//! `SSL_*` symbols included), so this library can live inside Bun, which carries its own
//! BoringSSL, without the two mixing. Handles are opaque; every call returns an integer status
//! and leaves a readable reason in `pb_last_error`. No callbacks into the caller exist.

mod anchors;
mod compress;
mod conn;
mod error;
mod alert;
mod limits;
mod pipe;
mod rules;
mod spec;
mod trust;
mod verify;

use btls_sys as sys;
use conn::{ClientOptions, Conn};
use error::*;
use spec::{ClientDefaults, ProfileSpec};
use std::ffi::CStr;
use std::os::raw::c_int;

/// Bumped on every incompatible change of the functions below; checked by the TS binding.
pub const PB_ABI_VERSION: u32 = 5;

pub struct Ctx {
    ctx: *mut sys::SSL_CTX,
    client: Option<ClientDefaults>,
}

impl Drop for Ctx {
    fn drop(&mut self) {
        unsafe { sys::SSL_CTX_free(self.ctx) }
    }
}

unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 { &[] } else { std::slice::from_raw_parts(ptr, len) }
}

unsafe fn output<'a>(ptr: *mut u8, cap: usize) -> &'a mut [u8] {
    if ptr.is_null() || cap == 0 { &mut [] } else { std::slice::from_raw_parts_mut(ptr, cap) }
}

/// Copies `s` into the caller's buffer; returns the full length (callers retry when > cap).
unsafe fn put_bytes(s: &[u8], out: *mut u8, cap: usize) -> i32 {
    let dst = output(out, cap);
    if s.len() <= dst.len() {
        dst[..s.len()].copy_from_slice(s);
    }
    s.len() as i32
}

#[no_mangle]
pub extern "C" fn pb_abi_version() -> u32 {
    PB_ABI_VERSION
}

/// "btls-sys <version> (BoringSSL API <n>)".
#[no_mangle]
pub unsafe extern "C" fn pb_version(out: *mut u8, cap: usize) -> i32 {
    let v = format!("btls-sys {} (BoringSSL API {})", env!("PB_BTLS_SYS_VERSION"), sys::BORINGSSL_API_VERSION);
    put_bytes(v.as_bytes(), out, cap)
}

#[no_mangle]
pub unsafe extern "C" fn pb_last_error(out: *mut u8, cap: usize) -> i32 {
    put_bytes(last_error().as_bytes(), out, cap)
}

/// The status code of the last failure (PB_ERR, PB_ERR_VERIFY, PB_ERR_CONFIG...).
#[no_mangle]
pub extern "C" fn pb_last_error_code() -> i32 {
    last_error_code()
}

/// Turns an inner constructor's result into a handle, or NULL with the reason in pb_last_error.
fn handle<T>(r: Result<Box<T>, Failure>) -> *mut T {
    match r {
        Ok(b) => Box::into_raw(b),
        Err(f) => {
            set_last_error_code(f.code, f.msg);
            std::ptr::null_mut()
        }
    }
}

fn json<'a, T: serde::Deserialize<'a>>(what: &str, bytes: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("{what}: {e}"))
}

unsafe fn new_ctx(method: *const sys::SSL_METHOD) -> Result<*mut sys::SSL_CTX, String> {
    let ctx = sys::SSL_CTX_new(method);
    if ctx.is_null() {
        return Err(format!("SSL_CTX_new failed: {}", take_ssl_errors()));
    }
    Ok(ctx)
}

unsafe fn new_conn(ctx: *mut Ctx, is_server: bool) -> Result<(&'static Ctx, Box<Conn>), String> {
    let ctx = ctx.as_ref().ok_or("null context")?;
    let ssl = sys::SSL_new(ctx.ctx);
    if ssl.is_null() {
        return Err(format!("SSL_new failed: {}", take_ssl_errors()));
    }
    Ok((ctx, Conn::new(ssl, is_server)?))
}

struct Pool(*mut sys::CRYPTO_BUFFER_POOL);
unsafe impl Send for Pool {}
unsafe impl Sync for Pool {}
static CERT_POOL: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();

/// One certificate pool for the process (BoringSSL's pool is thread-safe). It is never freed: it
/// must outlive every context, connection and session that refers to it.
fn cert_pool() -> *mut sys::CRYPTO_BUFFER_POOL {
    CERT_POOL.get_or_init(|| Pool(unsafe { sys::CRYPTO_BUFFER_POOL_new() })).0
}

unsafe fn client_ctx(spec: &[u8]) -> Result<Box<Ctx>, Failure> {
    let spec: ProfileSpec = json("profile spec", spec)?;
    // Certificates stay raw buffers (no X509 objects kept per connection); verify.rs checks them.
    let ctx = new_ctx(sys::TLS_with_buffers_method())?;
    if let Err(e) = spec::configure_client(ctx, &spec) {
        sys::SSL_CTX_free(ctx);
        return Err(Failure::config(format!("profile \"{}\": {e}", spec.name)));
    }
    // Certificates received are interned: every connection to the same origin shares one copy
    // of its chain instead of holding its own.
    sys::SSL_CTX_set0_buffer_pool(ctx, cert_pool());
    sys::SSL_CTX_set_custom_verify(ctx, sys::SSL_VERIFY_PEER as c_int, Some(verify::on_verify));
    sys::SSL_CTX_set_info_callback(ctx, Some(alert::on_info));
    // Sessions are kept only when the profile may offer them (RFC 8446 §4.2.9): a profile without
    // psk_key_exchange_modes must never send pre_shared_key, so it never sees a session at all.
    if spec.psk_dhe_ke {
        sys::SSL_CTX_set_session_cache_mode(ctx, sys::SSL_SESS_CACHE_CLIENT as c_int);
        sys::SSL_CTX_sess_set_new_cb(ctx, Some(conn::on_new_session));
    } else {
        sys::SSL_CTX_set_session_cache_mode(ctx, sys::SSL_SESS_CACHE_OFF as c_int);
    }
    let defaults = ClientDefaults {
        alpn: spec.alpn,
        alps: spec.alps,
        key_shares: spec.key_shares,
        ech_grease: spec.ech_grease,
        resumption: spec.psk_dhe_ke,
        no_ticket_when_resuming: spec.session_tickets && !spec.session_tickets_when_resuming,
        max_version: spec.max_version,
    };
    Ok(Box::new(Ctx { ctx, client: Some(defaults) }))
}

/// Builds a client context from a JSON profile spec. NULL on error (see pb_last_error).
#[no_mangle]
pub unsafe extern "C" fn pb_client_ctx_new(spec: *const u8, len: usize) -> *mut Ctx {
    take_ssl_errors();
    handle(client_ctx(input(spec, len)))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServerOptions {
    /// Compress our certificate with this algorithm when the client offers it (tests use it).
    #[serde(default)]
    cert_compression: Option<String>,
}

unsafe fn server_ctx(raw: &[u8]) -> Result<Box<Ctx>, Failure> {
    let opts: ServerOptions = json("server options", if raw.is_empty() { b"{}" } else { raw })?;
    let comp: Option<(u16, sys::ssl_cert_compression_func_t)> = match opts.cert_compression.as_deref() {
        None => None,
        Some("zlib") => Some((compress::ZLIB, Some(compress::compress_zlib))),
        Some("brotli") => Some((compress::BROTLI, Some(compress::compress_brotli))),
        Some("zstd") => Some((compress::ZSTD, Some(compress::compress_zstd))),
        Some(other) => return Err(format!("server options: unknown cert compression \"{other}\"").into()),
    };
    let ctx = new_ctx(sys::TLS_method())?;
    sys::SSL_CTX_set_min_proto_version(ctx, sys::TLS1_2_VERSION as u16);
    sys::SSL_CTX_set_alpn_select_cb(ctx, Some(conn::select_alpn), std::ptr::null_mut());
    sys::SSL_CTX_set_info_callback(ctx, Some(alert::on_info));
    if let Some((id, f)) = comp {
        sys::SSL_CTX_add_cert_compression_alg(ctx, id, f, None);
    }
    Ok(Box::new(Ctx { ctx, client: None }))
}

/// Builds a server context (the client-facing MITM side). NULL on error.
#[no_mangle]
pub unsafe extern "C" fn pb_server_ctx_new(opts: *const u8, len: usize) -> *mut Ctx {
    take_ssl_errors();
    handle(server_ctx(input(opts, len)))
}

#[no_mangle]
pub unsafe extern "C" fn pb_ctx_free(ctx: *mut Ctx) {
    if !ctx.is_null() {
        drop(Box::from_raw(ctx));
    }
}

unsafe fn client_conn(ctx: *mut Ctx, opts: &[u8], session: &[u8]) -> Result<Box<Conn>, Failure> {
    let (ctx, mut conn) = new_conn(ctx, false)?;
    let defaults = ctx.client.as_ref().ok_or("not a client context")?;
    let opts: ClientOptions = json("connect options", opts)?;
    conn.apply_client(defaults, &opts).map_err(|f| {
        let ssl = take_ssl_errors();
        if ssl.is_empty() { f } else { Failure { code: f.code, msg: format!("{} ({ssl})", f.msg) } }
    })?;
    if !session.is_empty() && !defaults.resumption {
        return Err(Failure::config(
            "session: this profile sends no psk_key_exchange_modes (psk_dhe_ke = false), so it must \
             not offer a session (RFC 8446 §4.2.9)",
        ));
    }
    if !session.is_empty() {
        // An unparsable session is ignored: a full handshake follows.
        let s = sys::SSL_SESSION_from_bytes(session.as_ptr(), session.len(), ctx.ctx);
        if !s.is_null() {
            conn.offer_session(defaults, s, conn::unix_now());
            sys::SSL_SESSION_free(s);
        }
        take_ssl_errors();
    }
    Ok(conn)
}

/// A client connection. `opts` is JSON ({host, alpn?, alps?, verify, verifyHostname, caFile?});
/// `session` (may be empty) is a session from pb_take_session to offer for resumption.
#[no_mangle]
pub unsafe extern "C" fn pb_client_new(
    ctx: *mut Ctx,
    opts: *const u8,
    opts_len: usize,
    session: *const u8,
    session_len: usize,
) -> *mut Conn {
    take_ssl_errors();
    handle(client_conn(ctx, input(opts, opts_len), input(session, session_len)).map_err(|f| f.context("client")))
}

unsafe fn server_conn(ctx: *mut Ctx, mut der: &[u8], key: &[u8], mut alpn: &[u8]) -> Result<Box<Conn>, Failure> {
    let (_, mut conn) = new_conn(ctx, true)?;
    let ssl = conn.ssl;
    sys::SSL_set_accept_state(ssl);
    let mut first = true;
    while !der.is_empty() {
        let mut p = der.as_ptr();
        let x = sys::d2i_X509(std::ptr::null_mut(), &mut p, der.len() as _);
        if x.is_null() {
            return Err(format!("certificate chain is not DER ({})", take_ssl_errors()).into());
        }
        let ok = if first { sys::SSL_use_certificate(ssl, x) } else { sys::SSL_add1_chain_cert(ssl, x) };
        sys::X509_free(x);
        if ok != 1 {
            return Err(format!("certificate refused ({})", take_ssl_errors()).into());
        }
        first = false;
        der = &der[(p as usize - der.as_ptr() as usize)..];
    }
    if first {
        return Err("empty certificate chain".into());
    }
    let mut cbs = sys::CBS { data: key.as_ptr(), len: key.len() };
    let pkey = sys::EVP_parse_private_key(&mut cbs);
    if pkey.is_null() {
        return Err(format!("private key is not PKCS#8 DER ({})", take_ssl_errors()).into());
    }
    let ok = sys::SSL_use_PrivateKey(ssl, pkey);
    sys::EVP_PKEY_free(pkey);
    if ok != 1 || sys::SSL_check_private_key(ssl) != 1 {
        return Err(format!("private key does not match the certificate ({})", take_ssl_errors()).into());
    }
    while let Some((&l, rest)) = alpn.split_first() {
        let l = l as usize;
        if l == 0 || l > rest.len() {
            return Err("malformed ALPN list".into());
        }
        conn.server_alpn.push(rest[..l].to_vec());
        alpn = &rest[l..];
    }
    Ok(conn)
}

/// A server connection presenting `chain` (concatenated DER certificates, leaf first) with
/// `key` (PKCS#8 DER), choosing ALPN from `alpn` (wire format, our preference order).
#[no_mangle]
pub unsafe extern "C" fn pb_server_new(
    ctx: *mut Ctx,
    chain: *const u8,
    chain_len: usize,
    key: *const u8,
    key_len: usize,
    alpn: *const u8,
    alpn_len: usize,
) -> *mut Conn {
    take_ssl_errors();
    handle(
        server_conn(ctx, input(chain, chain_len), input(key, key_len), input(alpn, alpn_len))
            .map_err(|f| f.context("server")),
    )
}

#[no_mangle]
pub unsafe extern "C" fn pb_conn_free(conn: *mut Conn) {
    if !conn.is_null() {
        drop(Box::from_raw(conn));
    }
}

macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn.as_mut() {
            Some($c) => $body,
            None => {
                set_last_error("null connection");
                PB_ERR_ARG
            }
        }
    };
}

#[no_mangle]
pub unsafe extern "C" fn pb_feed(conn: *mut Conn, data: *const u8, len: usize) -> i32 {
    with_conn!(conn, c => c.feed(input(data, len)))
}

#[no_mangle]
pub unsafe extern "C" fn pb_pending_output(conn: *mut Conn) -> i32 {
    with_conn!(conn, c => c.pending_output().min(i32::MAX as usize) as i32)
}

#[no_mangle]
pub unsafe extern "C" fn pb_take_output(conn: *mut Conn, out: *mut u8, cap: usize) -> i32 {
    with_conn!(conn, c => c.take_output(output(out, cap)))
}

#[no_mangle]
pub unsafe extern "C" fn pb_handshake(conn: *mut Conn) -> i32 {
    with_conn!(conn, c => c.handshake())
}

#[no_mangle]
pub unsafe extern "C" fn pb_read(conn: *mut Conn, out: *mut u8, cap: usize) -> i32 {
    with_conn!(conn, c => c.read(output(out, cap)))
}

#[no_mangle]
pub unsafe extern "C" fn pb_write(conn: *mut Conn, data: *const u8, len: usize) -> i32 {
    with_conn!(conn, c => c.write(input(data, len)))
}

/// Queues close_notify. Returns PB_OK.
#[no_mangle]
pub unsafe extern "C" fn pb_shutdown(conn: *mut Conn) -> i32 {
    with_conn!(conn, c => {
        sys::SSL_shutdown(c.ssl);
        take_ssl_errors();
        PB_OK
    })
}

fn json_str(p: *const std::os::raw::c_char) -> serde_json::Value {
    if p.is_null() {
        serde_json::Value::Null
    } else {
        serde_json::Value::String(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Handshake facts as JSON: {alpn, version, cipherId, cipher, resumed, sni, alertReceived}
/// (`alertReceived`: the last fatal alert the peer sent, or null; also after a failed handshake).
#[no_mangle]
pub unsafe extern "C" fn pb_info(conn: *mut Conn, out: *mut u8, cap: usize) -> i32 {
    with_conn!(conn, c => {
        let ssl = c.ssl;
        let mut ap: *const u8 = std::ptr::null();
        let mut al: u32 = 0;
        sys::SSL_get0_alpn_selected(ssl, &mut ap, &mut al);
        let alpn = if al == 0 {
            serde_json::Value::Null
        } else {
            serde_json::Value::String(String::from_utf8_lossy(std::slice::from_raw_parts(ap, al as usize)).into_owned())
        };
        let cipher = sys::SSL_get_current_cipher(ssl);
        let (cid, cname) = if cipher.is_null() {
            (0u16, serde_json::Value::Null)
        } else {
            (sys::SSL_CIPHER_get_protocol_id(cipher), json_str(sys::SSL_CIPHER_standard_name(cipher)))
        };
        let v = serde_json::json!({
            "alpn": alpn,
            "version": json_str(sys::SSL_get_version(ssl)),
            "cipherId": cid,
            "cipher": cname,
            "resumed": sys::SSL_session_reused(ssl) == 1,
            "sni": json_str(sys::SSL_get_servername(ssl, sys::TLSEXT_NAMETYPE_host_name as c_int)),
            "alertReceived": c.alert_received,
        });
        put_bytes(v.to_string().as_bytes(), out, cap)
    })
}

/// The newest session received and not yet taken: 0 = none; n <= cap = written and taken;
/// n > cap = not taken, call again with n bytes.
#[no_mangle]
pub unsafe extern "C" fn pb_take_session(conn: *mut Conn, out: *mut u8, cap: usize) -> i32 {
    with_conn!(conn, c => {
        if c.new_session.is_null() {
            return 0;
        }
        let mut buf: *mut u8 = std::ptr::null_mut();
        let mut len: usize = 0;
        if sys::SSL_SESSION_to_bytes(c.new_session, &mut buf, &mut len) != 1 {
            return fail(PB_ERR, "session: serialization failed");
        }
        let n = put_bytes(std::slice::from_raw_parts(buf, len), out, cap);
        sys::OPENSSL_free(buf as *mut std::ffi::c_void);
        if len <= cap {
            sys::SSL_SESSION_free(c.new_session);
            c.new_session = std::ptr::null_mut();
        }
        n
    })
}
