/**
 * The client connections the proxy can ask to finish when its drain begins (stop()): HTTP-mode
 * client sides, which then take no new request (HTTP/2 GOAWAY, HTTP/1.1 `Connection: close`),
 * answer those already taken and end, so that keep-alive clients leave within the drain instead
 * of being reset at its end. A byte relay cannot be asked: the drain's end aborts it.
 */

/** A client connection that can be asked to finish (its `drain` must not throw). */
export interface Drainable {
  drain(): void;
}

export class DrainSet {
  readonly #members = new Set<Drainable>();
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  /** Adds a connection until `delete`; one added once the drain began is asked at once. */
  add(d: Drainable): void {
    if (this.#draining) d.drain();
    else this.#members.add(d);
  }

  delete(d: Drainable): void {
    this.#members.delete(d);
  }

  /** Asks every member to finish (once; later calls do nothing). */
  drainAll(): void {
    if (this.#draining) return;
    this.#draining = true;
    const all = [...this.#members];
    this.#members.clear();
    for (const d of all) {
      try {
        d.drain();
      } catch {
        // one connection's failure must not keep the others from being asked
      }
    }
  }
}
