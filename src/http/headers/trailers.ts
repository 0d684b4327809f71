/**
 * The request trailer fields that go upstream, whichever protocol the origin speaks: names in
 * lowercase, and none of the fields a trailer section must not carry or that are the proxy's: no
 * pseudo-header, no connection-specific or hop-by-hop field (RFC 9110 §6.5.1 and §7.6.1; RFC 9113
 * §8.2.2 makes them malformed on HTTP/2), no framing or routing field (`content-length`, `host`,
 * `trailer`), no proxy credentials and no `x-polytls-*` control field. Pure.
 */
import { asciiLower } from "../h1/syntax.ts";
import type { HeaderField } from "../hpack/types.ts";
import { CONTROL_PREFIX, HOP_BY_HOP } from "./names.ts";

const FRAMING = new Set(["content-length", "trailer"]);

export function forwardableTrailers(fields: readonly HeaderField[] | null): HeaderField[] {
  const out: HeaderField[] = [];
  if (fields === null) return out;
  for (let i = 0; i < fields.length; i++) {
    const [raw, value] = fields[i] as HeaderField;
    const name = asciiLower(raw);
    if (name.startsWith(":") || HOP_BY_HOP.has(name) || FRAMING.has(name) || name.startsWith(CONTROL_PREFIX))
      continue;
    out.push([name, value]);
  }
  return out;
}
