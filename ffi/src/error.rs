//! Status codes and the thread-local last-error string of the C ABI.
//! Bun calls FFI on the JS thread, so a thread-local is exactly "the last error of this caller".

use btls_sys as sys;
use std::cell::RefCell;
use std::ffi::CStr;

/// Return codes shared with `polyboring.h` and `src/upstream/native/`.
pub const PB_OK: i32 = 0;
pub const PB_ERR: i32 = -1;
pub const PB_EOF: i32 = -2;
pub const PB_ERR_VERIFY: i32 = -3;
pub const PB_ERR_ARG: i32 = -4;
/// A constructor failed because of local configuration (e.g. an unreadable upstream CA file),
/// not because of the profile or the peer.
pub const PB_ERR_CONFIG: i32 = -5;

thread_local! {
    static LAST_ERROR: RefCell<(i32, String)> = const { RefCell::new((0, String::new())) };
}

pub fn set_last_error(msg: impl Into<String>) {
    set_last_error_code(PB_ERR, msg);
}

pub fn set_last_error_code(code: i32, msg: impl Into<String>) {
    LAST_ERROR.with(|e| *e.borrow_mut() = (code, msg.into()));
}

pub fn last_error_code() -> i32 {
    LAST_ERROR.with(|e| e.borrow().0)
}

/// Why a constructor failed: a status code (PB_ERR, PB_ERR_CONFIG...) and a readable reason.
pub struct Failure {
    pub code: i32,
    pub msg: String,
}

impl Failure {
    pub fn config(msg: impl Into<String>) -> Failure {
        Failure { code: PB_ERR_CONFIG, msg: msg.into() }
    }

    pub fn context(self, prefix: &str) -> Failure {
        Failure { code: self.code, msg: format!("{prefix}: {}", self.msg) }
    }
}

impl From<String> for Failure {
    fn from(msg: String) -> Failure {
        Failure { code: PB_ERR, msg }
    }
}

impl From<&str> for Failure {
    fn from(msg: &str) -> Failure {
        Failure { code: PB_ERR, msg: msg.to_string() }
    }
}

pub fn last_error() -> String {
    LAST_ERROR.with(|e| e.borrow().1.clone())
}

/// Drains BoringSSL's error queue into one readable line ("" when empty).
pub fn take_ssl_errors() -> String {
    let mut parts: Vec<String> = Vec::new();
    loop {
        let code = unsafe { sys::ERR_get_error() };
        if code == 0 {
            break;
        }
        let reason = unsafe { sys::ERR_reason_error_string(code) };
        let lib = unsafe { sys::ERR_lib_error_string(code) };
        let text = |p: *const std::os::raw::c_char| {
            if p.is_null() {
                None
            } else {
                Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
            }
        };
        let item = match (text(lib), text(reason)) {
            (Some(l), Some(r)) => format!("{l}: {r}"),
            (None, Some(r)) => r,
            _ => format!("error 0x{code:08x}"),
        };
        if !parts.contains(&item) {
            parts.push(item);
        }
    }
    parts.join("; ")
}

/// Records `context` plus whatever BoringSSL queued, and returns `code`.
pub fn fail(code: i32, context: &str) -> i32 {
    let ssl = take_ssl_errors();
    if ssl.is_empty() {
        set_last_error(context.to_string());
    } else {
        set_last_error(format!("{context}: {ssl}"));
    }
    code
}
