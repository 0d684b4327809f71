/**
 * The sink an upstream connection attaches for a request without body: nothing to write, but its
 * `abort` cancels the exchange (the client reset its stream or went away), so the origin stops
 * sending a response nobody will read. One small object per request, no closures.
 */
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { BodySink } from "./message.ts";

/** A connection that can give up one of its exchanges, named by `key`. */
export interface Cancellable<K> {
  cancel(key: K, err: ProxyError): void;
}

export class CancelSink<K> implements BodySink {
  readonly #owner: Cancellable<K>;
  readonly #key: K;
  onDrain: (() => void) | null = null;

  constructor(owner: Cancellable<K>, key: K) {
    this.#owner = owner;
    this.#key = key;
  }

  write(): boolean {
    return true;
  }

  end(): void {}

  abort(err: ProxyError): void {
    this.#owner.cancel(this.#key, err);
  }
}
