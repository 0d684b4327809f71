// 1. Records the btls-sys version for pb_version(); cargo exposes dependency versions only
//    through the lock file, so it is read from there.
// 2. On Linux, tells the linker where the compiler's static libstdc++.a is (see .cargo/config.toml).
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

fn main() {
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
