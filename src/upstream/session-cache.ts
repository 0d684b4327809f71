/**
 * Upstream TLS sessions keyed by profile and `host:port`, so the second connection to an origin
 * offers resumption (`pre_shared_key`) exactly as a browser would. Bounded LRU; sessions are
 * opaque bytes exported by the engine (which exports none for a profile that may not resume).
 * A session the server refused (no resumption, or a failed handshake) is dropped, so the next
 * connection does a full handshake instead of offering it again.
 */
export const SESSION_CACHE_MAX_ENTRIES = 4096; // sessions; ~2 KiB each → ≤ 8 MiB

export class SessionCache {
  readonly #max: number;
  readonly #map = new Map<string, Uint8Array>();

  constructor(maxEntries = SESSION_CACHE_MAX_ENTRIES) {
    this.#max = maxEntries;
  }

  static key(profile: string, host: string, port: number): string {
    return `${profile}|${host.toLowerCase()}:${port}`;
  }

  get(key: string): Uint8Array | null {
    const s = this.#map.get(key);
    if (!s) return null;
    this.#map.delete(key);
    this.#map.set(key, s);
    return s;
  }

  set(key: string, session: Uint8Array): void {
    this.#map.delete(key);
    this.#map.set(key, session);
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value;
      if (oldest === undefined) break;
      this.#map.delete(oldest);
    }
  }

  /**
   * Forgets the session offered under `key` after the server refused it. Only that very session:
   * one received since (a new ticket) stays. `offered` null (none offered) does nothing.
   */
  drop(key: string, offered: Uint8Array | null): void {
    if (offered !== null && this.#map.get(key) === offered) this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }
}
