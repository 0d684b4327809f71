/**
 * The built-in catalogue's captures (tests only): which fixture each built-in profile reproduces,
 * loaded into one shape whatever its source (tls.peet.ws JSON, curl-impersonate signature YAML,
 * raw ClientHello hex, browserleaks facts). See test/fixtures/captures/README.md.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseClientHello } from "../../src/fingerprint/clienthello.ts";
import { parseCurlSignature } from "../../src/fingerprint/curl-signature.ts";
import { EXT } from "../../src/fingerprint/extensions.ts";
import { h2FromPeet } from "../../src/fingerprint/h2-compare.ts";
import { summarizeH2 } from "../../src/fingerprint/h2-summary.ts";
import { fingerprintFromPeetJson } from "../../src/fingerprint/peet.ts";
import type { ClientHelloFingerprint, KeyShareEntry } from "../../src/fingerprint/types.ts";

export const FIXTURES = path.join(import.meta.dir, "..", "fixtures");

/** What a capture says about the HTTP/2 start; each part null when the capture does not show it. */
export interface CaptureH2 {
  /**
   * The whole Akamai string, or null when the capture lacks its HEADERS part (a Chromium 150+
   * `client-startup` is completed from CHROMIUM_HEADERS).
   */
  akamai: string | null;
  /** `SETTINGS|WINDOW_UPDATE`, the first two Akamai fields. */
  start: string;
  pseudo: string[] | null;
  /** Regular header names of the navigation, in wire order (null: not in wire order). */
  order: string[] | null;
  /** Regular header names, as a set (peet lists them sorted). */
  names: string[] | null;
}

export interface CatalogueCapture {
  file: string;
  /** The full ClientHello fingerprint; null for facts, which only give JA3 text and JA4_r. */
  fp: ClientHelloFingerprint | null;
  facts: { ja3: string; ja4r: string; alps: number; keyShares: KeyShareEntry[] } | null;
  h2: CaptureH2 | null;
}

/** The padding rule (src/fingerprint/padding.ts), shared with `polytls fingerprint --compare`. */
export { paddingFollowsLength } from "../../src/fingerprint/padding.ts";

/**
 * A capture (a fresh hello) as a resumed hello of a profile shows it: one with
 * session_tickets_when_resuming = false (NSS: the Firefox and Tor built-ins) leaves session_ticket
 * (35) out of a hello that offers a TLS 1.3 session, as real Firefox ESR 153 does (local-debian-http
 * firefox-h1 cap-conn2 against cap-conn1; test/resumption-firefox.test.ts compares them).
 */
export function asResumed(cap: CatalogueCapture, ticketWhenResuming: boolean): CatalogueCapture {
  if (cap.fp === null || ticketWhenResuming || cap.fp.extensions.includes(EXT.PRE_SHARED_KEY)) return cap;
  const extensions = cap.fp.extensions.filter((e) => e !== EXT.SESSION_TICKET);
  return { ...cap, fp: { ...cap.fp, extensions } };
}

/** Built-in profile → capture file under test/fixtures. */
export const CATALOGUE: Readonly<Record<string, string>> = {
  "chrome-143-macos-arm64": "fingerprints/chrome-143-macos-arm64.json",
  "chrome-149-macos-arm64": "captures/lexiforest/chrome_149.0.7827.102.yaml",
  "chrome-142-macos-arm64": "captures/lexiforest/chrome_142.0.7444.176.yaml",
  "chrome-136-macos-arm64": "captures/lexiforest/chrome_136.0.7103.93.yaml",
  "chrome-133-macos-arm64": "captures/lexiforest/chrome_133.0.6943.55.yaml",
  "chrome-131-macos-arm64": "captures/lexiforest/chrome_131.0.6778.86.yaml",
  "chrome-131-android-arm64": "captures/lexiforest/chrome_131.0.6778.81_android.yaml",
  "chrome-142-windows-x64": "captures/facts/chrome-142-windows-x64.json",
  "chrome-142-linux-x64": "captures/facts/chrome-142-linux-x64.json",
  "chrome-138-windows-x64": "captures/facts/chrome-138-windows-x64.json",
  "firefox-145-macos-arm64": "fingerprints/firefox-145-macos-arm64.json",
  "firefox-144-macos-arm64": "captures/lexiforest/firefox_144.0.0_linux.yaml",
  "firefox-135-macos-arm64": "captures/lexiforest/firefox_135.0.1_linux.yaml",
  "firefox-133-macos-arm64": "captures/lexiforest/firefox_133.0.3_linux.yaml",
  "firefox-154-macos-arm64": "captures/phantom/firefox-154-macos-hello.txt",
  "firefox-154-windows-x64": "captures/phantom/firefox-154-windows-hello.txt",
  "firefox-156-windows-x64": "captures/phantom/firefox-156.0.1-windows-hello.txt",
  "firefox-156-android-arm64": "captures/phantom/firefox-156.0.1-android-hello.txt",
  "firefox-esr-153-linux-x64": "captures/local-debian/firefox-esr-153-hello.hex",
  "safari-26.2-macos-arm64": "fingerprints/safari-26.2-macos-arm64.json",
  "safari-18.5-macos-arm64": "captures/phantom/safari-18.5-macos-hello.txt",
  "safari-18.4-macos-arm64": "captures/lexiforest/safari_18.4_macOS.yaml",
  "safari-18.4-ios-arm64": "captures/lexiforest/safari_18.4_iOS.yaml",
  "safari-18.0-macos-arm64": "captures/lexiforest/safari_18.0_macOS.yaml",
  "safari-18.0-ios-arm64": "captures/lexiforest/safari_18.0_iOS.yaml",
  "tor-14.5-macos-arm64": "captures/lexiforest/tor_14.5_macOS.yaml",
  "edge-154-windows-x64": "captures/phantom/edge-154-windows-hello.txt",
  "brave-154-windows-x64": "captures/phantom/brave-154-windows-hello.txt",
  "opera-135-windows-x64": "captures/phantom/opera-135-windows-hello.txt",
  "chrome-154-android-arm64": "captures/phantom/chrome-154-android-hello.txt",
  "chrome-153-android-arm64": "captures/phantom/chrome-153-android-hello.txt",
  "chrome-153-windows-x64": "captures/phantom/chrome-153-windows-hello.txt",
  "chrome-152-macos-arm64": "captures/phantom/chrome-152-macos-hello.txt",
  "edge-153-windows-x64": "captures/phantom/edge-153-windows-hello.txt",
  "opera-136-windows-x64": "captures/phantom/opera-136-windows-hello.txt",
  "brave-153-android-arm64": "captures/phantom/brave-153-android-hello.txt",
  "chromium-156-linux-x64": "captures/local-debian/chromium-156-hello.hex",
};

/**
 * HTTP/2 start captured separately from the hello: phantom `client-startup` (SETTINGS and
 * WINDOW_UPDATE only), phantom's pingly summary (the whole Akamai string), our own h2 hex, or a
 * connection record of our own capture server (`cap-connN.json` of local-debian-http).
 */
const H2_FILES: Readonly<Record<string, string>> = {
  "firefox-154-macos-arm64": "captures/phantom/firefox-154-macos-h2.txt",
  "firefox-154-windows-x64": "captures/phantom/firefox-154-windows-h2.txt",
  "firefox-esr-153-linux-x64": "captures/local-debian/firefox-esr-153-h2.hex",
  "edge-154-windows-x64": "captures/phantom/edge-153-windows-h2.txt",
  "brave-154-windows-x64": "captures/phantom/brave-154-windows-h2.txt",
  "opera-135-windows-x64": "captures/phantom/opera-135-windows-h2.txt",
  "chrome-154-android-arm64": "captures/phantom/chrome-154-android-h2.txt",
  "chrome-153-android-arm64": "captures/phantom/chrome-153-android-h2.txt",
  "chrome-153-windows-x64": "captures/phantom/chrome-153-windows-h2.txt",
  "chrome-152-macos-arm64": "captures/phantom/chrome-152-macos-h2-pingly.txt",
  "edge-153-windows-x64": "captures/phantom/edge-153-windows-h2.txt",
  "opera-136-windows-x64": "captures/phantom/opera-136-windows-h2.txt",
  "brave-153-android-arm64": "captures/phantom/brave-153-android-h2.txt",
  "chromium-156-linux-x64": "captures/local-debian/chromium-156-http-h2-conn1.json",
};

/**
 * The first HEADERS of a Chromium 150+ navigation (priority, pseudo-header and header order, so the
 * rest of the Akamai string): our own Chromium 156 capture. phantom's `client-startup` files stop
 * before HEADERS; every Chromium build captured with its HEADERS (Chrome 143 on tls.peet.ws, Chrome
 * 152 on pingly, Chromium 156 here) sends the same `0|m,a,s,p`. Not the browser's own HEADERS.
 */
const CHROMIUM_HEADERS = "captures/local-debian/chromium-156-h2.hex";
const H2_HEADERS: Readonly<Record<string, string>> = Object.fromEntries(
  [
    "edge-154-windows-x64",
    "edge-153-windows-x64",
    "brave-154-windows-x64",
    "brave-153-android-arm64",
    "opera-135-windows-x64",
    "opera-136-windows-x64",
    "chrome-154-android-arm64",
    "chrome-153-android-arm64",
    "chrome-153-windows-x64",
    "chrome-152-macos-arm64",
  ].map((name) => [name, CHROMIUM_HEADERS]),
);

/**
 * phantom's trust_anchors order statistics (`trust-anchor-orders.txt`): the anchor order each fresh
 * browser process sent, for the profiles whose capture has one.
 */
const ANCHOR_ORDER_FILES: Readonly<Record<string, string>> = {
  "chrome-153-windows-x64": "captures/phantom/chrome-153-windows-trust-anchor-orders.txt",
  "chrome-153-android-arm64": "captures/phantom/chrome-153-android-trust-anchor-orders.txt",
  "opera-136-windows-x64": "captures/phantom/opera-136-windows-trust-anchor-orders.txt",
};

/** The distinct anchor orders (hex IDs) phantom recorded, or null when none was recorded. */
export function loadAnchorOrders(name: string): string[][] | null {
  const rel = ANCHOR_ORDER_FILES[name];
  if (rel === undefined) return null;
  // TCP orders only (`order_N=`); Opera's file also lists QUIC hellos (`quic_order_N=`).
  return [...read(rel).matchAll(/^order_\d+=count:\d+,ids:([0-9a-f,]+)$/gm)].map((m) =>
    (m[1] ?? "").split(","),
  );
}

/** The expected alias table (README "Built-in profiles"). */
export const EXPECTED_ALIASES: Readonly<Record<string, string>> = {
  chrome: "chrome-153-windows-x64",
  "chrome-macos": "chrome-152-macos-arm64",
  "chrome-windows": "chrome-153-windows-x64",
  "chrome-linux": "chrome-142-linux-x64",
  "chrome-android": "chrome-154-android-arm64",
  chromium: "chromium-156-linux-x64",
  firefox: "firefox-156-windows-x64",
  "firefox-windows": "firefox-156-windows-x64",
  "firefox-macos": "firefox-154-macos-arm64",
  "firefox-android": "firefox-156-android-arm64",
  "firefox-esr": "firefox-esr-153-linux-x64",
  safari: "safari-26.2-macos-arm64",
  "safari-ios": "safari-18.4-ios-arm64",
  edge: "edge-154-windows-x64",
  brave: "brave-154-windows-x64",
  opera: "opera-136-windows-x64",
  tor: "tor-14.5-macos-arm64",
};

const read = (rel: string): string => readFileSync(path.join(FIXTURES, rel), "utf8");
const start = (akamai: string): string => akamai.split("|").slice(0, 2).join("|");
const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/\s/g, ""), "hex"));

/** phantom's key=value text: the records of `record_N_hex`, concatenated. */
function phantomHello(text: string): Uint8Array {
  const records = [...text.matchAll(/^record_\d+_hex=([0-9a-f]+)$/gm)].map((m) => m[1] ?? "");
  if (records.length === 0) throw new Error("no record_N_hex line");
  return hexBytes(records.join(""));
}

/** Akamai string, pseudo-header and header order of a raw h2 client byte stream (hex). */
function hexH2(text: string): CaptureH2 {
  const s = summarizeH2(hexBytes(text));
  const order = s.firstHeaders.headers.map(([n]) => n);
  return {
    akamai: s.akamai,
    start: start(s.akamai),
    pseudo: s.firstHeaders.pseudoHeaders.map(([n]) => n),
    order,
    names: order,
  };
}

/**
 * Our capture server's record of one connection (local-debian-http `cap-connN.json`): its Akamai
 * string (frames up to the first HEADERS) and the first request's pseudo-header and header order.
 */
function connectionH2(text: string): CaptureH2 {
  const c = JSON.parse(text) as {
    akamai: string;
    h2_requests: { pseudo_order: string[]; header_names: string[] }[];
  };
  const first = c.h2_requests[0];
  if (first === undefined) throw new Error("no HTTP/2 request on this connection");
  return {
    akamai: c.akamai,
    start: start(c.akamai),
    pseudo: first.pseudo_order,
    order: first.header_names,
    names: first.header_names,
  };
}

function separateH2(name: string): CaptureH2 | null {
  const rel = H2_FILES[name];
  if (rel === undefined) return null;
  const text = read(rel);
  if (rel.endsWith(".hex")) return hexH2(text);
  if (rel.endsWith(".json")) return connectionH2(text);
  const headersFile = H2_HEADERS[name];
  const headers = headersFile === undefined ? null : hexH2(read(headersFile));
  const akamai = /^akamai_fingerprint=(.*)$/m.exec(text)?.[1];
  if (akamai !== undefined) {
    // pingly summary: the browser's own Akamai string and pseudo-header order.
    const pseudo = /^pseudo_header_order=(.*)$/m.exec(text)?.[1]?.split(",") ?? null;
    return {
      akamai,
      start: start(akamai),
      pseudo: pseudo?.map((n) => `:${n}`) ?? null,
      order: headers?.order ?? null,
      names: headers?.names ?? null,
    };
  }
  const settings = /^initial_settings=(.*)$/m.exec(text)?.[1] ?? "";
  const wu = /^connection_window_update=(\d+)$/m.exec(text)?.[1] ?? "00";
  const s = settings
    .split(",")
    .map((e) => e.split(":"))
    .map(([id, v]) => `${Number.parseInt(id ?? "", 16)}:${v}`)
    .join(";");
  const st = `${s}|${wu}`;
  if (headers === null) return { akamai: null, start: st, pseudo: null, order: null, names: null };
  const tail = (headers.akamai ?? "").split("|").slice(2).join("|");
  return {
    akamai: `${st}|${tail}`,
    start: st,
    pseudo: headers.pseudo,
    order: headers.order,
    names: headers.names,
  };
}

export function loadCatalogueCapture(name: string): CatalogueCapture {
  const file = CATALOGUE[name];
  if (file === undefined) throw new Error(`no capture for ${name}`);
  const text = read(file);
  if (file.startsWith("captures/facts/")) {
    const f = JSON.parse(text) as {
      ja3_text: string;
      ja4_r: string;
      akamai_text: string;
      header_order: string[];
      alps_codepoint: number;
      key_shares: KeyShareEntry[];
    };
    const order = f.header_order.filter((n) => !n.startsWith(":"));
    return {
      file,
      fp: null,
      facts: { ja3: f.ja3_text, ja4r: f.ja4_r, alps: f.alps_codepoint, keyShares: f.key_shares },
      h2: {
        akamai: f.akamai_text,
        start: start(f.akamai_text),
        pseudo: f.header_order.filter((n) => n.startsWith(":")),
        order,
        names: order,
      },
    };
  }
  if (file.endsWith(".json")) {
    const peet = h2FromPeet(JSON.parse(text));
    const names = peet?.firstHeaders?.names ?? null;
    const pseudo = peet ? peet.akamai.split("|")[3]?.split(",") : undefined;
    const letters: Readonly<Record<string, string>> = {
      m: ":method",
      a: ":authority",
      s: ":scheme",
      p: ":path",
    };
    return {
      file,
      fp: fingerprintFromPeetJson(text),
      facts: null,
      h2: peet && {
        akamai: peet.akamai,
        start: start(peet.akamai),
        pseudo: pseudo?.map((l) => letters[l] ?? l) ?? null,
        order: null,
        names,
      },
    };
  }
  if (file.endsWith(".yaml")) {
    const sig = parseCurlSignature(text);
    const h2 = sig.h2;
    const order = h2?.headers.map(([n]) => n) ?? null;
    return {
      file,
      fp: sig.fingerprint,
      facts: null,
      h2: h2 && { akamai: h2.akamai, start: start(h2.akamai), pseudo: h2.pseudoHeaders, order, names: order },
    };
  }
  const bytes = file.endsWith(".txt") ? phantomHello(text) : hexBytes(text);
  return { file, fp: parseClientHello(bytes), facts: null, h2: separateH2(name) };
}
