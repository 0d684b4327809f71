/**
 * Cross-key rules of a fully resolved profile (after `extends`): things no single key can check,
 * mostly constraints BoringSSL puts on the ClientHello it builds.
 */
import { childPath, type Issues, indexPath } from "../config/fields.ts";
import {
  CIPHERS,
  EXT,
  EXTENSIONS,
  GROUPS,
  GROUPS_WITHOUT_KEY_SHARE,
  isTls13Cipher,
  TLS_VERSIONS,
  TLS12,
  TLS13,
} from "./registry.ts";
import type { ProfileSettings } from "./schema.ts";
import { sentExtensions, toProfileSpec } from "./spec.ts";
import { toWebSocketSpec } from "./websocket-spec.ts";

function checkVersionsAndCiphers(s: ProfileSettings, path: string, issues: Issues): void {
  const min = TLS_VERSIONS.id(s.minVersion)!;
  const max = TLS_VERSIONS.id(s.maxVersion)!;
  if (min > max)
    issues.add(childPath(path, "min_version"), `"${s.minVersion}" is above max_version "${s.maxVersion}"`);
  const ids = s.ciphers.map((c) => CIPHERS.id(c)!);
  const firstLegacy = ids.findIndex((id) => !isTls13Cipher(id));
  ids.forEach((id, i) => {
    if (isTls13Cipher(id) && firstLegacy !== -1 && i > firstLegacy) {
      issues.add(
        indexPath(childPath(path, "ciphers"), i),
        `TLS 1.3 suite "${s.ciphers[i]}" after a TLS 1.2 suite (the engine always writes TLS 1.3 suites first)`,
      );
    }
  });
  const has13 = ids.some(isTls13Cipher);
  const has12 = ids.some((id) => !isTls13Cipher(id));
  const ciphersPath = childPath(path, "ciphers");
  if (max >= TLS13 && !has13)
    issues.add(ciphersPath, `no TLS 1.3 suite although max_version is "${s.maxVersion}"`);
  if (max < TLS13 && has13)
    issues.add(ciphersPath, `TLS 1.3 suites although max_version is "${s.maxVersion}"`);
  if (min < TLS13 && !has12)
    issues.add(ciphersPath, `no TLS 1.2 suite although min_version is "${s.minVersion}"`);
}

function checkKeyShares(s: ProfileSettings, path: string, issues: Issues): void {
  const sharesPath = childPath(path, "key_shares");
  if (TLS_VERSIONS.id(s.maxVersion)! >= TLS13 && s.keyShares.length === 0) {
    issues.add(sharesPath, "empty key share list (TLS 1.3 needs at least one)");
  }
  let lastIndex = -1;
  s.keyShares.forEach((share, i) => {
    const at = indexPath(sharesPath, i);
    const index = s.groups.indexOf(share);
    if (index === -1) {
      issues.add(at, `"${share}" is not in groups`);
      return;
    }
    if (GROUPS_WITHOUT_KEY_SHARE.has(GROUPS.id(share)!)) {
      issues.add(at, `"${share}" cannot carry a key share (finite-field groups are supported_groups only)`);
    }
    if (index < lastIndex) {
      issues.add(
        at,
        `"${share}" is out of order: key shares must follow the order of groups (BoringSSL rule)`,
      );
    }
    lastIndex = Math.max(lastIndex, index);
  });
}

function checkExtensionOrder(s: ProfileSettings, path: string, issues: Issues): void {
  if (s.extensionOrder === null) return;
  if (s.permuteExtensions) {
    issues.add(path, "extension_order and permute_extensions = true are exclusive");
    return;
  }
  const orderPath = childPath(path, "extension_order");
  const listed = new Set(s.extensionOrder.map((n) => EXTENSIONS.id(n)!));
  s.extensionOrder.forEach((n, i) => {
    if (EXTENSIONS.id(n) !== EXT.preSharedKey) return;
    if (i !== s.extensionOrder!.length - 1) {
      issues.add(indexPath(orderPath, i), "pre_shared_key must be the last extension (RFC 8446 §4.2.11)");
    }
    if (!s.pskDheKe) {
      issues.add(
        indexPath(orderPath, i),
        "pre_shared_key needs psk_key_exchange_modes (psk_dhe_ke = true) (RFC 8446 §4.2.9)",
      );
    }
  });
  for (const id of sentExtensions(toProfileSpec({ name: "", ...s }))) {
    if (!listed.has(id)) {
      issues.add(
        orderPath,
        `missing "${EXTENSIONS.name(id)}", which this profile sends (the engine would place it at random)`,
      );
    }
  }
}

function checkTls13Only(s: ProfileSettings, path: string, issues: Issues): void {
  if (TLS_VERSIONS.id(s.maxVersion)! >= TLS13) return;
  const need = `needs max_version "1.3" (set it to false)`;
  if (s.alps !== null) issues.add(childPath(path, "alps"), need);
  if (s.echGrease) issues.add(childPath(path, "ech_grease"), need);
  if (s.pskDheKe) issues.add(childPath(path, "psk_dhe_ke"), need);
}

function checkSigalgsGrease(s: ProfileSettings, path: string, issues: Issues): void {
  if (s.signatureAlgorithmsGrease && TLS_VERSIONS.id(s.maxVersion)! < TLS12) {
    issues.add(
      childPath(path, "signature_algorithms_grease"),
      'needs max_version "1.2" or higher (no signature_algorithms extension below TLS 1.2)',
    );
  }
}

function checkAlps(s: ProfileSettings, path: string, issues: Issues): void {
  if (s.alps === null) return;
  const protocolsPath = childPath(childPath(path, "alps"), "protocols");
  s.alps.protocols.forEach((p, i) => {
    if (!s.alpn.includes(p)) issues.add(indexPath(protocolsPath, i), `"${p}" is not in alpn`);
  });
}

/** The `[websocket]` table against the profile: what it keeps must exist and be orderable. */
function checkWebSocket(s: ProfileSettings, path: string, issues: Issues): void {
  const wsPath = childPath(path, "websocket");
  const ws = s.websocket;
  if (ws.alps && s.alps !== null && TLS_VERSIONS.id(s.maxVersion)! >= TLS13) {
    for (const p of s.alps.protocols) {
      if (!ws.alpn.includes(p))
        issues.add(childPath(wsPath, "alps"), `keeps ALPS for "${p}", which websocket.alpn does not offer`);
    }
  }
  if (s.extensionOrder === null) return;
  const listed = new Set(s.extensionOrder.map((n) => EXTENSIONS.id(n)!));
  const keyOf: Record<number, string> = {
    [EXT.sessionTicket]: "session_tickets",
    [EXT.compressCertificate]: "cert_compression",
    [EXT.alpn]: "alpn",
  };
  const spec = toWebSocketSpec(toProfileSpec({ name: "", ...s }), ws);
  for (const id of sentExtensions(spec)) {
    if (!listed.has(id)) {
      const key = keyOf[id];
      issues.add(
        key === undefined ? wsPath : childPath(wsPath, key),
        `sends "${EXTENSIONS.name(id)}", which extension_order does not list (a WebSocket hello can only leave extensions out)`,
      );
    }
  }
}

/** Records every cross-key problem of a resolved profile under `path` (e.g. `profiles."x"`). */
export function validateProfile(s: ProfileSettings, path: string, issues: Issues): void {
  checkVersionsAndCiphers(s, path, issues);
  checkKeyShares(s, path, issues);
  checkAlps(s, path, issues);
  checkTls13Only(s, path, issues);
  checkSigalgsGrease(s, path, issues);
  checkExtensionOrder(s, path, issues);
  checkWebSocket(s, path, issues);
}
