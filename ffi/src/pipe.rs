//! A byte pipe exposed to BoringSSL as a BIO. Replaces BIO_s_mem for both directions because a
//! mem BIO keeps its peak capacity forever (a certificate flight leaves ~8 KiB behind in every
//! idle connection) and moves the unread rest on every partial read. A pipe frees its buffer as
//! soon as it is drained, and reads advance an offset.

use btls_sys as sys;
use std::ffi::c_void;
use std::os::raw::{c_char, c_int, c_long};
use std::sync::OnceLock;

#[derive(Default)]
pub struct Pipe {
    buf: Vec<u8>,
    start: usize,
}

impl Pipe {
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Copies up to `out.len()` bytes out; frees the buffer once it is empty.
    pub fn pull(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len());
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        if self.start == self.buf.len() {
            self.buf = Vec::new();
            self.start = 0;
        }
        n
    }
}

struct Method(*mut sys::BIO_METHOD);
unsafe impl Send for Method {}
unsafe impl Sync for Method {}

static METHOD: OnceLock<Method> = OnceLock::new();

unsafe fn pipe_of<'a>(bio: *mut sys::BIO) -> Option<&'a mut Pipe> {
    (sys::BIO_get_data(bio) as *mut Pipe).as_mut()
}

unsafe extern "C" fn bio_write(bio: *mut sys::BIO, data: *const c_char, len: c_int) -> c_int {
    sys::BIO_clear_retry_flags(bio);
    match pipe_of(bio) {
        Some(p) if len >= 0 => {
            if len > 0 {
                p.push(std::slice::from_raw_parts(data as *const u8, len as usize));
            }
            len
        }
        _ => -1,
    }
}

unsafe extern "C" fn bio_read(bio: *mut sys::BIO, out: *mut c_char, len: c_int) -> c_int {
    sys::BIO_clear_retry_flags(bio);
    let Some(p) = pipe_of(bio) else { return -1 };
    if len <= 0 {
        return 0;
    }
    let n = p.pull(std::slice::from_raw_parts_mut(out as *mut u8, len as usize));
    if n == 0 {
        // Empty means "no data yet", never end of stream: the caller feeds more later.
        sys::BIO_set_retry_read(bio);
        return -1;
    }
    n as c_int
}

unsafe extern "C" fn bio_ctrl(bio: *mut sys::BIO, cmd: c_int, _num: c_long, _ptr: *mut c_void) -> c_long {
    match cmd {
        sys::BIO_CTRL_PENDING | sys::BIO_CTRL_WPENDING => pipe_of(bio).map_or(0, |p| p.len() as c_long),
        sys::BIO_CTRL_FLUSH => 1,
        _ => 0,
    }
}

fn method() -> *mut sys::BIO_METHOD {
    METHOD
        .get_or_init(|| unsafe {
            let m = sys::BIO_meth_new(sys::BIO_TYPE_SOURCE_SINK | sys::BIO_get_new_index(), c"polyboring pipe".as_ptr());
            sys::BIO_meth_set_write(m, Some(bio_write));
            sys::BIO_meth_set_read(m, Some(bio_read));
            sys::BIO_meth_set_ctrl(m, Some(bio_ctrl));
            Method(m)
        })
        .0
}

/// A BIO reading from / writing to `pipe`, which must outlive the BIO (the Conn owns both and
/// frees the SSL, and with it the BIO, first).
pub unsafe fn new_bio(pipe: *mut Pipe) -> *mut sys::BIO {
    let bio = sys::BIO_new(method());
    if !bio.is_null() {
        sys::BIO_set_data(bio, pipe as *mut c_void);
        sys::BIO_set_init(bio, 1);
    }
    bio
}
