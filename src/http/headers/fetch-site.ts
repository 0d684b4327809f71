/**
 * `Sec-Fetch-Site` from the request's initiator: when the client sent `Origin` or `Referer`, the
 * browser value follows from comparing that origin with the target (Fetch Metadata §2.1):
 * same-origin, same-site, or cross-site. Without either, the profile's value for the kind stands
 * (navigate: `none`, a typed URL; subresources: `same-origin`).
 *
 * Approximation: "same site" compares the last two labels of the host names (no Public Suffix
 * List), so `a.example.co.uk` and `b.other.co.uk` count as same-site.
 */

const HTTPS_DEFAULT_PORT = "443"; // RFC 9110 §4.2.2

function originOf(url: string): { scheme: string; host: string; port: string } | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== "https:" && u.protocol !== "http:") return undefined;
    const port = u.port !== "" ? u.port : u.protocol === "https:" ? HTTPS_DEFAULT_PORT : "80";
    return { scheme: u.protocol, host: u.hostname.toLowerCase(), port };
  } catch {
    return undefined;
  }
}

function site(host: string): string {
  return host.split(".").slice(-2).join(".");
}

/**
 * The `Sec-Fetch-Site` value for a request to `<scheme>://<authority>` initiated from `initiator`
 * (an Origin or Referer value), or undefined when the initiator is not a usable URL.
 */
export function fetchSite(
  initiator: string,
  authority: string,
  scheme: "https" | "http" = "https",
): string | undefined {
  const from = originOf(initiator);
  const to = originOf(`${scheme}://${authority}`);
  if (from === undefined || to === undefined) return undefined;
  if (from.scheme === to.scheme && from.host === to.host && from.port === to.port) return "same-origin";
  return from.scheme === to.scheme && site(from.host) === site(to.host) ? "same-site" : "cross-site";
}
