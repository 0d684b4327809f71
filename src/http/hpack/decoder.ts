import { DEFAULT_TABLE_SIZE, DynamicTable, ENTRY_OVERHEAD } from "./dynamic-table.ts";
import { HpackError } from "./errors.ts";
import { huffmanDecodeText } from "./huffman-decode.ts";
import { type Cursor, decodeInteger } from "./integer.ts";
import { latin1Text } from "./latin1-text.ts";
import { STATIC_TABLE, STATIC_TABLE_LENGTH } from "./static-table.ts";
import type { HeaderField } from "./types.ts";

/** Default limit on the decoded header list: sum of name + value + 32 per field, octets (256 KiB). */
export const DEFAULT_MAX_HEADER_LIST_SIZE = 256 * 1024;

export interface HpackDecoderOptions {
  /**
   * Our SETTINGS_HEADER_TABLE_SIZE, octets (default 4096): the largest size update accepted. The
   * table starts at min(4096, this), the HTTP/2 initial size, until the peer sends an update.
   */
  maxTableSize?: number;
  /** Limit on one block's header list (sum of name + value + 32), octets; default 256 KiB. */
  maxHeaderListSize?: number;
  /** Limit on one string (declared and decoded octets); default `maxHeaderListSize`. */
  maxStringLength?: number;
}

/**
 * Strict HPACK decoder for one HTTP/2 connection direction. Any error is an `HpackError`
 * (COMPRESSION_ERROR) and leaves the decoder `broken`: its table may no longer match the peer's,
 * so every later `decode` throws too and the connection must be closed.
 */
export class HpackDecoder {
  private readonly table: DynamicTable;
  private readonly settingsLimit: number;
  private readonly maxHeaderListSize: number;
  private readonly maxStringLength: number;
  private failed = false;

  constructor(opts: HpackDecoderOptions = {}) {
    this.settingsLimit = opts.maxTableSize ?? DEFAULT_TABLE_SIZE;
    this.maxHeaderListSize = opts.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE;
    this.maxStringLength = opts.maxStringLength ?? this.maxHeaderListSize;
    this.table = new DynamicTable(Math.min(DEFAULT_TABLE_SIZE, this.settingsLimit));
  }

  /** True after a decode error: the decoder refuses all further blocks. */
  get broken(): boolean {
    return this.failed;
  }

  /** Octets currently held by the dynamic table (diagnostics and tests). */
  get dynamicTableSize(): number {
    return this.table.size;
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION payloads joined). */
  decode(block: Uint8Array): HeaderField[] {
    if (this.failed) throw new HpackError("HPACK decoder unusable after an earlier error");
    try {
      return this.decodeBlock(block);
    } catch (err) {
      this.failed = true;
      if (err instanceof HpackError) throw err;
      throw new HpackError("HPACK decoding failed", { cause: err });
    }
  }

  private decodeBlock(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    const cursor: Cursor = { pos: 0 };
    let listSize = 0;
    while (cursor.pos < block.length) {
      const first = block[cursor.pos] ?? 0;
      let field: HeaderField;
      if (first & 0x80) {
        // Indexed (§6.1)
        field = this.lookup(decodeInteger(block, cursor, 7));
      } else if (first & 0x40) {
        // Literal with incremental indexing (§6.2.1)
        field = this.readLiteral(block, cursor, 6);
        this.table.add(field[0], field[1]);
      } else if (first & 0x20) {
        // Dynamic table size update (§6.3): only before the first field of the block (§4.2)
        if (fields.length > 0) throw new HpackError("dynamic table size update after a header field");
        const size = decodeInteger(block, cursor, 5);
        if (size > this.settingsLimit) {
          throw new HpackError(`dynamic table size update ${size} above the limit ${this.settingsLimit}`);
        }
        this.table.setMaxSize(size);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001), §6.2.2 / §6.2.3
        field = this.readLiteral(block, cursor, 4);
      }
      listSize += field[0].length + field[1].length + ENTRY_OVERHEAD;
      if (listSize > this.maxHeaderListSize) {
        throw new HpackError(`header list larger than ${this.maxHeaderListSize} octets`, {
          listTooLarge: true,
        });
      }
      fields.push(field);
    }
    return fields;
  }

  private lookup(index: number): HeaderField {
    if (index === 0) throw new HpackError("HPACK index 0");
    const field =
      index <= STATIC_TABLE_LENGTH
        ? STATIC_TABLE[index - 1]
        : this.table.get(index - STATIC_TABLE_LENGTH - 1);
    if (field === undefined) throw new HpackError(`HPACK index ${index} past the table`);
    return field;
  }

  private readLiteral(block: Uint8Array, cursor: Cursor, prefixBits: number): HeaderField {
    const nameIndex = decodeInteger(block, cursor, prefixBits);
    const name = nameIndex === 0 ? this.readString(block, cursor) : this.lookup(nameIndex)[0];
    const value = this.readString(block, cursor);
    return [name, value];
  }

  /** A string literal (§5.2): H flag + 7-bit-prefix length + octets. */
  private readString(block: Uint8Array, cursor: Cursor): string {
    const huffman = ((block[cursor.pos] ?? 0) & 0x80) !== 0;
    const length = decodeInteger(block, cursor, 7);
    if (length > this.maxStringLength) {
      throw new HpackError(`string of ${length} octets above the limit ${this.maxStringLength}`);
    }
    const start = cursor.pos;
    const end = start + length;
    if (end > block.length) throw new HpackError("header block truncated inside a string");
    cursor.pos = end;
    if (!huffman) return latin1Text(block, start, end);
    return huffmanDecodeText(block, start, end, this.maxStringLength);
  }
}
