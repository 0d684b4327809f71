/**
 * A connection's streams by id, in a Map made on first use and dropped when empty: a JSC Map keeps
 * its table (about 1 KiB) even once emptied, and most connections sit idle between requests.
 */
export class StreamTable<S extends { readonly id: number }> {
  #map: Map<number, S> | null = null;

  get(id: number): S | undefined {
    return this.#map?.get(id);
  }

  add(stream: S): void {
    this.#map ??= new Map();
    this.#map.set(stream.id, stream);
  }

  remove(id: number): void {
    const map = this.#map;
    if (map === null) return;
    map.delete(id);
    if (map.size === 0) this.#map = null;
  }

  /** In insertion order; copy it before removing entries while iterating. */
  values(): Iterable<S> {
    return this.#map?.values() ?? NONE;
  }

  clear(): void {
    this.#map = null;
  }
}

const NONE: readonly never[] = [];
