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

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

pub fn set_last_error(msg: impl Into<String>) {
    LAST_ERROR.with(|e| *e.borrow_mut() = msg.into());
}

pub fn last_error() -> String {
    LAST_ERROR.with(|e| e.borrow().clone())
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
