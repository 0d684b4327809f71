/**
 * The regular header fields the proxy sends the origin for the bench's `GET /small` (a request
 * with no fields of its own: a navigation, by the default profile), computed by the proxy's own
 * header policy. `probe.ts --browser-headers` sends them on both paths, so the origin gets the
 * same request direct and through the proxy and the ratio leaves out the origin's extra work on
 * the browser's larger header block.
 */
import { defaultConfig } from "../src/config/load.ts";
import { buildUpstreamHeaders } from "../src/http/headers/policy.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";

/** `[name, value]` in the profile's wire order, no pseudo-header fields, no Host / Connection. */
export function browserFields(authority: string): [string, string][] {
  const profile = new ProfileRegistry().get(defaultConfig().proxy.upstream.defaultProfile);
  return buildUpstreamHeaders(profile.http, "navigate", [], { protocol: "h2", authority });
}
