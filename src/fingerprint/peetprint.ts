import { createHash } from "node:crypto";
import { isGrease } from "./grease.ts";
import type { ClientHelloFingerprint } from "./types.ts";

/** How tls.peet.ws writes a GREASE value in the peetprint. */
export const PEET_GREASE = "GREASE";
/** First PSK mode field when psk_key_exchange_modes is absent (Firefox capture writes "0"). */
const NO_PSK_MODE = 0;

/**
 * ALPN protocol ids as the peetprint writes them ("2" for h2, "1.1" for http/1.1, as in the
 * captures); other ids are written unchanged.
 */
const PEET_ALPN: ReadonlyMap<string, string> = new Map([
  ["h2", "2"],
  ["http/1.1", "1.1"],
  ["http/1.0", "1.0"],
  ["h3", "3"],
]);

export function peetAlpn(protocol: string): string {
  return PEET_ALPN.get(protocol) ?? protocol;
}

function item(value: number): string {
  return isGrease(value) ? PEET_GREASE : String(value);
}

function list(values: readonly number[]): string {
  return values.map(item).join("-");
}

/**
 * The tls.peet.ws "peetprint":
 * `versions|alpn|groups|sigalgs|first psk mode|cert compression|ciphers|extensions`, lists in wire
 * order joined by "-" except extensions (sorted as strings), GREASE written as "GREASE".
 */
export function peetprint(fp: ClientHelloFingerprint): string {
  const extensions = fp.extensions.map(item).sort();
  return [
    list(fp.versions),
    fp.alpn.map(peetAlpn).join("-"),
    list(fp.groups),
    list(fp.sigalgs),
    String(fp.pskModes[0] ?? NO_PSK_MODE),
    list(fp.certCompression),
    list(fp.ciphers),
    extensions.join("-"),
  ].join("|");
}

/** MD5 hex of the peetprint string, as tls.peet.ws reports it in `peetprint_hash`. */
export function peetprintHash(fp: ClientHelloFingerprint): string {
  return createHash("md5").update(peetprint(fp)).digest("hex");
}
