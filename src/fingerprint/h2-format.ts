/** Text lines for `polytls fingerprint`'s HTTP/2 section. Pure. */
import type { H2CompareResult } from "./h2-compare.ts";
import type { H2FrameInfo, H2PriorityInfo, H2Summary } from "./h2-summary.ts";

export interface H2FormatOptions {
  /** Show header values (one field per line) instead of the name order only. */
  values?: boolean;
}

function priority(p: H2PriorityInfo | null): string {
  if (p === null) return "no priority";
  return `${p.exclusive ? "exclusive, " : ""}depends on ${p.dependency}, weight ${p.weight}`;
}

function frameLabel(f: H2FrameInfo): string {
  const stream = f.streamId === 0 ? "" : ` ${f.streamId}`;
  const ack = (f.type === "SETTINGS" || f.type === "PING") && f.detail === "ACK" ? " ACK" : "";
  return `${f.type}${stream}${ack}`;
}

function row(label: string, text: string): string {
  return `  ${label.padEnd(15)}${text}`;
}

/** The HTTP/2 section: Akamai, SETTINGS, WINDOW_UPDATE, PRIORITY, first HEADERS, field orders, frames. */
export function formatH2(s: H2Summary, opts: H2FormatOptions = {}): string[] {
  const h = s.firstHeaders;
  const lines = [
    row("akamai", `${s.akamaiHash}  ${s.akamai}`),
    row("SETTINGS", s.settings.map((e) => `${e.name}(${e.id})=${e.value}`).join(" ") || "none"),
    row("WINDOW_UPDATE", s.windowUpdate === null ? "none" : String(s.windowUpdate)),
    row(
      "PRIORITY",
      s.priorityFrames.length === 0
        ? "none"
        : s.priorityFrames.map((p) => `stream ${p.streamId}: ${priority(p)}`).join("; "),
    ),
    row(
      "HEADERS",
      `stream ${h.streamId}, flags 0x${h.flags.toString(16).padStart(2, "0")} (${h.flagNames.join(", ")}), ${priority(h.priority)}`,
    ),
  ];
  if (opts.values) {
    lines.push("  fields");
    for (const [n, v] of [...h.pseudoHeaders, ...h.headers]) lines.push(`    ${n}: ${v}`);
  } else {
    lines.push(row("pseudo order", h.pseudoHeaders.map(([n]) => n).join(" ")));
    lines.push(row("header order", h.headers.map(([n]) => n).join(", ")));
  }
  lines.push(row("frames", s.frames.map(frameLabel).join(", ")));
  return lines;
}

/** The comparison with a capture's `http2` section. */
export function formatH2Comparison(c: H2CompareResult): string[] {
  const n = c.diffs.length;
  const head = c.equal
    ? ["  matches the capture (akamai, first HEADERS stream / flags / priority, header names)"]
    : [
        `  ${n === 1 ? "1 component differs" : `${n} components differ`}:`,
        ...c.diffs.map((d) => `    - ${d}`),
      ];
  return [...head, ...c.notes.map((note) => `  note: ${note}`)];
}
