import { FrameReader } from "./frame-reader.ts";
import { CLIENT_MAGIC, type Frame, type Setting } from "./frame-types.ts";
import { concatBytes } from "./frame-writer.ts";
import type { HeaderField } from "./session-types.ts";
import { isGreaseSettingId } from "./settings.ts";

/**
 * The Akamai HTTP/2 fingerprint `S[;]|WU|P[,]|PS[,]` (Shuster et al., BlackHat EU 2017):
 * SETTINGS `id:value` in wire order; the connection WINDOW_UPDATE increment (`00` when none);
 * PRIORITY frames `stream:exclusive:dependency:weight` (`0` when none); the first HEADERS'
 * pseudo-header order by first letter (m, a, s, p).
 */
export interface AkamaiParts {
  readonly settings: readonly Setting[];
  readonly windowIncrement: number | null;
  readonly priorities: ReadonlyArray<{
    streamId: number;
    exclusive: boolean;
    dependency: number;
    weight: number;
  }>;
  readonly pseudoHeaders: readonly string[];
}

export interface AkamaiOptions {
  /** Print GREASE setting ids (0x?a?a) as `GREASE` (TrackMe style) instead of their number. */
  readonly greaseLabel?: boolean;
}

export function akamaiString(parts: AkamaiParts, opts: AkamaiOptions = {}): string {
  const s = parts.settings
    .map(([id, value]) => `${opts.greaseLabel && isGreaseSettingId(id) ? "GREASE" : id}:${value}`)
    .join(";");
  const wu = parts.windowIncrement === null ? "00" : String(parts.windowIncrement);
  const p =
    parts.priorities.length === 0
      ? "0"
      : parts.priorities
          .map((f) => `${f.streamId}:${f.exclusive ? 1 : 0}:${f.dependency}:${f.weight}`)
          .join(",");
  const ps = parts.pseudoHeaders.map((name) => name.charAt(1)).join(",");
  return `${s}|${wu}|${p}|${ps}`;
}

/**
 * Collects the Akamai parts from the frames a client sent, up to its first complete HEADERS
 * block (decoded with `decode` to read the pseudo-header order). Null when no HEADERS completes.
 */
export function akamaiPartsFromFrames(
  frames: Iterable<Frame>,
  decode: (block: Uint8Array) => readonly HeaderField[],
): AkamaiParts | null {
  let settings: readonly Setting[] = [];
  let settingsSeen = false;
  let windowIncrement: number | null = null;
  const priorities: AkamaiParts["priorities"][number][] = [];
  let block: Uint8Array[] | null = null;
  for (const f of frames) {
    if (f.type === "SETTINGS" && !f.ack && !settingsSeen) {
      settings = f.settings;
      settingsSeen = true;
    } else if (f.type === "WINDOW_UPDATE" && f.streamId === 0 && windowIncrement === null) {
      windowIncrement = f.increment;
    } else if (f.type === "PRIORITY") {
      priorities.push({ streamId: f.streamId, ...f.priority });
    } else if (f.type === "HEADERS" || (f.type === "CONTINUATION" && block)) {
      block = [...(block ?? []), f.block];
      if (f.endHeaders) {
        const pseudoHeaders = decode(concatBytes(block))
          .map(([name]) => name)
          .filter((name) => name.startsWith(":"));
        return { settings, windowIncrement, priorities, pseudoHeaders };
      }
    }
  }
  return null;
}

/** Reads a client's byte stream (with or without the magic) into frames, stopping at an incomplete one. */
export function* clientFrames(bytes: Uint8Array): Generator<Frame> {
  const magic = CLIENT_MAGIC.every((b, i) => bytes[i] === b);
  const reader = new FrameReader();
  reader.setMaxFrameSize(0xffffff);
  reader.push(magic ? bytes.subarray(CLIENT_MAGIC.length) : bytes);
  for (let f = reader.next(); f !== null; f = reader.next()) yield f;
}

/** The Akamai string of a client's first bytes on a connection; null when no HEADERS completes. */
export function akamaiFromBytes(
  bytes: Uint8Array,
  decode: (block: Uint8Array) => readonly HeaderField[],
  opts: AkamaiOptions = {},
): string | null {
  const parts = akamaiPartsFromFrames(clientFrames(bytes), decode);
  return parts ? akamaiString(parts, opts) : null;
}
