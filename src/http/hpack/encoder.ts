import { detachedString } from "../detached.ts";
import { BlockWriter } from "./block-writer.ts";
import { DEFAULT_TABLE_SIZE, DynamicTable, entrySize } from "./dynamic-table.ts";
import { HpackError } from "./errors.ts";
import { MAX_INTEGER } from "./integer.ts";
import { STATIC_TABLE_LENGTH, staticName, staticValueIndex } from "./static-table.ts";
import type { HeaderField, HpackPolicy } from "./types.ts";

export { DEFAULT_TABLE_SIZE };

/** Representation bits (RFC 7541 §6): first-octet flags and prefix width. */
const INDEXED = { flags: 0x80, prefix: 7 };
const INCREMENTAL = { flags: 0x40, prefix: 6 };
const WITHOUT_INDEXING = { flags: 0x00, prefix: 4 };
const NEVER_INDEXED = { flags: 0x10, prefix: 4 };
const SIZE_UPDATE = { flags: 0x20, prefix: 5 };

/** Block positions memoized (a browser request has a few dozen fields; the memo stays small). */
const MEMO_POSITIONS = 64;

/**
 * HPACK encoder for one HTTP/2 connection direction, whose choices follow an `HpackPolicy` (see
 * `types.ts` for the decision order). Fields are encoded in the order given; names as given.
 */
/** The policy's name lists as sets, and its never-index rules by name, made once per policy object. */
interface PolicySets {
  noIndex: ReadonlySet<string>;
  ignoreFullMatch: ReadonlySet<string>;
  /** `shorterThan` of each never-index rule naming the key (undefined: any length). */
  neverIndex: ReadonlyMap<string, readonly (number | undefined)[]>;
}

/** Policies are plain data, never changed once made. */
const setsByPolicy = new WeakMap<HpackPolicy, PolicySets>();

function policySets(policy: HpackPolicy): PolicySets {
  let sets = setsByPolicy.get(policy);
  if (sets === undefined) {
    const neverIndex = new Map<string, (number | undefined)[]>();
    for (const rule of policy.neverIndex) {
      const list = neverIndex.get(rule.name) ?? [];
      list.push(rule.shorterThan);
      neverIndex.set(rule.name, list);
    }
    sets = { noIndex: new Set(policy.noIndex), ignoreFullMatch: new Set(policy.ignoreFullMatch), neverIndex };
    setsByPolicy.set(policy, sets);
  }
  return sets;
}

export class HpackEncoder {
  private readonly policy: HpackPolicy;
  private readonly table: DynamicTable;
  private readonly noIndex: ReadonlySet<string>;
  private readonly ignoreFullMatch: ReadonlySet<string>;
  private readonly neverIndex: PolicySets["neverIndex"];
  /** The last `scan`'s result: full-match index and referenced name index (0 = none). */
  private matchFull = 0;
  private matchName = 0;
  /**
   * The scan results of the previous blocks' fields that had a dynamic full match, per position in
   * the block (cookie crumbs count as fields): `[version, full, name]` at `3 × position`. A
   * connection's requests repeat their fields in the same order, and while the table has not
   * changed (`version`), the same field at the same position scans to the same result. Whether it
   * is the same field is checked against the table entry itself (no request string is kept).
   */
  private memo: number[] = [];
  /** Bumped on every table change. */
  private version = 0;
  /** Position of the next field in the current block. */
  private position = 0;
  /** Whether the current block's fields from the next insertion on are known to be octets. */
  private restChecked = false;
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
    this.neverIndex = sets.neverIndex;
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
    this.version++;
  }

  /**
   * Encodes one header block (one HEADERS + CONTINUATION payload). Atomic: a field that cannot be
   * encoded (a code unit above U+00FF) throws before any table state changes.
   *
   * Octets are checked only where they matter, not on every field: an Indexed field equals a table
   * entry, and a literal name referenced by index a table name, both octets already; a literal is
   * checked before it is written; and before the block's first insertion every field from there on
   * is checked, so none can throw once the table has changed.
   */
  encode(fields: readonly HeaderField[]): Uint8Array {
    const out = new BlockWriter();
    if (this.updatePending) {
      const final = this.table.maxSize;
      if (this.lowestPending !== undefined && this.lowestPending < final) {
        out.int(this.lowestPending, SIZE_UPDATE.prefix, SIZE_UPDATE.flags);
      }
      out.int(final, SIZE_UPDATE.prefix, SIZE_UPDATE.flags);
    }
    this.restChecked = false;
    this.position = 0;
    const crumbs = this.policy.cookieCrumbs;
    for (let i = 0; i < fields.length; i++) {
      const [name, value] = fields[i] as HeaderField;
      if (name === "cookie" && crumbs !== "none") {
        const parts = splitCookie(value, crumbs);
        for (let j = 0; j < parts.length; j++) this.encodeField(out, name, parts[j] as string, fields, i);
      } else {
        this.encodeField(out, name, value, fields, i);
      }
    }
    // Only now: a block that throws announces nothing.
    this.updatePending = false;
    this.lowestPending = undefined;
    return out.bytes();
  }

  /** `fields[at]` is the field `name` / `value` (a cookie crumb) belongs to. */
  private encodeField(
    out: BlockWriter,
    name: string,
    value: string,
    fields: readonly HeaderField[],
    at: number,
  ): void {
    this.scan(name, value, this.position++);
    const full = this.matchFull;
    const never = this.neverIndexed(name, value);
    if (full > 0 && !never && !this.ignoreFullMatch.has(name)) {
      out.int(full, INDEXED.prefix, INDEXED.flags);
      return;
    }
    const nameIndex = this.matchName;
    if (!this.restChecked && ((nameIndex === 0 && !octetsOnly(name)) || !octetsOnly(value)))
      throw notOctets();
    let kind = INCREMENTAL;
    if (never) kind = NEVER_INDEXED;
    else if (this.noIndex.has(name) || !this.mayInsert(entrySize(name, value))) kind = WITHOUT_INDEXING;
    if (kind === INCREMENTAL && !this.restChecked) {
      for (let i = at; i < fields.length; i++) {
        const f = fields[i] as HeaderField;
        if (!octetsOnly(f[0]) || !octetsOnly(f[1])) throw notOctets();
      }
      this.restChecked = true;
    }
    out.int(nameIndex, kind.prefix, kind.flags);
    if (nameIndex === 0) out.string(name, this.policy.huffman);
    out.string(value, this.policy.huffman);
    // The entry outlives the request: it must not keep the request's head text alive. A profile's
    // own template field (a frozen tuple shared by every request, see headers/policy.ts) holds the
    // profile's strings, which live as long as the profile: kept as they are, shared by every
    // connection's table instead of copied into each.
    if (kind === INCREMENTAL) {
      const shared = Object.isFrozen(fields[at]);
      this.table.add(shared ? name : detachedString(name), shared ? value : detachedString(value));
      this.version++;
    }
  }

  /** Whether a never-index rule covers the field. */
  private neverIndexed(name: string, value: string): boolean {
    if (this.neverIndex.size === 0) return false;
    const rules = this.neverIndex.get(name);
    if (rules === undefined) return false;
    for (let i = 0; i < rules.length; i++) {
      const shorterThan = rules[i];
      if (shorterThan === undefined || value.length < shorterThan) return true;
    }
    return false;
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
   * reference is the first or the last name match seen, per policy. Sets `matchFull`, `matchName`.
   */
  private scan(name: string, value: string, position: number): void {
    const memo = this.memo;
    const at = 3 * position;
    if (at < memo.length && memo[at] === this.version) {
      const full = memo[at + 1] as number;
      const i = full - STATIC_TABLE_LENGTH - 1;
      if (this.table.nameAt(i) === name && this.table.valueAt(i) === value) {
        this.matchFull = full;
        this.matchName = memo[at + 2] as number;
        return;
      }
    }
    this.walk(name, value);
    if (this.matchFull > STATIC_TABLE_LENGTH && position < MEMO_POSITIONS) {
      while (memo.length < at) memo.push(-1);
      memo[at] = this.version;
      memo[at + 1] = this.matchFull;
      memo[at + 2] = this.matchName;
    }
  }

  /** `scan` without the memo. */
  private walk(name: string, value: string): void {
    const last = this.policy.nameReference === "last";
    let nameIndex = 0;
    const entry = staticName(name);
    if (entry !== undefined) {
      const full = staticValueIndex(entry, value);
      if (full > 0) {
        // Static indices of one name are contiguous: the last one seen before the match is itself.
        this.matchFull = full;
        this.matchName = last ? full : entry.first;
        return;
      }
      nameIndex = last ? entry.last : entry.first;
    }
    const table = this.table;
    for (let i = 0, n = table.length; i < n; i++) {
      if (table.nameAt(i) !== name) continue;
      const index = STATIC_TABLE_LENGTH + 1 + i;
      if (nameIndex === 0 || last) nameIndex = index;
      if (table.valueAt(i) === value) {
        this.matchFull = index;
        this.matchName = nameIndex;
        return;
      }
    }
    this.matchFull = 0;
    this.matchName = nameIndex;
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

/**
 * Whether every code unit of `text` is an octet (≤ U+00FF). A loop, not a regex test: for
 * header-sized strings the regex call costs about twice as much.
 */
function octetsOnly(text: string): boolean {
  let units = 0;
  for (let i = 0; i < text.length; i++) units |= text.charCodeAt(i);
  return units <= 0xff;
}

function notOctets(): HpackError {
  return new HpackError("header field has a character above U+00FF");
}

function checkSize(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_INTEGER) throw new HpackError(`bad HPACK table size ${n}`);
}
