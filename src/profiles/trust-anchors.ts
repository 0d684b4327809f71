/**
 * Trust anchor IDs (draft-ietf-tls-trust-anchor-ids §3): a relative object identifier, written in
 * profiles in its ASCII form (dotted decimal arcs, e.g. "11129.9.1") and sent in the trust_anchors
 * extension (0xca34) in its binary form (the relative OID's contents octets: each arc base 128,
 * big-endian, high bit set on every byte but the last). Pure: no I/O.
 */
import { describe, type Field, indexPath } from "../config/fields.ts";
import { tomlList } from "./fields.ts";

/** How the engine orders the IDs on the wire. */
export const TRUST_ANCHOR_ORDERS = ["as-listed", "shuffled-per-process"] as const;
export type TrustAnchorOrder = (typeof TRUST_ANCHOR_ORDERS)[number];

const ID_MAX_BYTES = 255; // bytes; draft-ietf-tls-trust-anchor-ids §4.1 TrustAnchorID<1..2^8-1>
const ARC = /^(0|[1-9][0-9]*)$/;

/** Binary form of an ASCII trust anchor ID, or a reason it is not one. */
export function encodeTrustAnchorId(text: string): Uint8Array | string {
  const arcs = text.split(".");
  const out: number[] = [];
  for (const arc of arcs) {
    if (!ARC.test(arc)) return `"${text}" is not a dotted-decimal relative OID (e.g. "11129.9.1")`;
    let value = BigInt(arc);
    const bytes = [Number(value & 0x7fn)];
    value >>= 7n;
    while (value > 0n) {
      bytes.unshift(Number(value & 0x7fn) | 0x80);
      value >>= 7n;
    }
    out.push(...bytes);
  }
  if (out.length > ID_MAX_BYTES) return `"${text}" is ${out.length} bytes long, more than ${ID_MAX_BYTES}`;
  return Uint8Array.from(out);
}

/** ASCII form of a binary trust anchor ID, or undefined when the bytes are not a relative OID. */
export function decodeTrustAnchorId(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return undefined;
  const arcs: string[] = [];
  let value = 0n;
  let started = false;
  for (const b of bytes) {
    if (!started && b === 0x80) return undefined; // X.690 §8.19.2: no leading 0x80 in an arc
    started = true;
    value = (value << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(value.toString());
      value = 0n;
      started = false;
    }
  }
  return started ? undefined : arcs.join(".");
}

/** `trust_anchors`: a list of unique ASCII trust anchor IDs, in the profile's order. */
export const trustAnchorListField: Field<string[]> = {
  kind: "field",
  type: "array of trust anchor IDs (dotted-decimal relative OIDs)",
  doc: "trust_anchors (0xca34) IDs, e.g. Chrome's; empty = the extension with no ID",
  default: [],
  parse(raw, ctx) {
    if (!Array.isArray(raw)) {
      ctx.issues.add(ctx.path, `expected an array of strings, got ${describe(raw)}`);
      return undefined;
    }
    let ok = true;
    const seen = new Set<string>();
    raw.forEach((item, i) => {
      const at = indexPath(ctx.path, i);
      if (typeof item !== "string") {
        ctx.issues.add(at, `expected a string, got ${describe(item)}`);
        ok = false;
        return;
      }
      const encoded = encodeTrustAnchorId(item);
      if (typeof encoded === "string") {
        ctx.issues.add(at, encoded);
        ok = false;
      } else if (seen.has(item)) {
        ctx.issues.add(at, `duplicate trust anchor ID "${item}"`);
        ok = false;
      }
      seen.add(item);
    });
    return ok ? (raw as string[]) : undefined;
  },
  toToml: (v) => tomlList(v),
};
