/**
 * A LeafCache that reports, per lookup, whether it was a hit (a cached leaf, or one already being
 * minted) or a miss (this lookup started a mint). LeafCache calls its source synchronously inside
 * get() when it mints, so a flag set by the source during get() tells the two apart.
 */
import { LeafCache, type LeafCacheOptions, type LeafSource } from "../mitm/leaf-cache.ts";
import type { Leaf } from "../pki/leaf.ts";

export class CountedLeaves {
  readonly #cache: LeafCache;
  readonly #onLookup: (hit: boolean) => void;
  #minted = false;

  constructor(minter: LeafSource, opts: LeafCacheOptions, onLookup: (hit: boolean) => void) {
    this.#onLookup = onLookup;
    this.#cache = new LeafCache(
      {
        mint: (host, now) => {
          this.#minted = true;
          return minter.mint(host, now);
        },
      },
      opts,
    );
  }

  get(host: string): Promise<Leaf> {
    this.#minted = false;
    const leaf = this.#cache.get(host);
    this.#onLookup(!this.#minted);
    return leaf;
  }

  get size(): number {
    return this.#cache.size;
  }
}
