/**
 * UpstreamTlsEngine over libpolyboring. Owns no sockets: callers move bytes. Every native handle
 * is freed by close() / Symbol.dispose (a FinalizationRegistry only backs up forgotten ones).
 */
import { type ErrorCode, ProxyError } from "../../errors/proxy-error.ts";
import type {
  ClientConnectOptions,
  HandshakeInfo,
  HandshakeState,
  ProfileSpec,
  ServerAcceptOptions,
  TlsConnection,
  TlsConnector,
  UpstreamTlsEngine,
} from "../engine.ts";
import { loadNative, type NativeHandle, type NativeLib } from "./ffi.ts";

/** Status codes of ffi/src/error.rs. */
const PB_EOF = -2;
const PB_ERR_VERIFY = -3;
const PB_ERR_CONFIG = -5;

/** Plaintext bytes one read() may return: two 16 KiB records (RFC 8446 §5.1). Measured with
 * bench/ against 16, 64, 128 and 256 KiB: 32 KiB gave the best bulk throughput (larger chunks
 * make the socket layer buffer and move more per partial write). */
const READ_CHUNK_BYTES = 32 * 1024;
/** A session blob is ~1-2 KiB; larger ones are retried with the exact size. */
const SESSION_BUFFER_BYTES = 4096;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Reads larger than this hand their piece of the read slab to the caller (no copy). */
const HAND_OVER_BYTES = 16 * 1024;
/**
 * Read results and ciphertext outputs are cut from shared slabs of this size, bytes: one
 * allocation per eight 32 KiB bulk reads instead of one per read. A slab is freed by the collector
 * once no piece of it is referenced; small reads are still copied out, so a chunk a parser keeps
 * never pins a slab for long.
 */
const SLAB_BYTES = 256 * 1024;
/**
 * Outputs from this size up to SLAB_OUTPUT_MAX_BYTES are cut from the output slab (bulk records);
 * others get a buffer of their own, so a small write a socket keeps a while never pins a slab.
 * Bytes.
 */
const SLAB_OUTPUT_MIN_BYTES = 16 * 1024;
const SLAB_OUTPUT_MAX_BYTES = 64 * 1024;

/** Hands out consecutive, never overlapping pieces of a slab, starting a new slab when full. */
class Slab {
  #buf: Uint8Array = Buffer.allocUnsafe(SLAB_BYTES);
  #at = 0;

  /** A region of `n` bytes (n <= SLAB_BYTES) to fill, not handed out until `keep`. */
  room(n: number): Uint8Array {
    if (this.#buf.length - this.#at < n) {
      this.#buf = Buffer.allocUnsafe(SLAB_BYTES);
      this.#at = 0;
    }
    return this.#buf.subarray(this.#at, this.#at + n);
  }

  /** The first `n` bytes of the last `room` now belong to the caller. */
  keep(n: number): void {
    this.#at += n;
  }
}

const readSlab = new Slab();
const outputSlab = new Slab();
const sessionScratch = new Uint8Array(SESSION_BUFFER_BYTES);

/**
 * Frees a connection handle its owner forgot to close. The handle itself is the held value and the
 * connection its own unregister token (held weakly): no extra object per connection, which every
 * idle tunnel would keep two of. A handle exists only once the library is loaded.
 */
const connFinalizer = new FinalizationRegistry<NativeHandle>((h) => loadNative().connFree(h));
const ctxFinalizer = new FinalizationRegistry<{ lib: NativeLib; h: NativeHandle }>(({ lib, h }) =>
  lib.ctxFree(h),
);

function alpnWire(protocols: readonly string[]): Uint8Array {
  const parts: number[] = [];
  for (const p of protocols) {
    const b = encoder.encode(p);
    if (b.length === 0 || b.length > 255)
      throw new ProxyError("TLS_CONFIG", `alpn: "${p}" must be 1..255 bytes`);
    parts.push(b.length, ...b);
  }
  return Uint8Array.from(parts);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** pb_info's JSON. */
interface RawInfo {
  alpn: string | null;
  version: string | null;
  cipherId: number;
  cipher: string | null;
  resumed: boolean;
  sni: string | null;
  alertReceived?: number | null;
}

class NativeConnection implements TlsConnection {
  #lib: NativeLib;
  #h: NativeHandle | null;

  constructor(lib: NativeLib, h: NativeHandle) {
    this.#lib = lib;
    this.#h = h;
    connFinalizer.register(this, h, this);
  }

  #handle(): NativeHandle {
    if (this.#h === null) throw new ProxyError("INTERNAL", "TLS connection already closed");
    return this.#h;
  }

  /** The native reason already names the step ("handshake: received alert ..."): used as is. */
  #fail(status: number, code: ErrorCode, what: string): never {
    const detail = this.#lib.lastError();
    if (status === PB_ERR_VERIFY) throw new ProxyError("TLS_VERIFY", detail);
    throw new ProxyError(code, detail || `${what}: status ${status}`);
  }

  feed(ciphertext: Uint8Array): void {
    if (ciphertext.length === 0) return;
    const r = this.#lib.feed(this.#handle(), ciphertext);
    if (r < 0) this.#fail(r, "TLS_PROTOCOL", "feed");
  }

  takeOutput(): Uint8Array | null {
    const h = this.#handle();
    const n = this.#lib.pendingOutput(h);
    if (n <= 0) return null;
    const fromSlab = n >= SLAB_OUTPUT_MIN_BYTES && n <= SLAB_OUTPUT_MAX_BYTES;
    // every byte of the region is overwritten below
    const out: Uint8Array = fromSlab ? outputSlab.room(n) : Buffer.allocUnsafe(n);
    const got = Math.max(0, this.#lib.takeOutput(h, out));
    if (fromSlab) outputSlab.keep(got);
    return got === n ? out : out.subarray(0, got);
  }

  handshake(): HandshakeState {
    const r = this.#lib.handshake(this.#handle());
    if (r === 1) return "done";
    if (r === 0) return "want";
    if (r === PB_EOF) throw new ProxyError("TLS_HANDSHAKE", "handshake: peer closed the connection");
    return this.#fail(r, "TLS_HANDSHAKE", "handshake");
  }

  read(): Uint8Array | null | "eof" {
    const room = readSlab.room(READ_CHUNK_BYTES);
    const r = this.#lib.read(this.#handle(), room);
    if (r > HAND_OVER_BYTES) {
      readSlab.keep(r);
      return room.subarray(0, r);
    }
    // A copy: `room` is a Buffer, whose slice() is a view the next read would overwrite.
    if (r > 0) return Uint8Array.prototype.slice.call(room, 0, r);
    if (r === 0) return null;
    if (r === PB_EOF) return "eof";
    return this.#fail(r, "TLS_PROTOCOL", "read");
  }

  write(plaintext: Uint8Array): void {
    let off = 0;
    const h = this.#handle();
    while (off < plaintext.length) {
      const r = this.#lib.write(h, off === 0 ? plaintext : plaintext.subarray(off));
      if (r <= 0) this.#fail(r, "TLS_PROTOCOL", "write");
      off += r;
    }
  }

  shutdown(): void {
    if (this.#h !== null) this.#lib.shutdown(this.#h);
  }

  info(): HandshakeInfo {
    const raw = this.#rawInfo();
    return {
      alpn: raw.alpn,
      version: raw.version ?? "unknown",
      cipherId: raw.cipherId,
      cipher: raw.cipher ?? "unknown",
      resumed: raw.resumed,
      sni: raw.sni,
    };
  }

  alertReceived(): number | null {
    return this.#rawInfo().alertReceived ?? null;
  }

  #rawInfo(): RawInfo {
    const h = this.#handle();
    let buf = new Uint8Array(512);
    let n = this.#lib.info(h, buf);
    if (n > buf.length) {
      buf = new Uint8Array(n);
      n = this.#lib.info(h, buf);
    }
    return JSON.parse(decoder.decode(buf.subarray(0, n))) as RawInfo;
  }

  takeSession(): Uint8Array | null {
    const h = this.#handle();
    // Called after every read burst; the shared buffer keeps the common "no new session" answer
    // free of allocations.
    let buf = sessionScratch;
    let n = this.#lib.takeSession(h, buf);
    if (n > buf.length) {
      buf = new Uint8Array(n);
      n = this.#lib.takeSession(h, buf);
    }
    if (n < 0) this.#fail(n, "INTERNAL", "session");
    return n === 0 ? null : buf.slice(0, n);
  }

  close(): void {
    if (this.#h === null) return;
    connFinalizer.unregister(this);
    this.#lib.connFree(this.#h);
    this.#h = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

class NativeConnector implements TlsConnector {
  readonly profile: string;
  #lib: NativeLib;
  #h: NativeHandle | null;
  readonly #token = {};

  constructor(lib: NativeLib, spec: ProfileSpec) {
    this.profile = spec.name;
    this.#lib = lib;
    const h = lib.clientCtxNew(encoder.encode(JSON.stringify(spec)));
    if (h === null) throw new ProxyError("TLS_CONFIG", lib.lastError());
    this.#h = h;
    ctxFinalizer.register(this, { lib, h }, this.#token);
  }

  connect(o: ClientConnectOptions): TlsConnection {
    if (this.#h === null) throw new ProxyError("INTERNAL", `connector "${this.profile}" is closed`);
    const opts = {
      host: o.host,
      alpn: o.alpn ?? null,
      alps: o.alps ?? true,
      verify: o.verify.verify,
      verifyHostname: o.verify.verifyHostname,
      caFile: o.verify.caFile,
    };
    const h = this.#lib.clientNew(
      this.#h,
      encoder.encode(JSON.stringify(opts)),
      o.session ?? new Uint8Array(0),
    );
    if (h === null) {
      const local = this.#lib.lastErrorCode() === PB_ERR_CONFIG; // e.g. an unreadable upstream CA file
      throw new ProxyError(local ? "CONFIG_INVALID" : "TLS_CONFIG", this.#lib.lastError());
    }
    return new NativeConnection(this.#lib, h);
  }

  close(): void {
    if (this.#h === null) return;
    ctxFinalizer.unregister(this.#token);
    this.#lib.ctxFree(this.#h);
    this.#h = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface NativeEngineOptions {
  /** Server side: compress our certificate with this algorithm when offered (tests). */
  serverCertCompression?: "zlib" | "brotli" | "zstd";
}

export class NativeEngine implements UpstreamTlsEngine {
  readonly boringsslVersion: string;
  #lib: NativeLib;
  #serverCtx: NativeHandle;

  constructor(options: NativeEngineOptions = {}) {
    this.#lib = loadNative();
    this.boringsslVersion = this.#lib.version();
    const opts = options.serverCertCompression ? { certCompression: options.serverCertCompression } : {};
    const h = this.#lib.serverCtxNew(encoder.encode(JSON.stringify(opts)));
    if (h === null) throw new ProxyError("TLS_CONFIG", this.#lib.lastError());
    this.#serverCtx = h;
  }

  createConnector(spec: ProfileSpec): TlsConnector {
    return new NativeConnector(this.#lib, spec);
  }

  accept(o: ServerAcceptOptions): TlsConnection {
    const h = this.#lib.serverNew(this.#serverCtx, concat(o.certChainDer), o.keyPkcs8Der, alpnWire(o.alpn));
    if (h === null) throw new ProxyError("TLS_CONFIG", this.#lib.lastError());
    return new NativeConnection(this.#lib, h);
  }

  loadTrust(caFile: string | null): void {
    if (this.#lib.trustLoad(encoder.encode(caFile ?? "")) !== 0)
      throw new ProxyError("CONFIG_INVALID", this.#lib.lastError());
  }
}
