/**
 * Per-host cache of minted leaves: concurrent requests for one host share one mint, entries expire after a
 * TTL (and never outlive the leaf), and the least recently used entry is evicted past `maxEntries`.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { Leaf } from "../pki/leaf.ts";

/** Entries; each holds a few KB (cert DER + PEM), so 10 000 stays in the tens of MB for proxies seeing many hosts. */
export const DEFAULT_LEAF_CACHE_MAX_ENTRIES = 10_000;

export interface LeafSource {
  mint(host: string, now: Date): Promise<Leaf>;
}

export interface LeafCacheOptions {
  /** Seconds an entry is served after minting (callers default to 3600). */
  ttlSeconds: number;
  /** LRU bound; DEFAULT_LEAF_CACHE_MAX_ENTRIES when absent. */
  maxEntries?: number;
  /** Clock in epoch ms; Date.now when absent. */
  now?: () => number;
}

interface Entry {
  leaf: Promise<Leaf>;
  /** Epoch ms after which the entry is stale; Infinity while the mint is pending. */
  expiresAt: number;
}

/** Lower-cases, drops one trailing dot and IPv6 brackets: "Example.COM." → "example.com", "[::1]" → "::1". */
export function normalizeLeafHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

export class LeafCache {
  readonly #minter: LeafSource;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Map iteration order is insertion order: the first key is the least recently used. */
  readonly #entries = new Map<string, Entry>();

  constructor(minter: LeafSource, opts: LeafCacheOptions) {
    // 0 = a leaf is never reused once minted (requests arriving while it is minted still share it).
    if (!(Number.isFinite(opts.ttlSeconds) && opts.ttlSeconds >= 0)) {
      throw new ProxyError(
        "CONFIG_INVALID",
        `leaf cache ttlSeconds must be a number >= 0, got ${opts.ttlSeconds}`,
      );
    }
    const maxEntries = opts.maxEntries ?? DEFAULT_LEAF_CACHE_MAX_ENTRIES;
    if (!(Number.isInteger(maxEntries) && maxEntries > 0)) {
      throw new ProxyError(
        "CONFIG_INVALID",
        `leaf cache maxEntries must be a positive integer, got ${maxEntries}`,
      );
    }
    this.#minter = minter;
    this.#ttlMs = opts.ttlSeconds * 1000;
    this.#maxEntries = maxEntries;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached leaf for `host`, minting one if absent or stale. A failed mint is not cached. */
  get(host: string): Promise<Leaf> {
    const key = normalizeLeafHost(host);
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      if (now < hit.expiresAt) {
        this.#entries.set(key, hit); // move to most recently used
        return hit.leaf;
      }
    }
    return this.#mint(key, now);
  }

  #mint(key: string, now: number): Promise<Leaf> {
    // The executor turns a minter that throws synchronously into a rejected promise.
    const leaf = new Promise<Leaf>((resolve) => resolve(this.#minter.mint(key, new Date(now))));
    const entry: Entry = { leaf, expiresAt: Number.POSITIVE_INFINITY };
    this.#entries.set(key, entry);
    this.#evictOverflow();
    entry.leaf.then(
      (leaf) => {
        entry.expiresAt = Math.min(now + this.#ttlMs, leaf.notAfter.getTime());
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    return entry.leaf;
  }

  #evictOverflow(): void {
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) return;
      this.#entries.delete(oldest.value);
    }
  }
}
