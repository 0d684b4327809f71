/**
 * The matrix text for the closing note (tests only): one row per client × profile with
 * what the h2 origin saw (JA4, Akamai hash, pseudo-header order, User-Agent) and what the
 * HTTP/1.1-only origin saw (first header names, User-Agent), plus each cell's verdict. A JA4
 * marked `*` is of a resumed connection (its hello carries pre_shared_key, 41). Pure.
 */
import { EXT } from "../../src/fingerprint/extensions.ts";
import { ja4 } from "../../src/fingerprint/ja4.ts";
import type { OriginRequest } from "./fidelity-origin.ts";

export interface MatrixRow {
  client: string;
  profile: string;
  h2: OriginRequest | undefined;
  h1: OriginRequest | undefined;
  h2Ok: boolean;
  h1Ok: boolean;
}

const PSEUDO_LETTER: Readonly<Record<string, string>> = {
  ":method": "m",
  ":authority": "a",
  ":scheme": "s",
  ":path": "p",
};

/**
 * A User-Agent in short: the browser's product token and the first word of its platform, e.g.
 * `Chrome/143.0.0.0 (Macintosh)`; else its first 24 characters.
 */
export function uaShort(ua: string | undefined): string {
  if (ua === undefined) return "(none)";
  const product = /(Edg\/[\d.]+|OPR\/[\d.]+|Firefox\/[\d.]+|Chrome\/[\d.]+|Version\/[\d.]+)/.exec(ua)?.[1];
  const platform = /\(([^;)]+)/.exec(ua)?.[1];
  return product === undefined ? ua.slice(0, 24) : `${product} (${platform ?? "?"})`;
}

function ua(r: OriginRequest | undefined): string | undefined {
  if (r === undefined) return undefined;
  const fields = r.protocol === "h2" ? r.req.fields : r.req.headers;
  return fields.find(([n]) => n.toLowerCase() === "user-agent")?.[1];
}

function h2Cells(r: OriginRequest | undefined): string[] {
  if (r === undefined || r.protocol !== "h2") return ["-", "-", "-", "-"];
  const hello = r.conn.hello;
  const pseudo = r.req.fields
    .filter(([n]) => n.startsWith(":"))
    .map(([n]) => PSEUDO_LETTER[n] ?? n)
    .join(",");
  const resumed = hello?.extensions.includes(EXT.PRE_SHARED_KEY) === true;
  return [
    hello === null ? "-" : `${ja4(hello)}${resumed ? "*" : ""}`,
    r.conn.h2?.akamaiHash.slice(0, 12) ?? "-",
    pseudo,
    uaShort(ua(r)),
  ];
}

function h1Cell(r: OriginRequest | undefined): string {
  if (r === undefined || r.protocol !== "h1") return "-";
  const names = r.req.headers.slice(0, 3).map(([n]) => n);
  return `${names.join(",")},… ${uaShort(ua(r))}`;
}

export function formatMatrix(rows: MatrixRow[], title: string): string {
  const header = [
    "client",
    "profile",
    "JA4 (h2 origin)",
    "akamai md5",
    "pseudo",
    "UA",
    "h1-only origin",
    "verdict",
  ];
  const lines = rows.map((r) => [
    r.client,
    r.profile,
    ...h2Cells(r.h2),
    h1Cell(r.h1),
    `${r.h2Ok ? "h2 ok" : "h2 FAIL"}, ${r.h1Ok ? "h1 ok" : "h1 FAIL"}`,
  ]);
  const table = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...table.map((l) => (l[i] ?? "").length)));
  const text = table.map((l) =>
    l
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
  return [
    title,
    "JA4*: a resumed connection (pre_shared_key counted); akamai md5: first 12 hex",
    ...text,
  ].join("\n");
}
