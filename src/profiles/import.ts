/**
 * Fingerprint -> profile TOML. Every component the engine cannot reproduce is listed in
 * `unsupported` (and in the TOML header) instead of being dropped silently.
 */
import { parse as parseToml } from "smol-toml";
import { childPath, Issues } from "../config/fields.ts";
import { ProxyError } from "../errors/proxy-error.ts";
import { type ClientHelloFingerprint, GREASE } from "../fingerprint/types.ts";
import type { CertCompression } from "../upstream/engine.ts";
import type { ProfileHttp } from "./http-types.ts";
import { http2FromPeet } from "./import-http.ts";
import {
  CERT_COMPRESSION,
  CIPHERS,
  EXT,
  EXTENSIONS,
  GROUPS,
  GROUPS_WITHOUT_KEY_SHARE,
  isTls13Cipher,
  type NameTable,
  SIGALGS,
  TLS_VERSIONS,
  TLS12,
  TLS13,
} from "./registry.ts";
import { profileNameProblem } from "./registry-store.ts";
import { resolveHttp } from "./resolve-http.ts";
import { type ProfileSettings, parseProfileTable, profileToToml, type TlsVersionName } from "./schema.ts";
import { sentExtensions, toProfileSpec } from "./spec.ts";
import { decodeTrustAnchorId } from "./trust-anchors.ts";
import { validateProfile } from "./validate.ts";
import { DEFAULT_WEBSOCKET } from "./websocket.ts";

const hex = (id: number) => `0x${id.toString(16).padStart(4, "0")}`;
const extLabel = (id: number) => `${EXTENSIONS.name(id) ?? "extension"} (${id})`;
const PSK_DHE_KE = 1; // RFC 8446 §4.2.9 PskKeyExchangeMode psk_dhe_ke
const POINT_FORMAT_UNCOMPRESSED = 0; // RFC 8422 §5.1.2, the only one BoringSSL sends

/** Maps ids to canonical names, reporting the unknown ones. */
function names(table: NameTable, ids: readonly number[], what: string, out: string[]): string[] {
  const result: string[] = [];
  for (const id of ids) {
    const name = table.name(id);
    if (name === undefined) out.push(`${what} ${hex(id)}: not supported by the engine`);
    else result.push(name);
  }
  return result;
}

function unique<T>(values: readonly T[], what: string, out: string[]): T[] {
  const seen = new Set<T>();
  return values.filter((v) => {
    if (seen.has(v)) out.push(`${what}: duplicate ${String(v)} dropped`);
    const keep = !seen.has(v);
    seen.add(v);
    return keep;
  });
}

function versions(fp: ClientHelloFingerprint, out: string[]): [number, number] {
  const listed = fp.versions.filter((v) => v !== GREASE);
  const known = (listed.length > 0 ? listed : [fp.legacyVersion]).filter((v) => {
    if (TLS_VERSIONS.name(v) !== undefined) return true;
    out.push(`supported_versions ${hex(v)}: not supported by the engine`);
    return false;
  });
  // Nothing usable: fall back to what every current browser offers.
  const min = known.length > 0 ? Math.min(...known) : TLS12;
  const max = known.length > 0 ? Math.max(...known) : TLS13;
  const expected = Array.from({ length: max - min + 1 }, (_, i) => max - i);
  if (listed.length > 0 && known.join() !== expected.join()) {
    out.push(
      `supported_versions ${listed.map(hex).join(",")}: the engine sends ${expected.map(hex).join(",")}`,
    );
  }
  return [min, max];
}

function grease(fp: ClientHelloFingerprint, out: string[]): boolean {
  const lists = { ciphers: fp.ciphers, extensions: fp.extensions, groups: fp.groups, versions: fp.versions };
  const withGrease = Object.entries(lists).filter(([, l]) => l.includes(GREASE));
  if (withGrease.length > 0 && withGrease.length < Object.keys(lists).length) {
    out.push(
      `GREASE only in ${withGrease.map(([k]) => k).join(", ")}: the engine puts it in ciphers, extensions, groups, key shares and versions`,
    );
  }
  return withGrease.length > 0 || fp.keyShares.some((k) => k.group === GREASE);
}

function keyShares(fp: ClientHelloFingerprint, groups: string[], out: string[]): string[] {
  const shares = names(
    GROUPS,
    fp.keyShares.map((k) => k.group).filter((g) => g !== GREASE),
    "key_share group",
    out,
  ).filter((g) => {
    if (GROUPS_WITHOUT_KEY_SHARE.has(GROUPS.id(g)!)) out.push(`key_share ${g}: the engine cannot send it`);
    else if (!groups.includes(g)) out.push(`key_share ${g}: not in supported_groups, dropped`);
    else return true;
    return false;
  });
  const ordered = [...shares].sort((a, b) => groups.indexOf(a) - groups.indexOf(b));
  if (ordered.join() !== shares.join()) out.push(`key_share order ${shares.join(",")}: sent in groups order`);
  return unique(ordered, "key_share", out);
}

/** signature_algorithms without GREASE, and whether GREASE came first (the one place the engine puts it). */
function sigalgs(fp: ClientHelloFingerprint, out: string[]): { names: string[]; grease: boolean } {
  const grease = fp.sigalgs[0] === GREASE;
  fp.sigalgs.forEach((id, i) => {
    if (id === GREASE && i > 0)
      out.push(`signature algorithm GREASE at position ${i + 1}: the engine writes it first only`);
  });
  const listed = fp.sigalgs.filter((id) => id !== GREASE);
  return { names: names(SIGALGS, listed, "signature algorithm", out), grease };
}

/** trust_anchors IDs in ASCII form, or null without the extension (or without its content). */
function trustAnchors(fp: ClientHelloFingerprint, present: boolean, out: string[]): string[] | null {
  if (!present) return null;
  if (fp.trustAnchors === undefined) {
    out.push("trust_anchors (51764): the capture does not carry its IDs");
    return null;
  }
  const ids: string[] = [];
  for (const bytes of fp.trustAnchors) {
    const text = decodeTrustAnchorId(bytes);
    if (text === undefined)
      out.push(`trust anchor ID ${Buffer.from(bytes).toString("hex")}: not a relative OID`);
    else ids.push(text);
  }
  return unique(ids, "trust_anchors", out);
}

const HTTP_NOTE = [
  "HTTP/2: SETTINGS, WINDOW_UPDATE, PRIORITY frames and pseudo-header order from the capture's",
  "akamai_fingerprint; first stream id and the navigation's HEADERS priority from its HEADERS frame.",
  "Not in a tls.peet.ws capture (its header list is sorted by name): the HPACK policy (defaults",
  "printed) and header templates (none: client headers pass through). Copy [http2.hpack], [http1]",
  "and [headers.*] from a built-in profile of the same browser (`polytls profiles show chrome`).",
];

/**
 * What the import sets by default, not from the capture: one hello shows one connection of one
 * process, so these cannot be read from it. Each line names the key and when to change it.
 */
function defaultsNote(settings: ProfileSettings, http: boolean): string[] {
  const lines = [
    "Set by default, not from the capture (a hello shows one connection of one process):",
    "- permute_extensions = false: the hello's extension order is frozen (extension_order). Chromium",
    "  browsers shuffle it per connection: set permute_extensions = true instead.",
  ];
  if (settings.trustAnchors !== null)
    lines.push(
      '- trust_anchors_order = "as-listed": the hello\'s order, in every process. Chrome 152-153 and',
      '  Opera 136 shuffle it once per process: "shuffled-per-process".',
    );
  if (settings.sessionTickets)
    lines.push(
      "- session_tickets_when_resuming = true: session_ticket stays in a resuming hello. NSS (Firefox,",
      "  Tor) leaves it out there: false.",
    );
  lines.push(
    "- [websocket]: Chromium's rule whatever the browser (when = \"always\": a WebSocket's own connection",
    '  offers http/1.1 only, without ALPS). Firefox and Tor: when = "h2-origin", no compress_certificate',
    "  (`polytls profiles show firefox`).",
  );
  if (http)
    lines.push(
      "- http2.stream_window_increment: none. Firefox sends a WINDOW_UPDATE on each request stream.",
    );
  return lines;
}

/** The HTTP layer from a capture's `http2` section, or undefined without one. */
function importHttp(http2: unknown, name: string, out: string[]): ProfileHttp | undefined {
  const table = http2FromPeet(http2, out);
  if (table === undefined) return undefined;
  const issues = new Issues();
  const http = resolveHttp(table, childPath("profiles", name, true), issues);
  out.push(...issues.lines);
  return http;
}

/**
 * Builds a profile named `name` reproducing `fp` as closely as the engine allows; `capture.http2`
 * (a tls.peet.ws answer's `http2` section) adds the HTTP/2 connection keys.
 */
export function profileFromFingerprint(
  fp: ClientHelloFingerprint,
  name: string,
  capture: { http2?: unknown } = {},
): { toml: string; unsupported: string[] } {
  const problem = profileNameProblem(name);
  if (problem !== null) throw new ProxyError("CONFIG_INVALID", `profile name "${name}": ${problem}`);
  const out: string[] = [];
  const [min, max] = versions(fp, out);
  const tls13 = max >= TLS13;
  const allCiphers = unique(
    names(
      CIPHERS,
      fp.ciphers.filter((c) => c !== GREASE),
      "cipher suite",
      out,
    ),
    "cipher",
    out,
  );
  const ciphers = [
    ...allCiphers.filter((c) => isTls13Cipher(CIPHERS.id(c)!)),
    ...allCiphers.filter((c) => !isTls13Cipher(CIPHERS.id(c)!)),
  ];
  if (ciphers.join() !== allCiphers.join())
    out.push("cipher suites: TLS 1.3 suites moved before TLS 1.2 ones");
  const groups = unique(
    names(
      GROUPS,
      fp.groups.filter((g) => g !== GREASE),
      "group",
      out,
    ),
    "group",
    out,
  );
  const exts = fp.extensions.filter((e) => e !== GREASE);
  const has = (id: number) => exts.includes(id);

  if (fp.pointFormats.some((p) => p !== POINT_FORMAT_UNCOMPRESSED)) {
    out.push(`ec_point_formats ${fp.pointFormats.join(",")}: the engine sends only uncompressed (0)`);
  }
  if (fp.pskModes.some((m) => m !== PSK_DHE_KE)) {
    out.push(`psk_key_exchange_modes ${fp.pskModes.join(",")}: the engine sends only psk_dhe_ke (1)`);
  }
  if (has(EXT.statusRequest) && !fp.ocsp) out.push("status_request of a non-OCSP type: sent as OCSP");
  const alpn = unique(has(EXT.alpn) ? fp.alpn : [], "alpn", out);
  const alpsProtocols = (fp.alps?.protocols ?? []).filter((p) => {
    if (!alpn.includes(p)) out.push(`application_settings ${p}: not in alpn, dropped`);
    return alpn.includes(p);
  });
  let recordSizeLimit = fp.recordSizeLimit;
  if (recordSizeLimit !== null && (recordSizeLimit < 64 || recordSizeLimit > 16385)) {
    out.push(`record_size_limit ${recordSizeLimit}: out of range 64..16385`);
    recordSizeLimit = null;
  }
  const dc =
    fp.delegatedCredentials === null
      ? []
      : names(SIGALGS, fp.delegatedCredentials, "delegated_credentials", out);
  const sig = sigalgs(fp, out);
  const tls13Only = (present: boolean, label: string) => {
    if (present && !tls13) out.push(`${label}: needs TLS 1.3, not offered`);
    return present && tls13;
  };

  const settings: ProfileSettings = {
    description: `Imported ClientHello fingerprint${fp.sni === null ? "" : ` (${fp.sni})`}`,
    minVersion: TLS_VERSIONS.name(min) as TlsVersionName,
    maxVersion: TLS_VERSIONS.name(max) as TlsVersionName,
    ciphers,
    groups,
    keyShares: keyShares(fp, groups, out),
    signatureAlgorithms: sig.names,
    signatureAlgorithmsGrease: sig.grease,
    grease: grease(fp, out),
    extensionOrder: null,
    permuteExtensions: false,
    alpn,
    alps:
      fp.alps !== null && alpsProtocols.length > 0 && tls13Only(true, "application_settings")
        ? { protocols: alpsProtocols, codepoint: fp.alps.codepoint === EXT.alpsOld ? "old" : "new" }
        : null,
    certCompression: unique(
      names(CERT_COMPRESSION, fp.certCompression, "compress_certificate algorithm", out),
      "compress_certificate",
      out,
    ) as CertCompression[],
    ocspStapling: has(EXT.statusRequest),
    signedCertTimestamps: has(EXT.sct),
    echGrease: tls13Only(has(EXT.ech), "encrypted_client_hello"),
    sessionTickets: has(EXT.sessionTicket),
    sessionTicketsWhenResuming: true, // one hello captured: a resumed one would show it
    pskDheKe: tls13Only(
      has(EXT.pskKeyExchangeModes) && fp.pskModes.includes(PSK_DHE_KE),
      "psk_key_exchange_modes",
    ),
    recordSizeLimit,
    delegatedCredentials: dc.length > 0 ? unique(dc, "delegated_credentials", out) : null,
    renegotiationInfo: has(EXT.renegotiationInfo),
    // The capture shows one order; Chrome 152-153 shuffle it per process (set "shuffled-per-process").
    trustAnchors: trustAnchors(fp, has(EXT.trustAnchors), out),
    trustAnchorsOrder: "as-listed",
    websocket: structuredClone(DEFAULT_WEBSOCKET), // one hello captured: Chromium's WebSocket rule
  };

  const sent = sentExtensions(toProfileSpec({ name, ...settings }));
  const order: string[] = [];
  for (const id of unique(exts, "extension", out)) {
    if (id === EXT.preSharedKey)
      out.push(`${extLabel(id)}: per connection; the engine adds it when resuming`);
    else if (id === EXT.padding) out.push(`padding (${id}): the engine pads by itself when needed`);
    else if (EXTENSIONS.name(id) === undefined)
      out.push(`extension ${id} (${hex(id)}): not supported by the engine`);
    else if (!sent.includes(id)) out.push(`${extLabel(id)}: cannot be reproduced by a profile`);
    else order.push(EXTENSIONS.name(id)!);
  }
  for (const id of sent.filter((e) => !exts.includes(e))) {
    out.push(`${extLabel(id)}: absent from the fingerprint but sent by the engine`);
    order.push(EXTENSIONS.name(id)!);
  }
  settings.extensionOrder = order;

  const http = importHttp(capture.http2, name, out);
  out.push(...check(name, settings));
  const header = ["Imported from a ClientHello fingerprint by polytls.", ""];
  if (out.length > 0)
    header.push("Not reproduced (the engine cannot send these):", ...out.map((u) => `- ${u}`));
  else header.push("Every component of the ClientHello is reproduced.");
  header.push("", ...defaultsNote(settings, http !== undefined));
  if (http !== undefined) header.push("", ...HTTP_NOTE);
  const profile = http === undefined ? { name, ...settings } : { name, ...settings, http };
  return { toml: profileToToml(profile, header), unsupported: out };
}

/** Runs the generated profile through the same checks as a config file (e.g. no cipher left). */
function check(name: string, settings: ProfileSettings): string[] {
  const issues = new Issues();
  const path = childPath("profiles", name, true);
  const raw = parseToml(profileToToml({ name, ...settings })) as { profiles: Record<string, unknown> };
  if (parseProfileTable(raw.profiles[name], path, issues) !== undefined)
    validateProfile(settings, path, issues);
  return issues.lines;
}
