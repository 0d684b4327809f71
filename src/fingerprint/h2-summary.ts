/**
 * What a client sent on an HTTP/2 connection, reduced to what fingerprints are made of: the
 * Akamai string and its MD5 (tls.peet.ws `akamai_fingerprint_hash`), SETTINGS, the connection
 * WINDOW_UPDATE, PRIORITY frames, the first HEADERS frame (flags, stream, priority) and its field
 * order, and every frame in wire order. Pure: takes the client's plaintext bytes after TLS.
 */
import { createHash } from "node:crypto";
import { ProxyError } from "../errors/proxy-error.ts";
import { akamaiPartsFromFrames, akamaiString } from "../http/h2/akamai.ts";
import { FrameReader } from "../http/h2/frame-reader.ts";
import { CLIENT_MAGIC, FRAME_HEADER_BYTES, type Frame, FrameFlag } from "../http/h2/frame-types.ts";
import { isGreaseSettingId, SettingId } from "../http/h2/settings.ts";
import { HpackDecoder } from "../http/hpack/decoder.ts";
import type { HeaderField } from "../http/hpack/types.ts";

export interface H2SettingEntry {
  id: number;
  /** RFC name (`HEADER_TABLE_SIZE`...), `GREASE` for 0x?a?a ids, else `UNKNOWN`. */
  name: string;
  value: number;
}

export interface H2PriorityInfo {
  exclusive: boolean;
  dependency: number;
  /** 1..256 (the wire byte + 1). */
  weight: number;
}

/** One client frame as on the wire: header fields plus a short readable detail. */
export interface H2FrameInfo {
  type: string;
  streamId: number;
  /** Raw flag byte. */
  flags: number;
  /** Payload length, bytes. */
  length: number;
  detail: string;
}

export interface H2HeadersInfo {
  streamId: number;
  /** Raw flag byte of the HEADERS frame (0x25 = END_STREAM | END_HEADERS | PRIORITY). */
  flags: number;
  flagNames: string[];
  priority: H2PriorityInfo | null;
  /** Pseudo-header fields in wire order. */
  pseudoHeaders: [string, string][];
  /** Regular fields in wire order. */
  headers: [string, string][];
}

export interface H2Summary {
  akamai: string;
  /** MD5 (hex) of `akamai`, as tls.peet.ws computes `akamai_fingerprint_hash`. */
  akamaiHash: string;
  settings: H2SettingEntry[];
  /** Increment of the first stream-0 WINDOW_UPDATE, or null when none was sent. */
  windowUpdate: number | null;
  priorityFrames: (H2PriorityInfo & { streamId: number })[];
  firstHeaders: H2HeadersInfo;
  /** Every complete client frame, in wire order. */
  frames: H2FrameInfo[];
}

const SETTING_NAMES = new Map<number, string>(Object.entries(SettingId).map(([name, id]) => [id, name]));

/** RFC name of a SETTINGS id, `GREASE`, or `UNKNOWN`. */
export function settingName(id: number): string {
  return SETTING_NAMES.get(id) ?? (isGreaseSettingId(id) ? "GREASE" : "UNKNOWN");
}

const HEADERS_FLAGS: [number, string][] = [
  [FrameFlag.END_STREAM, "END_STREAM"],
  [FrameFlag.END_HEADERS, "END_HEADERS"],
  [FrameFlag.PADDED, "PADDED"],
  [FrameFlag.PRIORITY, "PRIORITY"],
];

/** Names of the flag bits HEADERS defines (RFC 9113 §6.2), low bit first. */
export function headersFlagNames(flags: number): string[] {
  return HEADERS_FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

function bad(message: string, cause?: unknown): ProxyError {
  return new ProxyError("HTTP_PROTOCOL", `HTTP/2 recording: ${message}`, cause ? { cause } : undefined);
}

function priorityText(p: H2PriorityInfo): string {
  return `${p.exclusive ? "exclusive, " : ""}depends on ${p.dependency}, weight ${p.weight}`;
}

function detailOf(f: Frame): string {
  switch (f.type) {
    case "SETTINGS":
      return f.ack ? "ACK" : f.settings.map(([id, v]) => `${settingName(id)}=${v}`).join(" ");
    case "WINDOW_UPDATE":
      return `increment ${f.increment}`;
    case "PRIORITY":
      return priorityText(f.priority);
    case "HEADERS":
      return f.priority ? priorityText(f.priority) : "";
    case "GOAWAY":
      return `last stream ${f.lastStreamId}, error ${f.code}`;
    case "RST_STREAM":
      return `error ${f.code}`;
    case "PING":
      return f.ack ? "ACK" : "";
    case "DATA":
      return `${f.data.length} bytes`;
    case "UNKNOWN":
      return `type 0x${f.frameType.toString(16)}`;
    default:
      return "";
  }
}

/** Every complete frame after the client magic, each with its raw header fields. */
function readFrames(bytes: Uint8Array): { frame: Frame; info: H2FrameInfo }[] {
  if (!CLIENT_MAGIC.every((b, i) => bytes[i] === b))
    throw bad("the client did not start with the HTTP/2 preface");
  const reader = new FrameReader();
  reader.setMaxFrameSize(0xffffff);
  const out: { frame: Frame; info: H2FrameInfo }[] = [];
  let at = CLIENT_MAGIC.length;
  while (at + FRAME_HEADER_BYTES <= bytes.length) {
    const length = ((bytes[at] ?? 0) << 16) | ((bytes[at + 1] ?? 0) << 8) | (bytes[at + 2] ?? 0);
    const end = at + FRAME_HEADER_BYTES + length;
    if (end > bytes.length) break;
    const flags = bytes[at + 4] ?? 0;
    const streamId =
      (((bytes[at + 5] ?? 0) & 0x7f) << 24) +
      ((bytes[at + 6] ?? 0) << 16) +
      ((bytes[at + 7] ?? 0) << 8) +
      (bytes[at + 8] ?? 0);
    reader.push(bytes.subarray(at, end));
    let frame: Frame | null;
    try {
      frame = reader.next();
    } catch (err) {
      throw bad(`malformed frame at byte ${at}`, err);
    }
    if (frame === null) throw bad(`frame at byte ${at} did not parse`);
    out.push({ frame, info: { type: frame.type, streamId, flags, length, detail: detailOf(frame) } });
    at = end;
  }
  return out;
}

/**
 * Summarizes a client's plaintext bytes on an HTTP/2 connection (starting with the preface).
 * Throws ProxyError("HTTP_PROTOCOL") when they are not HTTP/2 or hold no complete HEADERS block.
 */
export function summarizeH2(bytes: Uint8Array): H2Summary {
  const frames = readFrames(bytes);
  const seen: { fields: HeaderField[] | null } = { fields: null };
  const decode = (block: Uint8Array): HeaderField[] => {
    try {
      seen.fields = new HpackDecoder().decode(block); // the first block: a fresh table
    } catch (err) {
      throw bad("the first HEADERS block does not decode", err);
    }
    return seen.fields;
  };
  const parts = akamaiPartsFromFrames(
    frames.map((f) => f.frame),
    decode,
  );
  const first = frames.find((f) => f.frame.type === "HEADERS");
  const fields = seen.fields;
  if (parts === null || first === undefined || first.frame.type !== "HEADERS" || fields === null) {
    throw bad("no complete HEADERS block");
  }
  const akamai = akamaiString(parts, { greaseLabel: true });
  return {
    akamai,
    akamaiHash: createHash("md5").update(akamai).digest("hex"),
    settings: parts.settings.map(([id, value]) => ({ id, name: settingName(id), value })),
    windowUpdate: parts.windowIncrement,
    priorityFrames: parts.priorities.map((p) => ({ ...p })),
    firstHeaders: {
      streamId: first.info.streamId,
      flags: first.info.flags,
      flagNames: headersFlagNames(first.info.flags),
      priority: first.frame.priority ? { ...first.frame.priority } : null,
      pseudoHeaders: fields.filter(([n]) => n.startsWith(":")).map(([n, v]) => [n, v]),
      headers: fields.filter(([n]) => !n.startsWith(":")).map(([n, v]) => [n, v]),
    },
    frames: frames.map((f) => f.info),
  };
}
