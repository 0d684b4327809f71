/**
 * The only file that touches `bun:ffi`. It loads libpolyboring and exposes its `pb_*` functions
 * with TypedArrays passed directly; handles stay opaque numbers. Everything above this file is
 * runtime-agnostic.
 */
import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { ProxyError } from "../../errors/proxy-error.ts";
import { locateNativeLibrary, releaseExtractedCopy } from "./locate.ts";

/** ABI revision this binding was written against (PB_ABI_VERSION in ffi/src/lib.rs). */
const EXPECTED_ABI = 5;

const { ptr, i32, u32 } = FFIType;
// size_t: passed as a JS number, converted to 64 bits (no buffer here comes near 2^53).
const usize = FFIType.u64;

const SYMBOLS = {
  pb_abi_version: { args: [], returns: u32 },
  pb_version: { args: [ptr, usize], returns: i32 },
  pb_last_error: { args: [ptr, usize], returns: i32 },
  pb_last_error_code: { args: [], returns: i32 },
  pb_raise_nofile_limit: { args: [], returns: FFIType.i64_fast },
  pb_trust_load: { args: [ptr, usize], returns: i32 },
  pb_client_ctx_new: { args: [ptr, usize], returns: ptr },
  pb_server_ctx_new: { args: [ptr, usize], returns: ptr },
  pb_ctx_free: { args: [ptr], returns: FFIType.void },
  pb_client_new: { args: [ptr, ptr, usize, ptr, usize], returns: ptr },
  pb_server_new: { args: [ptr, ptr, usize, ptr, usize, ptr, usize], returns: ptr },
  pb_conn_free: { args: [ptr], returns: FFIType.void },
  pb_feed: { args: [ptr, ptr, usize], returns: i32 },
  pb_pending_output: { args: [ptr], returns: i32 },
  pb_take_output: { args: [ptr, ptr, usize], returns: i32 },
  pb_handshake: { args: [ptr], returns: i32 },
  pb_read: { args: [ptr, ptr, usize], returns: i32 },
  pb_write: { args: [ptr, ptr, usize], returns: i32 },
  pb_shutdown: { args: [ptr], returns: i32 },
  pb_info: { args: [ptr, ptr, usize], returns: i32 },
  pb_take_session: { args: [ptr, ptr, usize], returns: i32 },
} as const;

/** An opaque native handle (context or connection). */
export type NativeHandle = Pointer;

export interface NativeLib {
  abiVersion(): number;
  version(): string;
  lastError(): string;
  /** Status code of the last failure (see ffi/src/error.rs). */
  lastErrorCode(): number;
  /** Raises the soft RLIMIT_NOFILE to the hard limit: the new soft limit, or < 0 (see lastError). */
  raiseNofileLimit(): number;
  /** Loads the upstream trust store with this CA file (UTF-8; empty = system bundle only): 0 or < 0. */
  trustLoad(path: Uint8Array): number;
  clientCtxNew(specJson: Uint8Array): NativeHandle | null;
  serverCtxNew(optsJson: Uint8Array): NativeHandle | null;
  ctxFree(h: NativeHandle): void;
  clientNew(ctx: NativeHandle, optsJson: Uint8Array, session: Uint8Array): NativeHandle | null;
  serverNew(ctx: NativeHandle, chain: Uint8Array, key: Uint8Array, alpnWire: Uint8Array): NativeHandle | null;
  connFree(h: NativeHandle): void;
  feed(h: NativeHandle, data: Uint8Array): number;
  pendingOutput(h: NativeHandle): number;
  takeOutput(h: NativeHandle, out: Uint8Array): number;
  handshake(h: NativeHandle): number;
  read(h: NativeHandle, out: Uint8Array): number;
  write(h: NativeHandle, data: Uint8Array): number;
  shutdown(h: NativeHandle): number;
  info(h: NativeHandle, out: Uint8Array): number;
  takeSession(h: NativeHandle, out: Uint8Array): number;
}

const decoder = new TextDecoder();

function readString(call: (out: Uint8Array, cap: number) => number): string {
  let buf = new Uint8Array(512);
  for (;;) {
    const n = call(buf, buf.length);
    if (n <= buf.length) return decoder.decode(buf.subarray(0, Math.max(0, n)));
    buf = new Uint8Array(n);
  }
}

let loaded: NativeLib | undefined;

function checkAbi(path: string, abi: number | null): void {
  if (abi !== null && abi !== EXPECTED_ABI) {
    throw new ProxyError(
      "NATIVE_UNAVAILABLE",
      `${path} has ABI ${abi}, expected ${EXPECTED_ABI}: rebuild it`,
    );
  }
}

/** The ABI revision of the library at `path`, or null when it cannot even be asked. */
function abiOf(path: string): number | null {
  try {
    const probe = dlopen(path, { pb_abi_version: SYMBOLS.pb_abi_version });
    try {
      return probe.symbols.pb_abi_version();
    } finally {
      probe.close();
    }
  } catch {
    return null;
  }
}

/** Loads the library once; throws ProxyError("NATIVE_UNAVAILABLE") explaining what is missing. */
export function loadNative(): NativeLib {
  if (loaded) return loaded;
  const path = locateNativeLibrary();
  let lib: ReturnType<typeof dlopen<typeof SYMBOLS>>;
  try {
    lib = dlopen(path, SYMBOLS);
  } catch (err) {
    // A library of another ABI revision may lack a symbol this one needs: say that, not which.
    checkAbi(path, abiOf(path));
    throw new ProxyError("NATIVE_UNAVAILABLE", `cannot load ${path}: ${String(err)}`, { cause: err });
  } finally {
    releaseExtractedCopy(); // a copy in a fresh temp folder is not needed once mapped
  }
  const s = lib.symbols;
  const abi = s.pb_abi_version();
  checkAbi(path, abi);
  // Bun returns pointers as numbers; a bigint would mean an address beyond 2^53 (never on x64/arm64).
  const handle = (p: Pointer | bigint | null): NativeHandle | null => {
    if (typeof p === "bigint")
      throw new ProxyError("INTERNAL", "native handle outside the safe integer range");
    return p === null || p === 0 ? null : p;
  };
  loaded = {
    abiVersion: () => abi,
    version: () => readString((o, c) => s.pb_version(o, c)),
    lastError: () => readString((o, c) => s.pb_last_error(o, c)),
    lastErrorCode: () => s.pb_last_error_code(),
    raiseNofileLimit: () => Number(s.pb_raise_nofile_limit()),
    trustLoad: (p) => s.pb_trust_load(p.length > 0 ? p : null, p.length),
    clientCtxNew: (spec) => handle(s.pb_client_ctx_new(spec, spec.length)),
    serverCtxNew: (opts) => handle(s.pb_server_ctx_new(opts, opts.length)),
    ctxFree: (h) => s.pb_ctx_free(h),
    clientNew: (ctx, opts, session) =>
      handle(s.pb_client_new(ctx, opts, opts.length, session.length > 0 ? session : null, session.length)),
    serverNew: (ctx, chain, key, alpn) =>
      handle(
        s.pb_server_new(
          ctx,
          chain,
          chain.length,
          key,
          key.length,
          alpn.length > 0 ? alpn : null,
          alpn.length,
        ),
      ),
    connFree: (h) => s.pb_conn_free(h),
    feed: (h, d) => s.pb_feed(h, d, d.length),
    pendingOutput: (h) => s.pb_pending_output(h),
    takeOutput: (h, o) => s.pb_take_output(h, o, o.length),
    handshake: (h) => s.pb_handshake(h),
    read: (h, o) => s.pb_read(h, o, o.length),
    write: (h, d) => s.pb_write(h, d, d.length),
    shutdown: (h) => s.pb_shutdown(h),
    info: (h, o) => s.pb_info(h, o, o.length),
    takeSession: (h, o) => s.pb_take_session(h, o, o.length),
  };
  return loaded;
}
