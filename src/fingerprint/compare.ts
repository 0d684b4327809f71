import { EXT } from "./extensions.ts";
import { hex4, isGrease } from "./grease.ts";
import type { ClientHelloFingerprint } from "./types.ts";

export { summarize } from "./summary.ts";

export interface CompareOptions {
  /** Compare the extension set only, not its order (Chrome permutes its extensions). */
  ignoreExtensionOrder?: boolean;
  /** Extension ids left out of the comparison, together with the component they carry. */
  ignoreExtensions?: number[];
  /**
   * Compare the trust_anchors IDs as a set: a browser that shuffles them once per process
   * (Chrome 152-153, Opera 136) sends another order in every process than its capture's.
   */
  trustAnchorsAsSet?: boolean;
}

export interface CompareResult {
  equal: boolean;
  /** One readable line per differing component. */
  diffs: string[];
}

function name(v: number): string {
  return isGrease(v) ? "GREASE" : String(v);
}

function named(v: number): string {
  return isGrease(v) ? "GREASE" : `${v} (0x${hex4(v)})`;
}

function show(list: readonly number[]): string {
  return `[${list.map(name).join(",")}]`;
}

function counts(list: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of list) {
    const k = isGrease(v) ? -1 : v; // every GREASE value counts as the same marker
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Values of `a` not matched in `b` (multiset difference, GREASE as one marker). */
function missingFrom(a: readonly number[], b: readonly number[]): number[] {
  const left = counts(b);
  const out: number[] = [];
  for (const v of a) {
    const k = isGrease(v) ? -1 : v;
    const n = left.get(k) ?? 0;
    if (n > 0) left.set(k, n - 1);
    else out.push(v);
  }
  return out;
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i] || (isGrease(v) && isGrease(b[i] ?? 0)));
}

/** Diff of an ordered list: which values are missing / extra, or where the order first differs. */
function listDiff(label: string, expected: readonly number[], actual: readonly number[]): string | null {
  if (same(expected, actual)) return null;
  const missing = missingFrom(expected, actual);
  const extra = missingFrom(actual, expected);
  const notes: string[] = [];
  if (missing.length > 0) notes.push(`missing ${missing.map(named).join(", ")}`);
  if (extra.length > 0) notes.push(`extra ${extra.map(named).join(", ")}`);
  if (notes.length === 0) {
    const i = expected.findIndex((v, k) => !same([v], [actual[k] ?? -1]));
    notes.push(
      `same values, order differs first at index ${i}: expected ${named(expected[i]!)} got ${named(actual[i]!)}`,
    );
  }
  return `${label}: expected ${show(expected)} got ${show(actual)}; ${notes.join("; ")}`;
}

function strings(list: readonly string[] | null): string {
  return list === null ? "none" : `[${list.join(",")}]`;
}

function alps(a: ClientHelloFingerprint["alps"]): string {
  return a === null ? "none" : `${a.codepoint} ${strings(a.protocols)}`;
}

function present(b: boolean): string {
  return b ? "present" : "absent";
}

/**
 * Compares two fingerprints component by component. An ignored extension id also drops the
 * component it carries (e.g. ignoring 65037 skips the `ech` check).
 */
export function compareFingerprints(
  actual: ClientHelloFingerprint,
  expected: ClientHelloFingerprint,
  opts: CompareOptions = {},
): CompareResult {
  const ignored = new Set(opts.ignoreExtensions ?? []);
  const keep = (id: number): boolean => !ignored.has(id);
  const diffs: (string | null)[] = [];
  const add = (d: string | null): void => {
    diffs.push(d);
  };

  add(listDiff("ciphers", expected.ciphers, actual.ciphers));
  const expExts = expected.extensions.filter(keep);
  const actExts = actual.extensions.filter(keep);
  const setDiff = listDiff(
    "extension set",
    [...expExts].sort((a, b) => a - b),
    [...actExts].sort((a, b) => a - b),
  );
  add(setDiff);
  if (setDiff === null && !opts.ignoreExtensionOrder) add(listDiff("extension order", expExts, actExts));

  const lists: [number, string, (fp: ClientHelloFingerprint) => readonly number[]][] = [
    [EXT.SUPPORTED_GROUPS, "groups", (fp) => fp.groups],
    [EXT.KEY_SHARE, "key share groups", (fp) => fp.keyShares.map((k) => k.group)],
    [EXT.EC_POINT_FORMATS, "point formats", (fp) => fp.pointFormats],
    [EXT.SIGNATURE_ALGORITHMS, "sigalgs", (fp) => fp.sigalgs],
    [EXT.SUPPORTED_VERSIONS, "versions", (fp) => fp.versions],
    [EXT.PSK_KEY_EXCHANGE_MODES, "psk modes", (fp) => fp.pskModes],
    [EXT.COMPRESS_CERTIFICATE, "cert compression", (fp) => fp.certCompression],
  ];
  for (const [ext, label, get] of lists) if (keep(ext)) add(listDiff(label, get(expected), get(actual)));

  if (keep(EXT.ALPN) && strings(expected.alpn) !== strings(actual.alpn)) {
    add(`alpn: expected ${strings(expected.alpn)} got ${strings(actual.alpn)}`);
  }
  if (keep(EXT.ALPS) && keep(EXT.ALPS_OLD) && alps(expected.alps) !== alps(actual.alps)) {
    add(`alps: expected ${alps(expected.alps)} got ${alps(actual.alps)}`);
  }
  if (keep(EXT.RECORD_SIZE_LIMIT) && expected.recordSizeLimit !== actual.recordSizeLimit) {
    add(
      `record size limit: expected ${expected.recordSizeLimit ?? "none"} got ${actual.recordSizeLimit ?? "none"}`,
    );
  }
  if (keep(EXT.DELEGATED_CREDENTIALS)) {
    const e = expected.delegatedCredentials;
    const a = actual.delegatedCredentials;
    if (e === null || a === null) {
      if (e !== a) add(`delegated credentials: expected ${e ? show(e) : "none"} got ${a ? show(a) : "none"}`);
    } else {
      add(listDiff("delegated credentials", e, a));
    }
  }
  // trust_anchors IDs, when both sides carry them (a tls.peet.ws capture lists the id only).
  if (keep(EXT.TRUST_ANCHORS) && expected.trustAnchors !== undefined && actual.trustAnchors !== undefined) {
    const hexIds = (l: Uint8Array[]) => {
      const ids = l.map((id) => Buffer.from(id).toString("hex"));
      return (opts.trustAnchorsAsSet ? ids.sort() : ids).join(",");
    };
    if (hexIds(expected.trustAnchors) !== hexIds(actual.trustAnchors)) {
      add(`trust anchors: expected ${hexIds(expected.trustAnchors)} got ${hexIds(actual.trustAnchors)}`);
    }
  }
  const flags: [number, string, (fp: ClientHelloFingerprint) => boolean][] = [
    [EXT.STATUS_REQUEST, "ocsp", (fp) => fp.ocsp],
    [EXT.SCT, "sct", (fp) => fp.sct],
    [EXT.ECH, "ech", (fp) => fp.ech],
  ];
  for (const [ext, label, get] of flags) {
    if (keep(ext) && get(expected) !== get(actual)) {
      add(`${label}: expected ${present(get(expected))} got ${present(get(actual))}`);
    }
  }
  const out = diffs.filter((d): d is string => d !== null);
  return { equal: out.length === 0, diffs: out };
}

/** Multi-line report of a comparison, for the CLI and test failure messages. */
export function formatDiff(result: CompareResult): string {
  if (result.equal) return "fingerprints match";
  const n = result.diffs.length;
  return [
    `${n === 1 ? "1 component differs" : `${n} components differ`}:`,
    ...result.diffs.map((d) => `  - ${d}`),
  ].join("\n");
}
