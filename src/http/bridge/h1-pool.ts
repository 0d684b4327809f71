/**
 * The HTTP/1.1 connections of one tunnel, as a browser keeps them per host: at most
 * MAX_H1_CONNECTIONS, one request at a time each, requests waiting in order for the next idle
 * connection. A connection is handed to a waiter synchronously, so it is busy before anyone else
 * looks; a finished connection is handed on in a microtask (outside the connection's own read
 * loop).
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { UpstreamH1 } from "./upstream-h1.ts";
import { UpstreamH2 } from "./upstream-h2.ts";

/** Browsers open at most 6 HTTP/1.1 connections per host (Chromium and Gecko defaults). */
export const MAX_H1_CONNECTIONS = 6;

/** Receives a connection to send one request on now, or why there is none. */
export type Waiter = (c: UpstreamH1 | UpstreamH2 | ProxyError) => void;

/** A waiter's request, which the client side may cancel while it waits. */
export interface Pending {
  readonly cancelled?: boolean;
}

const NOT_CANCELLABLE: Pending = {};

export class H1Pool {
  readonly #open: () => Promise<UpstreamH1 | UpstreamH2>;
  #conns: UpstreamH1[] = [];
  readonly #queue: Waiter[] = [];
  /** The request of each waiter, in step with #queue. */
  readonly #pending: Pending[] = [];
  #opening = 0;
  #closed = false;
  readonly #max: number;

  /**
   * `open` opens a connection and `add`s it when it is HTTP/1.1 (an origin may answer h2); at
   * most `max` connections at once.
   */
  constructor(open: () => Promise<UpstreamH1 | UpstreamH2>, max = MAX_H1_CONNECTIONS) {
    this.#open = open;
    this.#max = max;
  }

  get size(): number {
    return this.#conns.length;
  }

  add(c: UpstreamH1): void {
    this.#conns.push(c);
    const later = () => queueMicrotask(() => this.#serve());
    c.onIdle = later;
    c.onGone = later;
  }

  /** `pending` cancelled while waiting: the waiter is dropped, no connection opened for it. */
  take(w: Waiter, pending: Pending = NOT_CANCELLABLE): void {
    if (this.#closed) {
      w(new ProxyError("SHUTDOWN", "tunnel closed"));
      return;
    }
    this.#queue.push(w);
    this.#pending.push(pending);
    this.#serve();
  }

  close(): void {
    this.#closed = true;
    this.#pending.length = 0;
    for (const w of this.#queue.splice(0)) w(new ProxyError("SHUTDOWN", "tunnel closed"));
    for (const c of this.#conns.splice(0)) c.close();
  }

  /** The next waiter whose request is still wanted (cancelled ones are dropped). */
  #next(): Waiter | undefined {
    for (;;) {
      const w = this.#queue.shift();
      const p = this.#pending.shift();
      if (w === undefined || !p?.cancelled) return w;
    }
  }

  #dropCancelled(): void {
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      if (!this.#pending[i]?.cancelled) continue;
      this.#queue.splice(i, 1);
      this.#pending.splice(i, 1);
    }
  }

  #serve(): void {
    if (this.#closed) return;
    this.#conns = this.#conns.filter((c) => c.usable || c.busy);
    for (;;) {
      const idle = this.#conns.find((c) => c.usable && !c.busy);
      if (idle === undefined) break;
      const w = this.#next();
      if (w === undefined) return;
      w(idle);
    }
    this.#dropCancelled(); // no connection is opened for a request nobody wants
    while (this.#queue.length > this.#opening && this.#conns.length + this.#opening < this.#max) {
      this.#opening += 1;
      this.#open().then(
        (c) => {
          this.#opening -= 1;
          // The origin now speaks h2: every waiter can use that one connection.
          if (c instanceof UpstreamH2) {
            this.#pending.length = 0;
            for (const w of this.#queue.splice(0)) w(c);
          }
          this.#serve();
        },
        (err: unknown) => {
          this.#opening -= 1;
          this.#next()?.(ProxyError.wrap(err, "UPSTREAM_UNREACHABLE"));
          this.#serve();
        },
      );
    }
  }
}
