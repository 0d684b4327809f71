import { DEFAULT_TABLE_SIZE, DynamicTable, entrySize } from "./dynamic-table.ts";
import { HpackError } from "./errors.ts";
import { huffmanEncode, huffmanEncodedLength } from "./huffman.ts";
import { encodeInteger, MAX_INTEGER } from "./integer.ts";
import { assertOctets, toOctets } from "./octets.ts";
import { STATIC_TABLE_LENGTH, staticFieldIndex, staticNameIndices } from "./static-table.ts";
import type { HeaderField, HpackPolicy } from "./types.ts";

export { DEFAULT_TABLE_SIZE };

/** Representation bits (RFC 7541 §6): first-octet flags and prefix width. */
const INDEXED = { flags: 0x80, prefix: 7 };
const INCREMENTAL = { flags: 0x40, prefix: 6 };
const WITHOUT_INDEXING = { flags: 0x00, prefix: 4 };
const NEVER_INDEXED = { flags: 0x10, prefix: 4 };
const SIZE_UPDATE = { flags: 0x20, prefix: 5 };

/** Result of one table scan: the full-match index and the referenced name index (0 = none). */
interface Match {
  full: number;
  name: number;
}

/**
 * HPACK encoder for one HTTP/2 connection direction, whose choices follow an `HpackPolicy` (see
 * `types.ts` for the decision order). Fields are encoded in the order given; names as given.
 */
/** The policy's name lists as sets, made once per policy object (policies are plain data, never changed). */
const setsByPolicy = new WeakMap<
  HpackPolicy,
  { noIndex: ReadonlySet<string>; ignoreFullMatch: ReadonlySet<string> }
>();

function policySets(policy: HpackPolicy): {
  noIndex: ReadonlySet<string>;
  ignoreFullMatch: ReadonlySet<string>;
} {
  let sets = setsByPolicy.get(policy);
  if (sets === undefined) {
    sets = { noIndex: new Set(policy.noIndex), ignoreFullMatch: new Set(policy.ignoreFullMatch) };
    setsByPolicy.set(policy, sets);
  }
  return sets;
}

export class HpackEncoder {
  private readonly policy: HpackPolicy;
  private readonly table: DynamicTable;
  private readonly noIndex: ReadonlySet<string>;
  private readonly ignoreFullMatch: ReadonlySet<string>;
  /** Whether the next block starts with a size update. */
  private updatePending = false;
  /** The smaller size to announce first, per `policy.sizeUpdates`. */
  private lowestPending: number | undefined;

  /**
   * `maxTableSize` is the size both ends start from (no update is emitted for it); HTTP/2 starts at
   * 4096 until the peer's SETTINGS_HEADER_TABLE_SIZE, passed to `setMaxTableSize`.
   */
  constructor(policy: HpackPolicy, maxTableSize: number = DEFAULT_TABLE_SIZE) {
    checkSize(maxTableSize);
    this.policy = policy;
    this.table = new DynamicTable(maxTableSize);
    const sets = policySets(policy);
    this.noIndex = sets.noIndex;
    this.ignoreFullMatch = sets.ignoreFullMatch;
  }

  /** Octets currently held by the dynamic table (diagnostics and tests). */
  get dynamicTableSize(): number {
    return this.table.size;
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE: the table adopts it now (evicting) and the next block
   * starts with a dynamic table size update (preceded by the lowest size set meanwhile when that
   * is smaller, RFC 7541 §4.2).
   */
  setMaxTableSize(n: number): void {
    checkSize(n);
    const current = this.table.maxSize;
    if (this.policy.sizeUpdates === "changes-only") {
      if (n === current) return;
      if (n < current) this.lowestPending = Math.min(this.lowestPending ?? n, n);
    } else {
      this.lowestPending = Math.min(this.lowestPending ?? n, n);
    }
    this.updatePending = true;
    this.table.setMaxSize(n);
  }

  /**
   * Encodes one header block (one HEADERS + CONTINUATION payload). Atomic: a field that cannot be
   * encoded (a code unit above U+00FF) throws before any table state changes.
   */
  encode(fields: readonly HeaderField[]): Uint8Array {
    for (const [name, value] of fields) {
      assertOctets(name);
      assertOctets(value);
    }
    const out: number[] = [];
    if (this.updatePending) {
      const final = this.table.maxSize;
      if (this.lowestPending !== undefined && this.lowestPending < final) {
        encodeInteger(out, this.lowestPending, SIZE_UPDATE.prefix, SIZE_UPDATE.flags);
      }
      encodeInteger(out, final, SIZE_UPDATE.prefix, SIZE_UPDATE.flags);
      this.updatePending = false;
      this.lowestPending = undefined;
    }
    for (const [name, value] of fields) {
      if (name === "cookie" && this.policy.cookieCrumbs !== "none") {
        for (const crumb of splitCookie(value, this.policy.cookieCrumbs)) this.encodeField(out, name, crumb);
      } else {
        this.encodeField(out, name, value);
      }
    }
    return Uint8Array.from(out);
  }

  private encodeField(out: number[], name: string, value: string): void {
    const policy = this.policy;
    const match = this.scan(name, value);
    const never = policy.neverIndex.some(
      (rule) => rule.name === name && (rule.shorterThan === undefined || value.length < rule.shorterThan),
    );
    if (match.full > 0 && !never && !this.ignoreFullMatch.has(name)) {
      encodeInteger(out, match.full, INDEXED.prefix, INDEXED.flags);
      return;
    }
    let kind = INCREMENTAL;
    if (never) kind = NEVER_INDEXED;
    else if (this.noIndex.has(name) || !this.mayInsert(entrySize(name, value))) kind = WITHOUT_INDEXING;
    const nameBytes = toOctets(name);
    const valueBytes = toOctets(value);
    encodeInteger(out, match.name, kind.prefix, kind.flags);
    if (match.name === 0) this.writeString(out, nameBytes);
    this.writeString(out, valueBytes);
    if (kind === INCREMENTAL) this.table.add(name, value);
  }

  /** Gecko's insertion limits (`ProcessHeader`); none for quiche. */
  private mayInsert(size: number): boolean {
    const max = this.table.maxSize;
    const share = this.policy.maxIndexedEntryShare;
    if (share !== undefined && size > Math.floor(max * share)) return false;
    return max >= (this.policy.minTableSizeToIndex ?? 0);
  }

  /**
   * Scans indices upwards (static, then dynamic newest-first) until the first full match; the name
   * reference is the first or the last name match seen, per policy.
   */
  private scan(name: string, value: string): Match {
    const last = this.policy.nameReference === "last";
    let nameIndex = 0;
    const full = staticFieldIndex(name, value);
    for (const i of staticNameIndices(name)) {
      if (full > 0 && i > full) break;
      if (nameIndex === 0 || last) nameIndex = i;
    }
    if (full > 0) return { full, name: nameIndex };
    const table = this.table;
    for (let i = 0, n = table.length; i < n; i++) {
      if (table.nameAt(i) !== name) continue;
      const index = STATIC_TABLE_LENGTH + 1 + i;
      if (nameIndex === 0 || last) nameIndex = index;
      if (table.valueAt(i) === value) return { full: index, name: nameIndex };
    }
    return { full: 0, name: nameIndex };
  }

  private writeString(out: number[], bytes: Uint8Array): void {
    const mode = this.policy.huffman;
    const huffmanLength = mode === "never" ? bytes.length : huffmanEncodedLength(bytes);
    const huffman = mode === "always" || (mode === "shorter" && huffmanLength < bytes.length);
    if (huffman) {
      encodeInteger(out, huffmanLength, 7, 0x80);
      huffmanEncode(bytes, out);
    } else {
      encodeInteger(out, bytes.length, 7, 0x00);
      for (const b of bytes) out.push(b);
    }
  }
}

/** Cookie crumbs (RFC 9113 §8.2.3) as quiche (`semicolon`) or Gecko (`semicolon-space`) cut them. */
export function splitCookie(value: string, mode: "semicolon" | "semicolon-space"): string[] {
  if (mode === "semicolon-space") return value.split("; ");
  let first = 0;
  let end = value.length;
  while (first < end && (value[first] === " " || value[first] === "\t")) first++;
  while (end > first && (value[end - 1] === " " || value[end - 1] === "\t")) end--;
  const trimmed = value.slice(first, end);
  const crumbs: string[] = [];
  let pos = 0;
  for (;;) {
    const semi = trimmed.indexOf(";", pos);
    if (semi < 0) {
      crumbs.push(trimmed.slice(pos));
      return crumbs;
    }
    crumbs.push(trimmed.slice(pos, semi));
    pos = semi + 1;
    if (trimmed[pos] === " ") pos++;
  }
}

function checkSize(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_INTEGER) throw new HpackError(`bad HPACK table size ${n}`);
}
