import { ProxyError } from "../errors/proxy-error.ts";
import { decodeExtension } from "./extensions.ts";
import { isGrease, normalizeGrease } from "./grease.ts";
import { ByteReader } from "./reader.ts";
import { type ClientHelloFingerprint, emptyFingerprint } from "./types.ts";

const CONTENT_TYPE_HANDSHAKE = 22; // RFC 8446 §5.1 ContentType handshake
const HANDSHAKE_CLIENT_HELLO = 1; // RFC 8446 §4 HandshakeType client_hello
const RECORD_HEADER_LEN = 5; // bytes; RFC 8446 §5.1 type u8, legacy_record_version u16, length u16
const HANDSHAKE_HEADER_LEN = 4; // bytes; RFC 8446 §4 msg_type u8, length u24
const MAX_FRAGMENT_LEN = 16384; // bytes; 2^14, RFC 8446 §5.1 TLSPlaintext.length limit
const RANDOM_LEN = 32; // bytes; RFC 8446 §4.1.2 Random
const MAX_SESSION_ID_LEN = 32; // bytes; RFC 8446 §4.1.2 legacy_session_id <0..32>
/**
 * Largest ClientHello body we accept, in bytes: 2+32+33 fixed and session id, cipher list
 * (2 + up to 65534), compression (1 + up to 255), extensions (2 + up to 65535) ≈ 131 KiB.
 * Bounds what a recorder reading from a socket may buffer.
 */
const MAX_CLIENT_HELLO_LEN = 2 + RANDOM_LEN + 1 + MAX_SESSION_ID_LEN + 2 + 65534 + 1 + 255 + 2 + 65535;

function bad(reason: string): ProxyError {
  return new ProxyError("BAD_REQUEST", `ClientHello: ${reason}`);
}

interface Located {
  /** Bytes of the input holding the whole ClientHello (records or bare message). */
  end: number;
  /** The handshake message (header + body), reassembled from record fragments if needed. */
  message: Uint8Array;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Checks the handshake header bytes seen so far; returns the body length once all 4 are known. */
function checkHandshakeHeader(head: Uint8Array): number | null {
  if (head.length >= 1 && head[0] !== HANDSHAKE_CLIENT_HELLO) {
    throw bad(`handshake type ${head[0]} is not client_hello (1)`);
  }
  if (head.length < HANDSHAKE_HEADER_LEN) return null;
  const len = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
  if (len > MAX_CLIENT_HELLO_LEN) throw bad(`declared length ${len} exceeds ${MAX_CLIENT_HELLO_LEN}`);
  return len;
}

function locateBare(bytes: Uint8Array): Located | "incomplete" {
  const len = checkHandshakeHeader(bytes.subarray(0, HANDSHAKE_HEADER_LEN));
  if (len === null || bytes.length < HANDSHAKE_HEADER_LEN + len) return "incomplete";
  const end = HANDSHAKE_HEADER_LEN + len;
  return { end, message: bytes.subarray(0, end) };
}

/**
 * Walks TLS records, validating every header byte as soon as it is available, so that a prefix
 * of a valid stream is "incomplete" and anything else throws as early as possible.
 */
function locateInRecords(bytes: Uint8Array): Located | "incomplete" {
  const parts: Uint8Array[] = [];
  let have = 0;
  let bodyLen: number | null = null;
  let pos = 0;
  for (;;) {
    const left = bytes.length - pos;
    if (left === 0) return "incomplete";
    if (bytes[pos] !== CONTENT_TYPE_HANDSHAKE) {
      throw bad(`record type ${bytes[pos]} at offset ${pos} before the ClientHello was complete`);
    }
    if (left >= 2 && bytes[pos + 1] !== 3) throw bad(`record version major ${bytes[pos + 1]} is not 3`);
    if (left >= 3 && bytes[pos + 2]! > 4) throw bad(`record version minor ${bytes[pos + 2]} is above 4`);
    if (left < RECORD_HEADER_LEN) return "incomplete";
    const fragLen = (bytes[pos + 3]! << 8) | bytes[pos + 4]!;
    if (fragLen === 0) throw bad(`empty handshake record at offset ${pos}`); // RFC 8446 §5.1 forbids
    if (fragLen > MAX_FRAGMENT_LEN) throw bad(`record length ${fragLen} exceeds ${MAX_FRAGMENT_LEN}`);
    const available = Math.min(fragLen, left - RECORD_HEADER_LEN);
    parts.push(bytes.subarray(pos + RECORD_HEADER_LEN, pos + RECORD_HEADER_LEN + available));
    have += available;
    if (bodyLen === null) {
      const head = concat(parts, have).subarray(0, HANDSHAKE_HEADER_LEN);
      bodyLen = checkHandshakeHeader(head);
    }
    if (available < fragLen) return "incomplete";
    pos += RECORD_HEADER_LEN + fragLen;
    if (bodyLen !== null && have >= HANDSHAKE_HEADER_LEN + bodyLen) {
      if (have > HANDSHAKE_HEADER_LEN + bodyLen) {
        throw bad(`${have - HANDSHAKE_HEADER_LEN - bodyLen} bytes of handshake data follow the ClientHello`);
      }
      return { end: pos, message: concat(parts, have) };
    }
  }
}

function locate(bytes: Uint8Array): Located | "incomplete" {
  if (bytes.length === 0) return "incomplete";
  if (bytes[0] === HANDSHAKE_CLIENT_HELLO) return locateBare(bytes);
  if (bytes[0] === CONTENT_TYPE_HANDSHAKE) return locateInRecords(bytes);
  throw bad(
    `first byte 0x${bytes[0]!.toString(16)} is neither a handshake record (0x16) nor client_hello (0x01)`,
  );
}

/**
 * How many bytes of `bytes` hold the whole ClientHello: the TLS record(s) carrying it, or the bare
 * handshake message. "incomplete" while more bytes are needed (every strict prefix of a valid
 * stream). Throws ProxyError("BAD_REQUEST") as soon as the bytes cannot start a ClientHello.
 * Only framing is checked here; parseClientHello checks the content.
 */
export function clientHelloComplete(bytes: Uint8Array): number | "incomplete" {
  const found = locate(bytes);
  return found === "incomplete" ? found : found.end;
}

function parseBody(body: ByteReader): ClientHelloFingerprint {
  const fp = emptyFingerprint(body.u16("legacy_version"));
  body.skip(RANDOM_LEN, "random");
  const sessionId = body.vector(1, "legacy_session_id");
  if (sessionId.remaining > MAX_SESSION_ID_LEN) throw bad(`session id of ${sessionId.remaining} bytes`);
  fp.ciphers = body.u16List(2, "cipher_suites").map(normalizeGrease);
  const compression = body.vector(1, "legacy_compression_methods");
  if (compression.remaining === 0) throw bad("no compression methods");
  if (body.remaining === 0) return fp; // RFC 8446 §4.1.2: extensions may be absent (pre-TLS 1.3)
  const exts = body.vector(2, "extensions");
  body.expectEnd();
  const seen = new Set<number>();
  while (exts.remaining > 0) {
    const type = exts.u16("extension type");
    const data = exts.vector(2, `extension ${type} data`, `ClientHello extension ${type}`);
    if (!isGrease(type)) {
      if (seen.has(type)) throw bad(`extension ${type} appears twice`); // RFC 8446 §4.2
      seen.add(type);
    }
    fp.extensions.push(normalizeGrease(type));
    decodeExtension(type, data, fp);
    data.expectEnd();
  }
  return fp;
}

/**
 * Parses a ClientHello into its fingerprint components. Accepts either TLS handshake record(s)
 * (the message may be split over several records; bytes after the last one are ignored) or a bare
 * handshake message of type client_hello. Throws ProxyError("BAD_REQUEST") on anything malformed
 * or truncated; never reads out of bounds.
 */
export function parseClientHello(bytes: Uint8Array): ClientHelloFingerprint {
  const found = locate(bytes);
  if (found === "incomplete") throw bad(`truncated: ${bytes.length} bytes do not hold a whole ClientHello`);
  const msg = ByteReader.over(found.message, "ClientHello");
  msg.u8("msg_type"); // checked by locate()
  const body = msg.vector(3, "body", "ClientHello");
  msg.expectEnd();
  return parseBody(body);
}
