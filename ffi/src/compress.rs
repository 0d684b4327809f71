//! Certificate decompression (RFC 8879) for zlib (1), brotli (2) and zstd (3). The client only
//! advertises what it can decompress, so each advertised algorithm has a real decoder here.

use btls_sys as sys;
use std::io::Read;
use std::os::raw::c_int;

pub const ZLIB: u16 = 1;
pub const BROTLI: u16 = 2;
pub const ZSTD: u16 = 3;

/// Allocates a CRYPTO_BUFFER of exactly `len` bytes and lets `fill` write it; the decoder must
/// produce exactly `len` bytes, as the CompressedCertificate message announced.
unsafe fn with_buffer(
    out: *mut *mut sys::CRYPTO_BUFFER,
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> bool,
) -> c_int {
    let mut data: *mut u8 = std::ptr::null_mut();
    let buf = sys::CRYPTO_BUFFER_alloc(&mut data, len);
    if buf.is_null() {
        return 0;
    }
    let slice = if len == 0 { &mut [][..] } else { std::slice::from_raw_parts_mut(data, len) };
    if !fill(slice) {
        sys::CRYPTO_BUFFER_free(buf);
        return 0;
    }
    *out = buf;
    1
}

fn read_exact_then_eof(mut reader: impl Read, dst: &mut [u8]) -> bool {
    if reader.read_exact(dst).is_err() {
        return false;
    }
    let mut extra = [0u8; 1];
    matches!(reader.read(&mut extra), Ok(0))
}

/// The three decoders differ only in how they fill the announced number of bytes.
unsafe fn decompress(
    out: *mut *mut sys::CRYPTO_BUFFER,
    len: usize,
    input: *const u8,
    in_len: usize,
    decode: impl FnOnce(&[u8], &mut [u8]) -> bool,
) -> c_int {
    let src = std::slice::from_raw_parts(input, in_len);
    with_buffer(out, len, |dst| decode(src, dst))
}

pub unsafe extern "C" fn decompress_zlib(
    _ssl: *mut sys::SSL,
    out: *mut *mut sys::CRYPTO_BUFFER,
    len: usize,
    input: *const u8,
    in_len: usize,
) -> c_int {
    decompress(out, len, input, in_len, |src, dst| read_exact_then_eof(flate2::read::ZlibDecoder::new(src), dst))
}

pub unsafe extern "C" fn decompress_brotli(
    _ssl: *mut sys::SSL,
    out: *mut *mut sys::CRYPTO_BUFFER,
    len: usize,
    input: *const u8,
    in_len: usize,
) -> c_int {
    decompress(out, len, input, in_len, |src, dst| {
        read_exact_then_eof(brotli_decompressor::Decompressor::new(src, 4096), dst)
    })
}

pub unsafe extern "C" fn decompress_zstd(
    _ssl: *mut sys::SSL,
    out: *mut *mut sys::CRYPTO_BUFFER,
    len: usize,
    input: *const u8,
    in_len: usize,
) -> c_int {
    decompress(out, len, input, in_len, |src, dst| {
        matches!(zstd::bulk::decompress_to_buffer(src, dst), Ok(n) if n == dst.len())
    })
}

/// Compressors, so a server context can send compressed certificates (tests use this to exercise
/// the client's decoders end to end).
unsafe fn emit(out: *mut sys::CBB, packed: Option<Vec<u8>>) -> c_int {
    match packed {
        Some(v) => sys::CBB_add_bytes(out, v.as_ptr(), v.len()),
        None => 0,
    }
}

pub unsafe extern "C" fn compress_zlib(_ssl: *mut sys::SSL, out: *mut sys::CBB, input: *const u8, in_len: usize) -> c_int {
    use std::io::Write;
    let src = std::slice::from_raw_parts(input, in_len);
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    emit(out, enc.write_all(src).ok().and_then(|_| enc.finish().ok()))
}

pub unsafe extern "C" fn compress_brotli(_ssl: *mut sys::SSL, out: *mut sys::CBB, input: *const u8, in_len: usize) -> c_int {
    let mut src = std::slice::from_raw_parts(input, in_len);
    let mut v = Vec::new();
    let ok = brotli::BrotliCompress(&mut src, &mut v, &brotli::enc::BrotliEncoderParams::default()).is_ok();
    emit(out, ok.then_some(v))
}

pub unsafe extern "C" fn compress_zstd(_ssl: *mut sys::SSL, out: *mut sys::CBB, input: *const u8, in_len: usize) -> c_int {
    let src = std::slice::from_raw_parts(input, in_len);
    emit(out, zstd::bulk::compress(src, 3).ok())
}
