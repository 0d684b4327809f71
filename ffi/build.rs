// 1. Records the btls-sys version for pb_version(); cargo exposes dependency versions only
//    through the lock file, so it is read from there.
// 2. On Linux, tells the linker where the compiler's static libstdc++.a is (see .cargo/config.toml).
// 3. Refuses to build against btls-sys's own, unpatched BoringSSL: the library needs our patch
//    (patches/README.md), which `make native` applies through patches/prepare.sh and
//    BORING_BSSL_SOURCE_PATH. Without this check a plain `cargo build` would fail later with
//    "cannot find function SSL_CTX_set_grease_sigalgs_enabled in crate btls_sys".
use std::process::Command;

fn btls_sys_version() -> String {
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut in_pkg = false;
    for line in lock.lines() {
        if line == "name = \"btls-sys\"" {
            in_pkg = true;
        } else if in_pkg && line.starts_with("version = ") {
            return line.trim_start_matches("version = ").trim_matches('"').to_string();
        }
    }
    "unknown".to_string()
}

fn require_patched_boringssl() {
    println!("cargo:rerun-if-env-changed=BORING_BSSL_SOURCE_PATH");
    let ok = std::env::var_os("BORING_BSSL_SOURCE_PATH")
        .map(|p| std::path::Path::new(&p).join(".polytls-prepared").exists())
        .unwrap_or(false);
    if !ok {
        panic!(
            "libpolyboring needs BoringSSL with ffi/patches/boringssl-polytls.patch: build it with \
             `make native`, or set BORING_BSSL_SOURCE_PATH=$(ffi/patches/prepare.sh) and \
             BORING_BSSL_ASSUME_PATCHED=1 before running cargo (see ffi/patches/README.md)"
        );
    }
}

fn main() {
    require_patched_boringssl();
    println!("cargo:rustc-env=PB_BTLS_SYS_VERSION={}", btls_sys_version());
    println!("cargo:rerun-if-changed=Cargo.lock");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".to_string());
        let out = Command::new(&cxx).arg("-print-file-name=libstdc++.a").output();
        match out {
            Ok(o) if o.status.success() => {
                let file = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if let Some(dir) = std::path::Path::new(&file).parent().filter(|d| d.is_absolute()) {
                    println!("cargo:rustc-link-search=native={}", dir.display());
                }
            }
            _ => println!("cargo:warning=could not ask {cxx} where libstdc++.a is"),
        }
        println!("cargo:rerun-if-env-changed=CXX");
    }
}
