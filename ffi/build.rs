// Records the btls-sys version for pb_version(), read from Cargo.lock by the Makefile-free path:
// cargo exposes dependency versions only through the lock file, so parse it here.
fn main() {
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut version = "unknown".to_string();
    let mut in_pkg = false;
    for line in lock.lines() {
        if line == "name = \"btls-sys\"" {
            in_pkg = true;
        } else if in_pkg && line.starts_with("version = ") {
            version = line.trim_start_matches("version = ").trim_matches('"').to_string();
            break;
        }
    }
    println!("cargo:rustc-env=PB_BTLS_SYS_VERSION={version}");
    println!("cargo:rerun-if-changed=Cargo.lock");
}
