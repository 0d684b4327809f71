//! The profile spec (JSON, validated on the TypeScript side) and the connector context it builds.
//! Every refusal names the knob: "groups: 0x9999 is not a group BoringSSL supports".

use crate::anchors::{self, TrustAnchors};
use crate::compress;
use crate::error::take_ssl_errors;
use btls_sys as sys;
use serde::Deserialize;
use std::ffi::{CStr, CString};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alps {
    pub protocols: Vec<String>,
    pub new_codepoint: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileSpec {
    pub name: String,
    pub min_version: u16,
    pub max_version: u16,
    pub ciphers: Vec<u16>,
    pub groups: Vec<u16>,
    pub key_shares: Vec<u16>,
    pub sigalgs: Vec<u16>,
    /// A GREASE value first in signature_algorithms (Chrome 152+); needs our BoringSSL patch.
    /// Optional in the JSON (absent = false), like trust_anchors.
    #[serde(default)]
    pub sigalgs_grease: bool,
    pub grease: bool,
    pub extension_order: Option<Vec<u16>>,
    pub permute_extensions: bool,
    pub alpn: Vec<String>,
    pub alps: Option<Alps>,
    pub cert_compression: Vec<String>,
    pub ocsp_stapling: bool,
    pub signed_cert_timestamps: bool,
    pub ech_grease: bool,
    pub session_tickets: bool,
    /// Whether session_ticket stays in a ClientHello that offers a TLS 1.3 session (Chromium:
    /// yes; NSS, so Firefox and Tor: no). Optional in the JSON (absent = true); see
    /// `conn::Conn::offer_session`.
    #[serde(default = "yes")]
    pub session_tickets_when_resuming: bool,
    pub psk_dhe_ke: bool,
    pub record_size_limit: Option<u16>,
    pub delegated_credentials: Option<Vec<u16>>,
    pub renegotiation_info: bool,
    /// trust_anchors (0xca34) IDs and their order, or None for no extension.
    #[serde(default)]
    pub trust_anchors: Option<TrustAnchors>,
}

/// What a client connection needs from its context beyond the SSL_CTX itself.
pub struct ClientDefaults {
    pub alpn: Vec<String>,
    pub alps: Option<Alps>,
    pub key_shares: Vec<u16>,
    pub ech_grease: bool,
    /// The profile sends psk_key_exchange_modes, so it may offer a session. Without it a
    /// pre_shared_key is forbidden (RFC 8446 §4.2.9): no session is kept or accepted.
    pub resumption: bool,
    /// session_ticket is left out of a hello that offers a TLS 1.3 session (the profile sends
    /// session_ticket and has session_tickets_when_resuming = false).
    pub no_ticket_when_resuming: bool,
    /// The profile's highest version: a TLS 1.3 session is offered only when it is 0x0304.
    pub max_version: u16,
}

fn yes() -> bool {
    true
}

fn knob(name: &str, detail: String) -> String {
    let ssl = take_ssl_errors();
    if ssl.is_empty() {
        format!("{name}: {detail}")
    } else {
        format!("{name}: {detail} ({ssl})")
    }
}

fn cipher_names(ids: &[u16]) -> Result<String, String> {
    if ids.is_empty() {
        return Err("ciphers: the list is empty".into());
    }
    let mut names = Vec::with_capacity(ids.len());
    for id in ids {
        let c = unsafe { sys::SSL_get_cipher_by_value(*id) };
        if c.is_null() {
            return Err(format!("ciphers: 0x{id:04x} is not a cipher suite BoringSSL supports"));
        }
        names.push(unsafe { CStr::from_ptr(sys::SSL_CIPHER_get_name(c)) }.to_string_lossy().into_owned());
    }
    Ok(names.join(":"))
}

fn sigalg_names(knob_name: &str, ids: &[u16]) -> Result<String, String> {
    let mut names = Vec::with_capacity(ids.len());
    for id in ids {
        // With the curve in the name ("ecdsa_secp256r1_sha256"): the form parse_sigalgs_list accepts.
        let n = unsafe { sys::SSL_get_signature_algorithm_name(*id, 1) };
        if n.is_null() {
            return Err(format!("{knob_name}: 0x{id:04x} is not a signature algorithm BoringSSL supports"));
        }
        names.push(unsafe { CStr::from_ptr(n) }.to_string_lossy().into_owned());
    }
    Ok(names.join(":"))
}

fn version_ok(v: u16) -> bool {
    (0x0301..=0x0304).contains(&v)
}

/// Applies every knob of `spec` to a fresh client SSL_CTX. On error the caller frees `ctx`.
pub unsafe fn configure_client(ctx: *mut sys::SSL_CTX, spec: &ProfileSpec) -> Result<(), String> {
    crate::rules::check(spec)?;
    if !version_ok(spec.min_version) || !version_ok(spec.max_version) || spec.min_version > spec.max_version {
        return Err(format!(
            "tls versions: min 0x{:04x} / max 0x{:04x} must be within 0x0301..0x0304 and min <= max",
            spec.min_version, spec.max_version
        ));
    }
    if sys::SSL_CTX_set_min_proto_version(ctx, spec.min_version) != 1
        || sys::SSL_CTX_set_max_proto_version(ctx, spec.max_version) != 1
    {
        return Err(knob("tls versions", "refused".into()));
    }

    // TLS 1.3 order is kept as given (the fork's preserve_tls13_cipher_list); it must be set
    // before the cipher list is parsed.
    sys::SSL_CTX_set_preserve_tls13_cipher_list(ctx, 1);
    let mut names = cipher_names(&spec.ciphers)?;
    // BoringSSL keeps TLS 1.2 suites in a separate list that must not be empty. A TLS 1.3-only
    // profile gets a placeholder there; with min version 1.3 no TLS 1.2 suite is ever sent.
    if spec.ciphers.iter().all(|c| (0x1301..=0x13ff).contains(c)) {
        if spec.min_version < 0x0304 {
            return Err("ciphers: a profile that allows TLS 1.2 needs at least one TLS 1.2 cipher suite".into());
        }
        names.push_str(":ECDHE-ECDSA-AES128-GCM-SHA256");
    }
    let cnames = CString::new(names.clone()).map_err(|_| "ciphers: NUL in name".to_string())?;
    if sys::SSL_CTX_set_strict_cipher_list(ctx, cnames.as_ptr()) != 1 {
        return Err(knob("ciphers", format!("BoringSSL refused \"{names}\"")));
    }

    for g in &spec.groups {
        if sys::SSL_get_group_name(*g).is_null() {
            return Err(format!("groups: 0x{g:04x} ({g}) is not a group BoringSSL supports"));
        }
    }
    if spec.groups.is_empty() || sys::SSL_CTX_set1_group_ids(ctx, spec.groups.as_ptr(), spec.groups.len()) != 1 {
        return Err(knob("groups", format!("BoringSSL refused {:?}", spec.groups)));
    }

    sigalg_names("signature_algorithms", &spec.sigalgs)?;
    if spec.sigalgs.is_empty()
        || sys::SSL_CTX_set_verify_algorithm_prefs(ctx, spec.sigalgs.as_ptr(), spec.sigalgs.len()) != 1
    {
        return Err(knob("signature_algorithms", format!("BoringSSL refused {:?}", spec.sigalgs)));
    }

    sys::SSL_CTX_set_grease_sigalgs_enabled(ctx, spec.sigalgs_grease as i32);
    if let Some(ta) = &spec.trust_anchors {
        anchors::apply(ctx, ta)?;
    }

    sys::SSL_CTX_set_grease_enabled(ctx, spec.grease as i32);
    match (&spec.extension_order, spec.permute_extensions) {
        (Some(_), true) => return Err("extension_order: cannot be combined with permute_extensions".into()),
        (Some(order), false) => {
            if sys::SSL_CTX_set_extension_order(ctx, order.as_ptr(), order.len() as i32) != 1 {
                return Err(knob("extension_order", "refused".into()));
            }
        }
        (None, p) => sys::SSL_CTX_set_permute_extensions(ctx, p as i32),
    }

    for alg in &spec.cert_compression {
        let (id, f): (u16, sys::ssl_cert_decompression_func_t) = match alg.as_str() {
            "zlib" => (compress::ZLIB, Some(compress::decompress_zlib)),
            "brotli" => (compress::BROTLI, Some(compress::decompress_brotli)),
            "zstd" => (compress::ZSTD, Some(compress::decompress_zstd)),
            other => return Err(format!("cert_compression: unknown algorithm \"{other}\"")),
        };
        if sys::SSL_CTX_add_cert_compression_alg(ctx, id, None, f) != 1 {
            return Err(knob("cert_compression", format!("BoringSSL refused \"{alg}\"")));
        }
    }

    if spec.ocsp_stapling {
        sys::SSL_CTX_enable_ocsp_stapling(ctx);
    }
    if spec.signed_cert_timestamps {
        sys::SSL_CTX_enable_signed_cert_timestamps(ctx);
    }
    let mut options: u32 = 0;
    if !spec.session_tickets {
        options |= sys::SSL_OP_NO_TICKET as u32;
    }
    if !spec.psk_dhe_ke {
        options |= sys::SSL_OP_NO_PSK_DHE_KE as u32;
    }
    if !spec.renegotiation_info {
        options |= sys::SSL_OP_NO_RENEGOTIATION as u32;
    }
    sys::SSL_CTX_set_options(ctx, options);

    if let Some(limit) = spec.record_size_limit {
        if !(64..=16385).contains(&limit) {
            return Err(format!("record_size_limit: {limit} is outside 64..16385 (RFC 8449)"));
        }
        sys::SSL_CTX_set_record_size_limit(ctx, limit);
    }
    if let Some(dc) = &spec.delegated_credentials {
        let names = sigalg_names("delegated_credentials", dc)?;
        let c = CString::new(names.clone()).map_err(|_| "delegated_credentials: NUL".to_string())?;
        if dc.is_empty() || sys::SSL_CTX_set_delegated_credentials(ctx, c.as_ptr()) != 1 {
            return Err(knob("delegated_credentials", format!("BoringSSL refused \"{names}\"")));
        }
    }
    for p in &spec.alpn {
        if p.is_empty() || p.len() > 255 {
            return Err(format!("alpn: \"{p}\" must be 1..255 bytes"));
        }
    }
    if let Some(alps) = &spec.alps {
        for p in &alps.protocols {
            if !spec.alpn.contains(p) {
                return Err(format!("alps: protocol \"{p}\" is not in alpn"));
            }
        }
    }
    Ok(())
}
