/**
 * One matrix cell's verdict (tests only): every way what the origin saw differs from the profile
 * and from its browser capture (test/helpers/catalogue.ts: tls.peet.ws JSON, curl-impersonate
 * signatures, raw hellos, browserleaks facts), one readable line each; empty = the cell passes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { compareFingerprints } from "../../src/fingerprint/compare.ts";
import { EXT } from "../../src/fingerprint/extensions.ts";
import { SITUATIONAL_HEADERS } from "../../src/fingerprint/h2-compare.ts";
import { ja3SortedString } from "../../src/fingerprint/ja3.ts";
import { ja4r } from "../../src/fingerprint/ja4.ts";
import type { RequestKind } from "../../src/profiles/http-types.ts";
import type { ResolvedProfile } from "../../src/profiles/registry-store.ts";
import { asResumed, CATALOGUE, type CatalogueCapture, FIXTURES, paddingFollowsLength } from "./catalogue.ts";
import type { JobResult } from "./fidelity-clients.ts";
import {
  type ClientSide,
  expectedAkamai,
  expectedH1Fields,
  expectedH2Fields,
  expectedPriority,
  expectedPseudoOrder,
  type Field,
} from "./fidelity-expect.ts";
import { answerFor, type OriginConnection, type OriginRequest } from "./fidelity-origin.ts";

const PSK = EXT.PRE_SHARED_KEY;

export interface CellInput {
  profile: ResolvedProfile;
  capture: CatalogueCapture;
  /** "h2" for the h2 + HTTP/1.1 origin, "h1" for the HTTP/1.1-only one. */
  origin: "h2" | "h1";
  /** `localhost:<origin port>`. */
  authority: string;
  path: string;
  kind?: RequestKind;
  method?: string;
  client?: ClientSide;
  /** The client's own result (undefined: the client produced none). */
  result: JobResult | undefined;
  /** What the origin recorded for `path`. */
  seen: OriginRequest[];
}

const show = (fields: Field[]) => fields.map(([n, v]) => `${n}: ${v}`).join(" | ");

function fieldDiff(label: string, want: Field[], got: Field[]): string[] {
  if (JSON.stringify(want) === JSON.stringify(got)) return [];
  return [`${label}:\n    expected ${show(want)}\n    got      ${show(got)}`];
}

const has = (ids: readonly number[], id: number) => ids.includes(id);

function sortedJa3(ja3: string): string {
  const f = ja3.split(",");
  f[2] = (f[2] ?? "")
    .split("-")
    .map(Number)
    .sort((a, b) => a - b)
    .join("-");
  return f.join(",");
}

/**
 * The hello against the capture, every component. Ignored: pre_shared_key (per connection), and
 * padding only where its presence follows the hello's own length (a capture's length depends on
 * its host name): with it the hello is exactly 512 bytes, without it at least 512. A hello that
 * offers a session is judged against the capture as a resumed hello of the profile (`asResumed`).
 */
export function helloDiffs(conn: OriginConnection, c: CellInput): string[] {
  const hello = conn.hello;
  if (hello === null) return ["no ClientHello recorded for the connection"];
  const out: string[] = [];
  if (hello.sni !== "localhost") out.push(`hello SNI ${hello.sni}`);
  const resuming = has(hello.extensions, PSK);
  const cap = resuming ? asResumed(c.capture, c.profile.sessionTicketsWhenResuming) : c.capture;
  if (cap.fp !== null) {
    const ignore: number[] = [PSK];
    if (
      paddingFollowsLength(
        conn.helloBytes,
        has(hello.extensions, EXT.PADDING),
        has(cap.fp.extensions, EXT.PADDING),
      )
    )
      ignore.push(EXT.PADDING);
    const opts = {
      ignoreExtensionOrder: c.profile.permuteExtensions,
      ignoreExtensions: ignore,
      // Chrome 152-153 / Opera 136 shuffle the anchor order once per process (the capture's was another).
      trustAnchorsAsSet: c.profile.trustAnchorsOrder === "shuffled-per-process",
    };
    out.push(...compareFingerprints(hello, cap.fp, opts).diffs.map((d) => `hello ${d}`));
    if (JSON.stringify(hello.keyShares) !== JSON.stringify(cap.fp.keyShares))
      out.push(`hello key shares ${JSON.stringify(hello.keyShares)} != ${JSON.stringify(cap.fp.keyShares)}`);
    if (hello.legacyVersion !== cap.fp.legacyVersion) out.push(`hello legacy version ${hello.legacyVersion}`);
    return out;
  }
  const f = cap.facts;
  if (f === null) return [...out, "the capture has neither a hello nor facts"];
  const noPsk = { ...hello, extensions: hello.extensions.filter((e) => e !== PSK) };
  if (ja3SortedString(noPsk) !== sortedJa3(f.ja3))
    out.push(`hello ja3 ${ja3SortedString(noPsk)} != ${f.ja3}`);
  if (ja4r(noPsk) !== f.ja4r) out.push(`hello ja4_r ${ja4r(noPsk)} != ${f.ja4r}`);
  if (hello.alps?.codepoint !== f.alps) out.push(`hello alps ${hello.alps?.codepoint} != ${f.alps}`);
  const shares = hello.keyShares.filter((k) => k.length > 1); // the GREASE share is 1 byte
  if (JSON.stringify(shares) !== JSON.stringify(f.keyShares))
    out.push(`hello key shares ${JSON.stringify(shares)}`);
  return out;
}

/** The navigation's values in a tls.peet.ws capture, where its JSON escaping left them whole. */
function peetValues(profile: string): Field[] | null {
  const rel = CATALOGUE[profile];
  if (rel === undefined || !rel.startsWith("fingerprints/")) return null;
  const json = JSON.parse(readFileSync(path.join(FIXTURES, rel), "utf8")) as {
    http2: { sent_frames: { frame_type: string; headers?: string[] }[] };
  };
  const headers = json.http2.sent_frames.find((f) => f.frame_type === "HEADERS")?.headers ?? [];
  return headers
    .filter((h) => !h.startsWith(":"))
    .map((h): Field => [h.slice(0, h.indexOf(": ")), h.slice(h.indexOf(": ") + 2)])
    .filter(([n, v]) => !v.includes("\\") && !SITUATIONAL_HEADERS.has(n));
}

/** The capture's own HTTP/2 facts (Akamai string or its start, pseudo order, header order). */
function captureH2Diffs(conn: OriginConnection, regular: Field[], pseudo: string[], c: CellInput): string[] {
  const h2 = c.capture.h2;
  if (h2 === null || conn.h2 === null) return [];
  const out: string[] = [];
  const akamai = conn.h2.akamai;
  if (h2.akamai !== null && akamai !== h2.akamai)
    out.push(`capture's akamai: expected ${h2.akamai} got ${akamai}`);
  const start = akamai.split("|").slice(0, 2).join("|");
  if (start !== h2.start) out.push(`capture's SETTINGS|WINDOW_UPDATE: expected ${h2.start} got ${start}`);
  if (h2.pseudo !== null && pseudo.join() !== h2.pseudo.join())
    out.push(`capture's pseudo order: expected ${h2.pseudo.join(",")} got ${pseudo.join(",")}`);
  if (h2.order !== null) {
    const sent = regular.map(([n]) => n);
    const captured = h2.order.filter((n) => !SITUATIONAL_HEADERS.has(n));
    const common = sent.filter((n) => captured.includes(n));
    if (common.join() !== captured.filter((n) => sent.includes(n)).join())
      out.push(`capture's header order: expected ${captured.join(",")} got ${sent.join(",")}`);
  }
  for (const [n, v] of peetValues(c.profile.name) ?? []) {
    const got = regular.find(([m]) => m === n)?.[1];
    if (got !== v) out.push(`capture's ${n}: expected ${v} got ${got ?? "(absent)"}`);
  }
  return out;
}

function h2Diffs(seen: Extract<OriginRequest, { protocol: "h2" }>, c: CellInput): string[] {
  const out: string[] = [];
  const http = c.profile.http;
  const kind = c.kind ?? "navigate";
  const { conn, req } = seen;
  const wantAkamai = expectedAkamai(http);
  if (conn.h2 === null) out.push(`no HTTP/2 summary: ${conn.h2Error}`);
  else {
    const got = http.http2.greaseSetting ? conn.h2.akamai.replace(/;GREASE:\d+(?=\|)/, "") : conn.h2.akamai;
    if (got !== wantAkamai) out.push(`akamai: expected the profile's ${wantAkamai} got ${conn.h2.akamai}`);
  }
  const pseudo = req.fields.filter(([n]) => n.startsWith(":"));
  const regular = req.fields.filter(([n]) => !n.startsWith(":"));
  const names = pseudo.map(([n]) => n);
  if (names.join() !== expectedPseudoOrder(http).join())
    out.push(`pseudo-header order: expected ${expectedPseudoOrder(http).join(",")} got ${names.join(",")}`);
  const pv = JSON.stringify(Object.fromEntries([...pseudo].sort()));
  const wantPv = JSON.stringify(
    Object.fromEntries(
      [
        [":authority", c.authority],
        [":method", c.method ?? "GET"],
        [":path", c.path],
        [":scheme", "https"],
      ].sort(),
    ),
  );
  if (pv !== wantPv) out.push(`pseudo-header values: expected ${wantPv} got ${pv}`);
  out.push(...fieldDiff(`${kind} headers (h2)`, expectedH2Fields(http, kind, c.client), regular));
  const wantPriority = expectedPriority(http, kind);
  if (JSON.stringify(req.priority) !== JSON.stringify(wantPriority))
    out.push(
      `HEADERS priority (${kind}): expected ${JSON.stringify(wantPriority)} got ${JSON.stringify(req.priority)}`,
    );
  if (kind === "navigate" && c.method === undefined && c.client === undefined)
    out.push(...captureH2Diffs(conn, regular, names, c));
  return out;
}

function h1Diffs(seen: Extract<OriginRequest, { protocol: "h1" }>, c: CellInput): string[] {
  const http = c.profile.http;
  const kind = c.kind ?? "navigate";
  const out: string[] = [];
  const line = `${c.method ?? "GET"} ${c.path} HTTP/1.1`;
  if (seen.req.requestLine !== line) out.push(`request line: ${seen.req.requestLine}`);
  out.push(
    ...fieldDiff(`${kind} head (h1)`, expectedH1Fields(http, kind, c.authority, c.client), seen.req.headers),
  );
  const names = seen.req.headers.map(([n]) => n.toLowerCase());
  if (names[0] !== "host") out.push(`first header is ${names[0]}, not Host`);
  for (const omitted of http.http1.omit)
    if (names.includes(omitted)) out.push(`h2-only header ${omitted} sent on h1`);
  return out;
}

/** Every difference of one cell (client result, request count, protocol, hello, HTTP layer). */
export function cellDiffs(c: CellInput): string[] {
  const out: string[] = [];
  if (c.result === undefined) out.push("the client reported no result");
  else if (c.result.status !== 200 || c.result.body !== answerFor(c.path))
    out.push(`client got ${c.result.status}: ${c.result.body.slice(0, 300)}`);
  if (c.seen.length !== 1) return [...out, `the origin saw ${c.seen.length} requests for ${c.path}`];
  const seen = c.seen[0] as OriginRequest;
  const wantAlpn = c.origin === "h2" ? "h2" : "http/1.1";
  if (seen.conn.alpn !== wantAlpn) out.push(`origin ALPN ${seen.conn.alpn}, expected ${wantAlpn}`);
  out.push(...helloDiffs(seen.conn, c));
  if (seen.protocol === "h2") out.push(...h2Diffs(seen, c));
  else out.push(...h1Diffs(seen, c));
  return out;
}
