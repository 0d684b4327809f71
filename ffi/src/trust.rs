//! Trust stores for upstream verification: the system bundle plus an optional extra CA file.
//! Built once per distinct CA file and kept for the life of the process (they are small and
//! shared by reference count with every connection that uses them).

use btls_sys as sys;
use std::collections::HashMap;
use std::ffi::CString;
use std::sync::Mutex;

/// Where Linux distributions and macOS keep the PEM bundle of system roots; the first that
/// exists wins. `SSL_CERT_FILE` (the OpenSSL convention) overrides the list.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem", // macOS, some BSDs
];

struct StorePtr(*mut sys::X509_STORE);
unsafe impl Send for StorePtr {}

static STORES: Mutex<Option<HashMap<String, StorePtr>>> = Mutex::new(None);

fn system_bundle() -> Option<String> {
    if let Ok(p) = std::env::var("SSL_CERT_FILE") {
        if std::path::Path::new(&p).is_file() {
            return Some(p);
        }
    }
    SYSTEM_BUNDLES.iter().find(|p| std::path::Path::new(p).is_file()).map(|p| p.to_string())
}

unsafe fn load_file(store: *mut sys::X509_STORE, path: &str) -> Result<(), String> {
    let c = CString::new(path).map_err(|_| format!("CA file path {path:?} contains a NUL byte"))?;
    if sys::X509_STORE_load_locations(store, c.as_ptr(), std::ptr::null()) != 1 {
        let why = crate::error::take_ssl_errors();
        return Err(format!("cannot load CA file {path}: {}", if why.is_empty() { "no certificates" } else { &why }));
    }
    Ok(())
}

/// Returns a store (borrowed; the cache keeps one reference) for `extra_ca_file`.
pub fn store_for(extra_ca_file: Option<&str>) -> Result<*mut sys::X509_STORE, String> {
    let key = extra_ca_file.unwrap_or("").to_string();
    let mut guard = STORES.lock().map_err(|_| "trust store cache poisoned".to_string())?;
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(s) = map.get(&key) {
        return Ok(s.0);
    }
    unsafe {
        let store = sys::X509_STORE_new();
        if store.is_null() {
            return Err("X509_STORE_new failed".into());
        }
        let mut result = Ok(());
        if let Some(bundle) = system_bundle() {
            // A broken system bundle is not fatal when an explicit CA file is given.
            let r = load_file(store, &bundle);
            if extra_ca_file.is_none() {
                result = r;
            }
        }
        if let (Ok(()), Some(extra)) = (&result, extra_ca_file) {
            result = load_file(store, extra);
        }
        if let Err(e) = result {
            sys::X509_STORE_free(store);
            return Err(e);
        }
        map.insert(key, StorePtr(store));
        Ok(store)
    }
}

/// Loads (and keeps) the trust store connections will use: the system bundle plus `path` when
/// given (UTF-8, `len` bytes; `len` 0 = the system bundle alone). PB_OK, or PB_ERR_CONFIG with the
/// reason in pb_last_error, so a CA file BoringSSL cannot load is refused at start, not on every
/// tunnel.
#[no_mangle]
pub unsafe extern "C" fn pb_trust_load(path: *const u8, len: usize) -> i32 {
    let extra = if path.is_null() || len == 0 {
        None
    } else {
        match std::str::from_utf8(std::slice::from_raw_parts(path, len)) {
            Ok(s) => Some(s),
            Err(_) => {
                crate::error::set_last_error_code(crate::error::PB_ERR_ARG, "CA file path is not UTF-8");
                return crate::error::PB_ERR_ARG;
            }
        }
    };
    match store_for(extra) {
        Ok(_) => crate::error::PB_OK,
        Err(e) => {
            crate::error::set_last_error_code(crate::error::PB_ERR_CONFIG, e);
            crate::error::PB_ERR_CONFIG
        }
    }
}
