/**
 * Shared HPACK (RFC 7541) types: the header field and the encoder policy.
 *
 * Names and values are octet strings carried in JS strings one octet per code unit (latin1:
 * U+0000..U+00FF). The decoder returns exactly the octets it read; the encoder refuses code
 * units above U+00FF. Names are used as given (HTTP/2 callers pass them lowercase).
 */

/** One header field: `[name, value]`, in wire order. */
export type HeaderField = readonly [name: string, value: string];

/** A never-indexed rule: fields named `name` are sent "literal never indexed" (RFC 7541 §6.2.3). */
export interface NeverIndexRule {
  /** Field name, lowercase. */
  readonly name: string;
  /**
   * Only when the value is shorter than this many octets (Gecko: cookie crumbs `< 20`). Absent:
   * every value of that name.
   */
  readonly shorterThan?: number;
}

/**
 * What an encoder chooses for each field, as plain data (JSON / TOML friendly). The decision for
 * one field, in order:
 *
 * 1. `cookie` fields are first split into crumbs per `cookieCrumbs`; each crumb is one field.
 * 2. A full table match (name and value; the lowest index, static then dynamic newest-first) is
 *    sent Indexed, unless the name is in `ignoreFullMatch` or a `neverIndex` rule applies.
 * 3. A `neverIndex` rule applies → literal never indexed.
 * 4. The name is in `noIndex`, or inserting is refused by `maxIndexedEntryShare` /
 *    `minTableSizeToIndex` → literal without indexing.
 * 5. Otherwise → literal with incremental indexing (the field is inserted in the dynamic table).
 *
 * Literals reference a table name per `nameReference` (index 0 + literal name when none matches);
 * every string (literal name and value) is Huffman-coded per `huffman`.
 */
export interface HpackPolicy {
  /**
   * Huffman coding of each string: `shorter` = only when strictly shorter than the raw octets
   * (quiche `EmitString`), `always` (Gecko `HuffmanAppend`), `never`.
   */
  readonly huffman: "shorter" | "always" | "never";
  /**
   * Which name match a literal references, scanning indices upwards and stopping at the first full
   * match: `first` = the lowest index (quiche `GetByName`: static first, then the newest dynamic
   * entry), `last` = the highest index reached (Gecko `ProcessHeader`; `:path /style.css` → 5).
   */
  readonly nameReference: "first" | "last";
  /** Names never inserted in the dynamic table: sent literal without indexing (unless Indexed). */
  readonly noIndex: readonly string[];
  /** Names whose full table match is not used: sent as a literal even then (Gecko `:path`). */
  readonly ignoreFullMatch: readonly string[];
  /** Fields sent literal never indexed (a full match is not used for them either, as in Gecko). */
  readonly neverIndex: readonly NeverIndexRule[];
  /**
   * Splitting of `cookie` values into crumbs (RFC 9113 §8.2.3): `none`; `semicolon` = trim
   * spaces/tabs at both ends, split at every `;`, drop one space after it (quiche
   * `CookieToCrumbs`); `semicolon-space` = split at every `"; "` only (Gecko).
   */
  readonly cookieCrumbs: "none" | "semicolon" | "semicolon-space";
  /**
   * A field that would be inserted but whose entry size (32 + name + value octets) is greater than
   * floor(table maximum size × this) is sent literal without indexing instead (Gecko: 0.5, i.e.
   * `size > maxBuffer / 2`). Absent: no limit (quiche inserts, which may empty the table).
   */
  readonly maxIndexedEntryShare?: number;
  /**
   * While the dynamic table's maximum size is below this many octets, nothing is inserted
   * (literal without indexing). Gecko: 128. Absent or 0: no limit.
   */
  readonly minTableSizeToIndex?: number;
  /**
   * How peer SETTINGS_HEADER_TABLE_SIZE values become dynamic table size updates at the start of
   * the next block (RFC 7541 §4.2; the last value is always announced when any is pending):
   * `changes-only` (quiche `ApplyHeaderTableSizeSetting`) ignores a value equal to the current size
   * and announces a smaller value first only if some value went below the size in force when it
   * arrived; `every-setting` (Gecko `SetMaxBufferSize`) announces even an unchanged value and first
   * announces the lowest value received since the last block when it is below the last one.
   */
  readonly sizeUpdates: "changes-only" | "every-setting";
}
