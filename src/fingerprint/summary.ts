import { ja3Hash, ja3String } from "./ja3.ts";
import { ja4, ja4r } from "./ja4.ts";
import { peetprint, peetprintHash } from "./peetprint.ts";
import type { ClientHelloFingerprint } from "./types.ts";

export interface FingerprintSummary {
  ja3: string;
  ja3Hash: string;
  ja4: string;
  ja4r: string;
  peetprint: string;
  peetprintHash: string;
}

/** The usual fingerprint strings and hashes of one ClientHello (TCP TLS), for the CLI. */
export function summarize(fp: ClientHelloFingerprint): FingerprintSummary {
  return {
    ja3: ja3String(fp),
    ja3Hash: ja3Hash(fp),
    ja4: ja4(fp),
    ja4r: ja4r(fp),
    peetprint: peetprint(fp),
    peetprintHash: peetprintHash(fp),
  };
}
