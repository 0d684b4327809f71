#!/usr/bin/env bash
# Prepares the BoringSSL source tree libpolyboring is built from and prints its absolute path.
#
# btls-sys 0.5.6 normally copies its bundled BoringSSL into its OUT_DIR and applies its own
# patches there. We need one more patch (boringssl-polytls.patch, see README.md), so the Makefile
# builds with BORING_BSSL_SOURCE_PATH=<this tree> and BORING_BSSL_ASSUME_PATCHED=1, and this
# script does what the crate's build script would have done, plus our patch:
#   1. copy the crate's deps/boringssl,
#   2. apply the crate's four unconditional patches, in the crate's order and with the crate's
#      options (`git apply -v --whitespace=fix`, build/main.rs ensure_patches_applied; the
#      optional underscore-wildcards patch belongs to a feature we do not enable),
#   3. apply boringssl-polytls.patch.
# The tree is ffi/target/boringssl-<key>, key = a hash of the crate version, every patch and this
# script. A changed patch gives a new path, which changes BORING_BSSL_SOURCE_PATH, so cargo re-runs
# btls-sys's build script and its cmake step starts from a clean build directory. Older trees are
# removed. Needs cargo (the crate comes from the crates registry only), git and python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ffi="$(dirname "$here")"
cd "$ffi"

# The crate's own patches, in the order its build script applies them.
CRATE_PATCHES=(boring-pq.patch boringssl.patch boringssl-loongarch.patch boringssl-windows.patch)
OUR_PATCH="$here/boringssl-polytls.patch"

host="$(rustc -vV | sed -n "s/^host: //p")"
crate_dir="$(cargo metadata --locked --format-version 1 --filter-platform "$host" | python3 -c '
import json, os, sys
meta = json.load(sys.stdin)
pkgs = [p for p in meta["packages"] if p["name"] == "btls-sys"]
if len(pkgs) != 1:
    sys.exit("prepare.sh: expected exactly one btls-sys package in cargo metadata")
print(os.path.dirname(pkgs[0]["manifest_path"]))
')"
[ -f "$crate_dir/deps/boringssl/CMakeLists.txt" ] || {
  echo "prepare.sh: $crate_dir/deps/boringssl is missing" >&2
  exit 1
}

sha256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }
key="$({
  basename "$crate_dir"
  for p in "${CRATE_PATCHES[@]}"; do cat "$crate_dir/patches/$p"; done
  cat "$OUR_PATCH" "$here/prepare.sh"
} | sha256 | cut -c1-16)"

tree="$ffi/target/boringssl-$key"
if [ -f "$tree/.polytls-prepared" ]; then
  echo "$tree"
  exit 0
fi

mkdir -p "$ffi/target"
work="$ffi/target/boringssl-$key.tmp.$$"
trap 'rm -rf "$work" "$work.log"' EXIT
cp -R "$crate_dir/deps/boringssl" "$work"
rm -rf "$work/.git"
# A repository of its own, so `git apply` resolves paths against this tree and not against an
# enclosing checkout (ffi/target sits inside the PolyTLS repository).
git -C "$work" init -q
apply() { # patch file, git apply options...
  local patch="$1"
  shift
  if ! git -C "$work" apply "$@" "$patch" 2>"$work.log"; then
    echo "prepare.sh: $(basename "$patch") does not apply:" >&2
    cat "$work.log" >&2
    exit 1
  fi
}
for p in "${CRATE_PATCHES[@]}"; do apply "$crate_dir/patches/$p" --whitespace=fix; done
apply "$OUR_PATCH"
rm -f "$work.log"
rm -rf "$work/.git"
touch "$work/.polytls-prepared"

for old in "$ffi"/target/boringssl-*; do
  [ "$old" = "$work" ] || rm -rf "$old"
done
mv "$work" "$tree"
trap - EXIT
echo "$tree"
