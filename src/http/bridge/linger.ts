/**
 * After the proxy ends an upstream connection (close_notify and FIN; GOAWAY first on HTTP/2), the
 * origin normally closes its side at once. One that keeps it open would hold the socket forever
 * (upstream sockets allow half-open connections): it is cut off after a short linger.
 */

/** How long an origin may keep its side open after ours ended, ms. */
export const UPSTREAM_LINGER_MS = 2_000;

/**
 * How long a client connection the proxy ended between requests (idle, or the proxy's drain) may
 * keep its side open before it is closed, ms: a pool that never reads it again would hold it for
 * as long as it lives.
 */
export const CLIENT_LINGER_MS = 2_000;

/** Destroys `ep` after the linger (a no-op when it closed in the meantime). */
export function destroyAfterLinger(ep: { destroy(): void }, ms = UPSTREAM_LINGER_MS): void {
  setTimeout(() => ep.destroy(), ms).unref();
}
