/**
 * Follows the framing of a zstd stream (RFC 8878 §3.1) without decoding it, so that the end of
 * the encoded bytes can be checked to fall at the end of a frame: the runtime's zstd decoder ends
 * quietly on a stream cut inside a frame, which would pass a truncated body on as complete. Pure:
 * bytes in, no I/O.
 */

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const DICT_ID_BYTES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_BYTES = [0, 2, 4, 8] as const;
const RLE_BLOCK = 1;
const RESERVED_BLOCK = 3;
const CHECKSUM_BYTES = 4;

type Field = "magic" | "descriptor" | "block" | "skippable-size";

export class ZstdFraming {
  /** The field being read, and how many of its bytes are in. */
  #field: Field = "magic";
  #have = 0;
  #value = 0;
  /** Bytes to pass over before the next field (frame header rest, block bodies, checksums). */
  #skip = 0;
  /** After the skip: the next field is a block header (inside a frame) or a new frame. */
  #inFrame = false;
  #checksum = false;
  #frames = 0;
  #error: string | null = null;

  /** Follows `bytes`; returns an error (then every later call returns it) or null. */
  push(bytes: Uint8Array): string | null {
    for (let i = 0; i < bytes.length && this.#error === null; ) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, bytes.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      this.#value += (bytes[i] as number) * 2 ** (8 * this.#have);
      this.#have++;
      i++;
      if (this.#have === this.#width()) this.#onField();
    }
    return this.#error;
  }

  /** Whether the bytes so far end exactly at the end of a frame (and there was one). */
  get complete(): boolean {
    return this.#error === null && this.#frames > 0 && !this.#inFrame && this.#skip === 0 && this.#have === 0;
  }

  #width(): number {
    return this.#field === "descriptor" ? 1 : this.#field === "block" ? 3 : 4;
  }

  #onField(): void {
    const v = this.#value;
    const field = this.#field;
    this.#have = 0;
    this.#value = 0;
    if (field === "magic") {
      if (v === ZSTD_MAGIC) {
        this.#field = "descriptor";
        this.#inFrame = true;
      } else if ((v & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
        this.#field = "skippable-size";
        this.#inFrame = true;
      } else this.#error = "not a zstd frame";
      return;
    }
    if (field === "skippable-size") {
      this.#skip = v;
      this.#endFrame();
      return;
    }
    if (field === "descriptor") {
      const single = (v & 0x20) !== 0;
      this.#checksum = (v & 0x04) !== 0;
      const fcs = CONTENT_SIZE_BYTES[v >> 6] as number;
      this.#skip = (single ? 0 : 1) + (DICT_ID_BYTES[v & 3] as number) + (fcs === 0 && single ? 1 : fcs);
      this.#field = "block";
      return;
    }
    // A block header: Last_Block, Block_Type, Block_Size (little-endian, 3 bytes).
    const type = (v >> 1) & 3;
    if (type === RESERVED_BLOCK) {
      this.#error = "reserved zstd block type";
      return;
    }
    this.#skip = type === RLE_BLOCK ? 1 : v >>> 3;
    if ((v & 1) !== 0) {
      this.#skip += this.#checksum ? CHECKSUM_BYTES : 0;
      this.#endFrame();
    }
  }

  /** The frame ends after the current skip; the next field is a new frame's magic. */
  #endFrame(): void {
    this.#field = "magic";
    this.#inFrame = false;
    this.#frames++;
  }
}
