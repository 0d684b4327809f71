/**
 * Compares a recorded HTTP/2 navigation (`h2-summary.ts`) with the `http2` section of a
 * tls.peet.ws `/api/all` capture: the Akamai string (and hash), the first HEADERS frame's stream,
 * flags and priority, and the set of regular header names. tls.peet.ws lists a frame's headers
 * sorted by name, so their order cannot be compared. Pure.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { H2PriorityInfo, H2Summary } from "./h2-summary.ts";
import { headersFlagNames } from "./h2-summary.ts";

export interface PeetH2 {
  akamai: string;
  akamaiHash: string;
  /** The capture's first HEADERS frame, when it lists one. */
  firstHeaders: {
    streamId: number;
    flags: number;
    priority: H2PriorityInfo | null;
    /** Regular header names, lowercase, as listed (sorted). */
    names: string[];
  } | null;
}

/**
 * Header names whose presence depends on the circumstances of one page load rather than on the
 * browser, with the reason; `polytls fingerprint --compare` reports them as notes, not diffs.
 */
export const SITUATIONAL_HEADERS: ReadonlyMap<string, string> = new Map([
  ["cache-control", "sent on a reload (max-age=0) or a hard reload (no-cache), not on a plain navigation"],
  ["pragma", "sent on a hard reload"],
  ["cookie", "depends on the cookies the browser holds for the site"],
  ["referer", "sent when the navigation starts from another page"],
  ["if-none-match", "sent when revalidating a cached page"],
  ["if-modified-since", "sent when revalidating a cached page"],
]);

type Json = Record<string, unknown>;

function invalid(reason: string): ProxyError {
  return new ProxyError("CONFIG_INVALID", `tls.peet.ws capture: http2: ${reason}`);
}

function isRecord(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Name of a peet header line: `:authority: tls.peet.ws` → `:authority`, `accept-language: en` → `accept-language`. */
function headerName(line: string): string {
  const at = line.indexOf(":", line.startsWith(":") ? 1 : 0);
  if (at <= 0) throw invalid(`header line "${line}" has no name`);
  return line.slice(0, at).toLowerCase();
}

/** Flag bits from peet's labels, e.g. `EndHeaders (0x4)`. */
function flagBits(labels: unknown): number {
  if (!Array.isArray(labels)) return 0;
  let flags = 0;
  for (const label of labels) {
    const m = typeof label === "string" ? /\(0x([0-9a-fA-F]+)\)$/.exec(label) : null;
    if (!m) throw invalid(`frame flag ${JSON.stringify(label)} has no (0x..) value`);
    flags |= Number.parseInt(m[1] ?? "0", 16);
  }
  return flags;
}

function priorityOf(p: unknown): H2PriorityInfo | null {
  if (!isRecord(p)) return null;
  const { depends_on: dependency, exclusive, weight } = p;
  if (typeof dependency !== "number" || typeof weight !== "number")
    throw invalid("HEADERS priority is incomplete");
  return { exclusive: exclusive === 1 || exclusive === true, dependency, weight };
}

/** The `http2` section of a parsed `/api/all` answer; null when it has none (e.g. an HTTP/1.1 capture). */
export function h2FromPeet(json: unknown): PeetH2 | null {
  if (!isRecord(json) || !isRecord(json.http2)) return null;
  const h2 = json.http2;
  const { akamai_fingerprint: akamai, akamai_fingerprint_hash: akamaiHash } = h2;
  if (typeof akamai !== "string" || typeof akamaiHash !== "string") {
    throw invalid("akamai_fingerprint or akamai_fingerprint_hash is not a string");
  }
  const frames = Array.isArray(h2.sent_frames) ? h2.sent_frames : [];
  const headers = frames.find((f): f is Json => isRecord(f) && f.frame_type === "HEADERS");
  if (headers === undefined) return { akamai, akamaiHash, firstHeaders: null };
  const lines = headers.headers;
  if (!Array.isArray(lines) || !lines.every((l) => typeof l === "string")) {
    throw invalid("HEADERS headers is not a list of strings");
  }
  if (typeof headers.stream_id !== "number") throw invalid("HEADERS stream_id is not a number");
  return {
    akamai,
    akamaiHash,
    firstHeaders: {
      streamId: headers.stream_id,
      flags: flagBits(headers.flags),
      priority: priorityOf(headers.priority),
      names: lines.map(headerName).filter((n) => !n.startsWith(":")),
    },
  };
}

export interface H2CompareResult {
  equal: boolean;
  /** One readable line per differing component. */
  diffs: string[];
  /** What was not compared, and why. */
  notes: string[];
}

function flagsText(flags: number): string {
  return `0x${flags.toString(16).padStart(2, "0")} (${headersFlagNames(flags).join(", ") || "none"})`;
}

function priorityText(p: H2PriorityInfo | null): string {
  return p === null
    ? "none"
    : `exclusive ${p.exclusive ? 1 : 0}, depends on ${p.dependency}, weight ${p.weight}`;
}

/**
 * Compares `actual` with a capture. Names in `situational` (default `SITUATIONAL_HEADERS`) that
 * only one side has become notes instead of diffs.
 */
export function compareH2(
  actual: H2Summary,
  expected: PeetH2,
  situational: ReadonlyMap<string, string> = SITUATIONAL_HEADERS,
): H2CompareResult {
  const diffs: string[] = [];
  const notes: string[] = [];
  if (actual.akamai !== expected.akamai)
    diffs.push(`akamai: expected ${expected.akamai} got ${actual.akamai}`);
  else if (actual.akamaiHash !== expected.akamaiHash) {
    diffs.push(`akamai hash: expected ${expected.akamaiHash} got ${actual.akamaiHash}`);
  }
  const cap = expected.firstHeaders;
  if (cap === null) {
    notes.push("the capture lists no HEADERS frame: headers not compared");
    return { equal: diffs.length === 0, diffs, notes };
  }
  const got = actual.firstHeaders;
  if (got.streamId !== cap.streamId)
    diffs.push(`HEADERS stream: expected ${cap.streamId} got ${got.streamId}`);
  if (got.flags !== cap.flags)
    diffs.push(`HEADERS flags: expected ${flagsText(cap.flags)} got ${flagsText(got.flags)}`);
  if (priorityText(got.priority) !== priorityText(cap.priority)) {
    diffs.push(`HEADERS priority: expected ${priorityText(cap.priority)} got ${priorityText(got.priority)}`);
  }
  const sent = new Set(got.headers.map(([n]) => n));
  const listed = new Set(cap.names);
  const missing: string[] = [];
  const extra: string[] = [];
  for (const name of listed) {
    if (sent.has(name)) continue;
    const why = situational.get(name);
    if (why === undefined) missing.push(name);
    else notes.push(`${name}: in the capture, not sent (${why})`);
  }
  for (const name of sent) {
    if (listed.has(name)) continue;
    const why = situational.get(name);
    if (why === undefined) extra.push(name);
    else notes.push(`${name}: sent, not in the capture (${why})`);
  }
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`missing ${missing.join(", ")}`] : []),
      ...(extra.length > 0 ? [`extra ${extra.join(", ")}`] : []),
    ];
    diffs.push(`header names: ${parts.join("; ")}`);
  }
  notes.push("header order: not in capture (tls.peet.ws lists headers sorted by name)");
  return { equal: diffs.length === 0, diffs, notes };
}
