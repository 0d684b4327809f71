/**
 * The regular header fields the proxy sends the origin for the bench's `GET /small` (a request
 * with no fields of its own: a navigation, by the default profile), computed by the proxy's own
 * header policy. `probe.ts --browser-headers` and `make bench`'s scale loads send them on every
 * path, so the origin gets the same header fields direct and through the proxy and the ratio
 * leaves out its extra work on the browser's larger block (on the HTTP/1.1 loads it still parses
 * HTTP/1.1 direct and HTTP/2 from the proxy).
 */
import { defaultConfig } from "../src/config/load.ts";
import { buildUpstreamHeaders } from "../src/http/headers/policy.ts";
import { ProfileRegistry } from "../src/profiles/registry-store.ts";

/** `[name, value]` in the profile's wire order, no pseudo-header fields, no Host / Connection. */
export function browserFields(authority: string): [string, string][] {
  const profile = new ProfileRegistry().get(defaultConfig().proxy.upstream.defaultProfile);
  return buildUpstreamHeaders(profile.http, "navigate", [], { protocol: "h2", authority });
}
