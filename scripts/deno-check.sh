#!/usr/bin/env bash
# Typechecks the runtime-agnostic core with Deno (from npm, node_modules/.bin/deno): the scope and
# the guard against `bun:` modules are in deno.json. Arguments: modules or folders to check
# instead of src/. No network: npm packages come from node_modules, and `--cached-only` refuses
# any remote fetch. Deno's check cache lives in node_modules/.cache/deno (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
export DENO_DIR="$PWD/node_modules/.cache/deno"
export DENO_NO_UPDATE_CHECK=1
unset RUST_BACKTRACE # a type error is not a crash: no empty Rust backtrace after it
if [ "$#" -eq 0 ]; then set -- src; fi
exec node_modules/.bin/deno check --quiet --cached-only --config deno.json "$@"
