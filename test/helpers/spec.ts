import { ProxyError } from "../../src/errors/proxy-error.ts";
import type { ProfileSource } from "../../src/upstream/connector-pool.ts";
import type { ProfileSpec } from "../../src/upstream/engine.ts";

/** A Chrome-like spec written out by hand, so proxy and engine tests stand apart from profiles/. */
export const TEST_SPEC: ProfileSpec = {
  name: "test-chrome",
  minVersion: 0x0303,
  maxVersion: 0x0304,
  ciphers: [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8],
  groups: [4588, 29, 23, 24],
  keyShares: [4588, 29],
  sigalgs: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
  grease: true,
  extensionOrder: null,
  permuteExtensions: true,
  alpn: ["h2", "http/1.1"],
  alps: { protocols: ["h2"], newCodepoint: true },
  certCompression: ["brotli"],
  ocspStapling: true,
  signedCertTimestamps: true,
  echGrease: true,
  sessionTickets: true,
  pskDheKe: true,
  recordSizeLimit: null,
  delegatedCredentials: null,
  renegotiationInfo: true,
};

/** A ProfileSource over a fixed set of specs. */
export function fixedProfiles(specs: ProfileSpec[]): ProfileSource {
  const byName = new Map(specs.map((s) => [s.name, s]));
  return {
    resolveName(n) {
      if (!byName.has(n)) throw new ProxyError("UNKNOWN_PROFILE", `unknown profile "${n}"`);
      return n;
    },
    spec(n) {
      const s = byName.get(n);
      if (!s) throw new ProxyError("UNKNOWN_PROFILE", `unknown profile "${n}"`);
      return s;
    },
  };
}
