/**
 * Profile settings -> the engine's ProfileSpec (code points), and which extensions a ClientHello
 * built from a spec carries (used to check explicit extension orders and imported fingerprints).
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { ProfileSpec } from "../upstream/engine.ts";
import {
  CIPHERS,
  EXT,
  EXTENSIONS,
  GROUPS,
  type NameTable,
  SIGALGS,
  TLS_VERSIONS,
  TLS12,
  TLS13,
} from "./registry.ts";
import type { ProfileSettings } from "./schema.ts";
import { encodeTrustAnchorId } from "./trust-anchors.ts";

function anchorIds(names: readonly string[], profile: string): number[][] {
  return names.map((text) => {
    const bytes = encodeTrustAnchorId(text);
    // Validated when the profile is parsed; a miss here is a bug.
    if (typeof bytes === "string")
      throw new ProxyError("INTERNAL", `profile "${profile}": unvalidated trust anchor ID: ${bytes}`);
    return [...bytes];
  });
}

function ids(table: NameTable, names: readonly string[], profile: string): number[] {
  return names.map((name) => {
    const id = table.id(name);
    // Names are validated when the profile is parsed; a miss here is a bug.
    if (id === undefined)
      throw new ProxyError("INTERNAL", `profile "${profile}": unvalidated ${table.kind} "${name}"`);
    return id;
  });
}

export function toProfileSpec(profile: { name: string } & ProfileSettings): ProfileSpec {
  const { name } = profile;
  return {
    name,
    minVersion: ids(TLS_VERSIONS, [profile.minVersion], name)[0]!,
    maxVersion: ids(TLS_VERSIONS, [profile.maxVersion], name)[0]!,
    ciphers: ids(CIPHERS, profile.ciphers, name),
    groups: ids(GROUPS, profile.groups, name),
    keyShares: ids(GROUPS, profile.keyShares, name),
    sigalgs: ids(SIGALGS, profile.signatureAlgorithms, name),
    sigalgsGrease: profile.signatureAlgorithmsGrease,
    grease: profile.grease,
    extensionOrder: profile.extensionOrder === null ? null : ids(EXTENSIONS, profile.extensionOrder, name),
    permuteExtensions: profile.permuteExtensions,
    alpn: [...profile.alpn],
    alps:
      profile.alps === null
        ? null
        : { protocols: [...profile.alps.protocols], newCodepoint: profile.alps.codepoint === "new" },
    certCompression: [...profile.certCompression],
    ocspStapling: profile.ocspStapling,
    signedCertTimestamps: profile.signedCertTimestamps,
    echGrease: profile.echGrease,
    sessionTickets: profile.sessionTickets,
    // Without psk_dhe_ke no session is ever offered: the default then, so that specs sending
    // the same hellos are equal (an imported capture cannot show the key).
    sessionTicketsWhenResuming: profile.sessionTicketsWhenResuming || !profile.pskDheKe,
    pskDheKe: profile.pskDheKe,
    recordSizeLimit: profile.recordSizeLimit,
    delegatedCredentials:
      profile.delegatedCredentials === null ? null : ids(SIGALGS, profile.delegatedCredentials, name),
    renegotiationInfo: profile.renegotiationInfo,
    trustAnchors:
      profile.trustAnchors === null
        ? null
        : { ids: anchorIds(profile.trustAnchors, name), order: profile.trustAnchorsOrder },
  };
}

/**
 * Extension ids of a first ClientHello built from `spec` for a host name (so with server_name),
 * without GREASE, padding and pre_shared_key (those depend on the connection), in table order.
 * Mirrors BoringSSL's rules: the TLS 1.2-only extensions go when min version is 1.3, the TLS
 * 1.3-only ones when max version is below 1.3.
 */
export function sentExtensions(spec: ProfileSpec): number[] {
  const tls12 = spec.minVersion < TLS13;
  const tls13 = spec.maxVersion >= TLS13;
  const sent = new Set<number>([EXT.serverName, EXT.supportedGroups]);
  const add = (cond: boolean, id: number) => {
    if (cond) sent.add(id);
  };
  add(spec.maxVersion >= TLS12, EXT.signatureAlgorithms);
  add(tls12, EXT.extendedMasterSecret);
  add(tls12, EXT.ecPointFormats);
  add(tls12 && spec.renegotiationInfo, EXT.renegotiationInfo);
  add(tls12 && spec.sessionTickets, EXT.sessionTicket);
  add(spec.alpn.length > 0, EXT.alpn);
  add(spec.ocspStapling, EXT.statusRequest);
  add(spec.signedCertTimestamps, EXT.sct);
  add(tls13, EXT.keyShare);
  add(tls13, EXT.supportedVersions);
  add(tls13 && spec.pskDheKe, EXT.pskKeyExchangeModes);
  add(spec.certCompression.length > 0, EXT.compressCertificate);
  add(spec.delegatedCredentials !== null, EXT.delegatedCredentials);
  add(tls13 && spec.alps !== null, spec.alps?.newCodepoint === false ? EXT.alpsOld : EXT.alpsNew);
  add(spec.recordSizeLimit !== null, EXT.recordSizeLimit);
  add(spec.trustAnchors != null, EXT.trustAnchors);
  add(tls13 && spec.echGrease, EXT.ech);
  return EXTENSIONS.names()
    .map((n) => EXTENSIONS.id(n)!)
    .filter((id) => sent.has(id));
}
