# PolyTLS — build, test and run. `make run` and `make test` work on a fresh Debian machine:
# prerequisites are checked first and installed with apt-get when running as root.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BUN       := node_modules/.bin/bun
TSC       := node_modules/.bin/tsc
BIOME     := node_modules/.bin/biome
ifeq ($(shell uname -s),Darwin)
NATIVE    := ffi/target/release/libpolyboring.dylib
else
NATIVE    := ffi/target/release/libpolyboring.so
endif
# The copy bun build embeds: one fixed name for every OS (src/cli/bin.ts imports it).
EMBED     := ffi/target/release/libpolyboring.embed
DIST      := dist/polytls
SRC_FILES := $(shell find src profiles -type f 2>/dev/null) package.json
FFI_FILES := $(shell find ffi/src ffi/patches -type f 2>/dev/null) ffi/Cargo.toml ffi/Cargo.lock ffi/build.rs ffi/.cargo/config.toml
# Debian packages the native build needs (BoringSSL: cmake, C/C++; btls-sys bindings: libclang;
# patches are applied with git) and the tests use (python3, for a loopback connect-timeout peer).
APT_PKGS  := cmake build-essential git libclang-dev python3 ca-certificates

.PHONY: help prereqs deps native check test build run bench soak clean

help:
	@echo "make run    - start the MITM proxy on 127.0.0.1:8080 (default profile), building what is missing;"
	@echo "             flags for polytls run go in ARGS, e.g. make run ARGS=\"-p firefox --log-level debug\""
	@echo "make test   - install prerequisites, build, typecheck, lint and run every test"
	@echo "make build  - dist/polytls, one executable with the native library and profiles embedded"
	@echo "make check  - typecheck (tsc --noEmit; deno check of the runtime-agnostic core) and lint (biome)"
	@echo "make bench  - proxy benchmarks against a direct connection (not a test)"
	@echo "make soak   - bounded endurance run: 12,000 mixed tunnels, 2,000 idle at the cap (~1-2 min, not a test)"

prereqs:
	@scripts/prereqs.sh $(APT_PKGS)

node_modules/.installed: package.json package-lock.json | prereqs
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

# BoringSSL is btls-sys's own plus our patch (ffi/patches/README.md): prepare.sh builds the source
# tree once per patch version and prints its path; btls-sys then compiles that tree as it is.
$(NATIVE): $(FFI_FILES) | prereqs
	@echo "native: building ffi/ (Rust cdylib libpolyboring with BoringSSL compiled from source), once: ~150 s on 2 cores (BoringSSL with our patch), this machine has $$(getconf _NPROCESSORS_ONLN)"
	@set -e; start=$$(date +%s); \
	src="$$(ffi/patches/prepare.sh)"; \
	(cd ffi && BORING_BSSL_SOURCE_PATH="$$src" BORING_BSSL_ASSUME_PATCHED=1 cargo build --release --locked); \
	echo "native build: $$(( $$(date +%s) - start )) s"
	@touch $@

$(EMBED): $(NATIVE)
	cp $< $@

native: $(NATIVE)

check: deps
	$(TSC) --noEmit -p tsconfig.json
	scripts/deno-check.sh
	$(BIOME) check

$(DIST): $(SRC_FILES) $(EMBED) node_modules/.installed
	@mkdir -p dist
	$(BUN) build src/cli/bin.ts --compile --minify --sourcemap=none --outfile $(DIST)
	@ls -l $(DIST) | awk '{printf "dist/polytls: %.1f MiB\n", $$5/1048576}'

build: $(DIST)

test: deps native check build
	scripts/run-tests.sh

run: $(DIST)
	$(DIST) run $(ARGS)

bench: deps native
	$(BUN) bench/run.ts

soak: deps native
	$(BUN) bench/soak.ts

clean:
	rm -rf dist node_modules ffi/target
