/**
 * The `http2` section of a tls.peet.ws `/api/all` answer -> the profile's `[http2]` keys and the
 * navigation's HEADERS priority. Pure. The Akamai fingerprint `S|WU|P|PS` gives SETTINGS in wire
 * order (the `settings` list of the JSON is sorted by name), the connection WINDOW_UPDATE, the
 * PRIORITY frames (`stream:exclusive:dependency:weight`) and the pseudo-header order; the sent
 * HEADERS frame gives the first stream id and its priority fields. Header lists in the JSON are
 * sorted by name, so header order cannot be imported (reported in `notes`).
 */
import type { H2HeadersPriority, H2PriorityFrame, H2Setting, PseudoHeader } from "./http-types.ts";
import { emptyHttpTable, type HttpTable } from "./schema-http.ts";

const PSEUDO: Readonly<Record<string, PseudoHeader>> = {
  m: ":method",
  a: ":authority",
  s: ":scheme",
  p: ":path",
};
const GREASE_SETTING = "GREASE"; // how TrackMe / tls.peet.ws print a 0x?a?a setting id

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (t: string | undefined): number | undefined =>
  t !== undefined && /^\d{1,10}$/.test(t) ? Number(t) : undefined;

function settings(text: string, out: string[]): { list: H2Setting[]; grease: boolean } {
  const list: H2Setting[] = [];
  let grease = false;
  for (const entry of text === "" ? [] : text.split(";")) {
    if (entry === GREASE_SETTING) {
      grease = true;
      continue;
    }
    const [id, value] = entry.split(":").map(num);
    if (id === undefined || value === undefined || id > 0xffff || value > 0xffffffff)
      out.push(`http2 setting "${entry}": not "id:value", dropped`);
    else list.push([id, value]);
  }
  return { list, grease };
}

function priorityFrames(text: string, out: string[]): H2PriorityFrame[] {
  if (text === "0" || text === "") return [];
  const frames: H2PriorityFrame[] = [];
  for (const entry of text.split(",")) {
    const [streamId, exclusive, dependency, weight] = entry.split(":").map(num);
    if (streamId === undefined || exclusive === undefined || dependency === undefined || weight === undefined)
      out.push(`http2 PRIORITY frame "${entry}": not stream:exclusive:dependency:weight, dropped`);
    else frames.push({ streamId, exclusive: exclusive === 1, dependency, weight });
  }
  return frames;
}

function pseudoOrder(text: string, out: string[]): PseudoHeader[] | undefined {
  const order = text.split(",").map((c) => PSEUDO[c]);
  if (order.length !== 4 || order.some((p) => p === undefined) || new Set(order).size !== 4) {
    out.push(`http2 pseudo-header order "${text}": not a permutation of m,a,s,p, not imported`);
    return undefined;
  }
  return order as PseudoHeader[];
}

function firstHeaders(h2: Json): Json | undefined {
  const frames = Array.isArray(h2.sent_frames) ? h2.sent_frames : [];
  return frames.find((f): f is Json => isRecord(f) && f.frame_type === "HEADERS");
}

function headersPriority(frame: Json): H2HeadersPriority | null {
  const p = frame.priority;
  if (!isRecord(p)) return null;
  const weight = typeof p.weight === "number" ? p.weight : 16; // RFC 9113 §5.3.5 default weight
  return {
    exclusive: p.exclusive === 1 || p.exclusive === true,
    dependency: typeof p.depends_on === "number" ? p.depends_on : 0,
    weight,
  };
}

/**
 * The `[http2]` table for a capture's `http2` section (undefined when the capture has none);
 * `notes` gets one line per part not imported.
 */
export function http2FromPeet(h2: unknown, notes: string[]): HttpTable | undefined {
  if (!isRecord(h2) || typeof h2.akamai_fingerprint !== "string") return undefined;
  const parts = h2.akamai_fingerprint.split("|");
  if (parts.length !== 4) {
    notes.push(`http2 akamai_fingerprint "${h2.akamai_fingerprint}": not S|WU|P|PS, not imported`);
    return undefined;
  }
  const table = emptyHttpTable();
  const s = settings(parts[0]!, notes);
  table.http2.settings = s.list;
  table.http2.greaseSetting = s.grease;
  const window = num(parts[1]);
  if (window === undefined || window > 0x7fffffff - 65535)
    notes.push(`http2 WINDOW_UPDATE "${parts[1]}": not an increment, not imported`);
  else table.http2.connectionWindowIncrement = window;
  table.http2.priorityFrames = priorityFrames(parts[2]!, notes);
  const order = pseudoOrder(parts[3]!, notes);
  if (order !== undefined) table.http2.pseudoHeaderOrder = order;
  const headers = firstHeaders(h2);
  if (headers !== undefined) {
    if (typeof headers.stream_id === "number" && headers.stream_id % 2 === 1)
      table.http2.firstStreamId = headers.stream_id;
    table.priority.navigate = headersPriority(headers);
  }
  return table;
}
