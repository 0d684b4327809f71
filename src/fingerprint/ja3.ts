import { createHash } from "node:crypto";
import { withoutGrease } from "./grease.ts";
import type { ClientHelloFingerprint } from "./types.ts";

/**
 * JA3 (Salesforce): "legacyVersion,ciphers,extensions,groups,pointFormats", each list in wire
 * order, decimal values joined by "-", GREASE removed.
 */
function ja3Fields(fp: ClientHelloFingerprint, extensions: number[]): string {
  return [
    String(fp.legacyVersion),
    withoutGrease(fp.ciphers).join("-"),
    extensions.join("-"),
    withoutGrease(fp.groups).join("-"),
    fp.pointFormats.join("-"),
  ].join(",");
}

export function ja3String(fp: ClientHelloFingerprint): string {
  return ja3Fields(fp, withoutGrease(fp.extensions));
}

/** MD5 hex of the JA3 string. */
export function ja3Hash(fp: ClientHelloFingerprint): string {
  return createHash("md5").update(ja3String(fp)).digest("hex");
}

/**
 * JA3 with the extension list sorted numerically: stable across Chrome's per-connection
 * extension permutation, so two Chrome hellos can be compared.
 */
export function ja3SortedString(fp: ClientHelloFingerprint): string {
  return ja3Fields(
    fp,
    withoutGrease(fp.extensions).sort((a, b) => a - b),
  );
}
