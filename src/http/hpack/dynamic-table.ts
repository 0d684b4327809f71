import type { HeaderField } from "./types.ts";

/** Initial dynamic table size, octets (RFC 9113 §6.5.2 initial SETTINGS_HEADER_TABLE_SIZE). */
export const DEFAULT_TABLE_SIZE = 4096;

/** Per-entry overhead in octets (RFC 7541 §4.1). */
export const ENTRY_OVERHEAD = 32;

/** Size of an entry: 32 + name octets + value octets (strings hold one octet per code unit). */
export function entrySize(name: string, value: string): number {
  return ENTRY_OVERHEAD + name.length + value.length;
}

/**
 * The HPACK dynamic table (RFC 7541 §2.3.2, §4): newest entry first, FIFO eviction to stay within
 * `maxSize` octets. Position 0 is the newest entry (HPACK index 62). Names and values are kept in
 * two parallel arrays (no array per entry: a connection's table lives as long as the tunnel).
 */
export class DynamicTable {
  /** Oldest first; live entries are `[start..]` of both arrays. */
  private names: string[] = [];
  private values: string[] = [];
  private start = 0;
  private octets = 0;
  private limit: number;

  constructor(maxSize: number) {
    this.limit = maxSize;
  }

  /** Current total of entry sizes, octets. */
  get size(): number {
    return this.octets;
  }

  /** Maximum size, octets. */
  get maxSize(): number {
    return this.limit;
  }

  /** Number of entries. */
  get length(): number {
    return this.names.length - this.start;
  }

  /** Entry at position `i` (0 = newest), or undefined. */
  get(i: number): HeaderField | undefined {
    if (i < 0 || i >= this.length) return undefined;
    const at = this.names.length - 1 - i;
    return [this.names[at] as string, this.values[at] as string];
  }

  /** Name of the entry at position `i` (0 = newest; the caller checks `i < length`). */
  nameAt(i: number): string {
    return this.names[this.names.length - 1 - i] as string;
  }

  /** Value of the entry at position `i` (0 = newest; the caller checks `i < length`). */
  valueAt(i: number): string {
    return this.values[this.values.length - 1 - i] as string;
  }

  /**
   * Inserts a field, evicting the oldest entries first (§4.4). An entry larger than the maximum
   * size empties the table and is not inserted.
   */
  add(name: string, value: string): void {
    const size = entrySize(name, value);
    this.evictTo(this.limit - size);
    if (size > this.limit) return;
    this.names.push(name);
    this.values.push(value);
    this.octets += size;
  }

  /** Changes the maximum size, evicting as needed (§4.3). */
  setMaxSize(maxSize: number): void {
    this.limit = maxSize;
    this.evictTo(maxSize);
  }

  private evictTo(target: number): void {
    while (this.octets > Math.max(target, 0) && this.start < this.names.length) {
      const at = this.start;
      this.start++;
      this.octets -= entrySize(this.names[at] as string, this.values[at] as string);
    }
    if (this.start === this.names.length) {
      this.names = [];
      this.values = [];
      this.start = 0;
      this.octets = 0;
    } else if (this.start > 64 && this.start * 2 > this.names.length) {
      this.names = this.names.slice(this.start);
      this.values = this.values.slice(this.start);
      this.start = 0;
    }
  }
}
