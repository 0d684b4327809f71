/**
 * What the bench origin serves and how a client checks it: a fixed 100-byte body for /small, and for
 * /bulk a body whose byte at offset p is p & 0xff, so a client can spot-check any chunk for free.
 */

export const SMALL_PATH = "/small";
export const BULK_PATH = "/bulk";
export const SMALL_BODY_BYTES = 100; // bytes; the "small GET" (a tiny API response)
/** Size of the reused buffer the origin writes /bulk from; a multiple of 256 keeps the p & 0xff pattern. */
export const BULK_CHUNK_BYTES = 256 * 1024; // bytes; large writes keep per-call overhead out of MB/s
export const MAX_BULK_BYTES = 4 * 1024 * 1024 * 1024; // bytes (4 GiB); the origin refuses more

/** The /small body: printable, deterministic, exactly SMALL_BODY_BYTES long. */
export const SMALL_BODY: Buffer = Buffer.from(
  "polytls-bench-small-body:".padEnd(SMALL_BODY_BYTES, "0123456789abcdefghijklmnopqrstuvwxyz"),
  "latin1",
);

/** One reusable chunk of the /bulk body (byte i = i & 0xff). Never mutated after creation. */
export function makeBulkChunk(): Buffer {
  const chunk = Buffer.allocUnsafe(BULK_CHUNK_BYTES);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
  return chunk;
}

/** Checks a received /bulk chunk that starts at body offset `offset` (first and last byte). */
export function bulkChunkLooksRight(chunk: Uint8Array, offset: number): boolean {
  if (chunk.length === 0) return true;
  const last = offset + chunk.length - 1;
  return chunk[0] === (offset & 0xff) && chunk[chunk.length - 1] === (last & 0xff);
}

/** Checks a received /small chunk that starts at body offset `offset` (every byte). */
export function smallChunkLooksRight(chunk: Uint8Array, offset: number): boolean {
  if (offset + chunk.length > SMALL_BODY.length) return false;
  return SMALL_BODY.subarray(offset, offset + chunk.length).equals(chunk);
}
