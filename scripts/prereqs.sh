#!/usr/bin/env bash
# Checks the tools the build needs; installs missing Debian packages when run as root, otherwise
# prints the exact command. Arguments: the Debian packages to install.
set -euo pipefail
missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have cmake || missing+=(cmake)
{ have cc && have c++; } || missing+=(build-essential)
have git || missing+=(git)
have python3 || missing+=(python3)
exists_any() { local f; for f in "$@"; do [ -e "$f" ] && return 0; done; return 1; }
libclang_ok() {
  [ -n "${LIBCLANG_PATH:-}" ] && return 0
  exists_any /usr/lib/llvm-*/lib/libclang.so* /usr/lib/*-linux-gnu/libclang*.so* \
    && exists_any /usr/lib/llvm-*/lib/clang/*/include/stddef.h
}
if [ "$(uname -s)" = Linux ]; then
  libclang_ok || missing+=(libclang-dev)
  [ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(uname -s)" = Darwin ]; then
    echo "prereqs: missing ${missing[*]}: install Xcode command line tools (xcode-select --install) and: brew install cmake" >&2
    exit 1
  elif [ "$(id -u)" = 0 ] && have apt-get; then
    echo "prereqs: installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$@" >/dev/null
  else
    echo "prereqs: missing ${missing[*]}. Install them, e.g.:" >&2
    echo "  sudo apt-get install -y $*" >&2
    exit 1
  fi
fi
for tool in node npm cargo; do
  if ! have "$tool"; then
    case "$tool" in
      cargo) echo "prereqs: cargo (Rust) is missing: install Rust with rustup (https://rustup.rs), then re-run make" >&2 ;;
      *) echo "prereqs: $tool is missing: install Node.js 20+ with npm (e.g. sudo apt-get install -y nodejs npm)" >&2 ;;
    esac
    exit 1
  fi
done
