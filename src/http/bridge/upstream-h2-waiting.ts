/**
 * The requests an upstream HTTP/2 connection holds until it may open their streams (the origin's
 * SETTINGS not read yet, or its MAX_CONCURRENT_STREAMS reached), in arrival order. A client may
 * give requests up while they wait (each is then skipped when released): the queue is swept of
 * them as it grows, so it stays at about what is live.
 */

import type { RequestLink, Responder } from "./message.ts";
import type { H2Request } from "./upstream-h2.ts";

/** A request waiting for stream capacity. */
export interface Waiting {
  readonly req: H2Request;
  readonly responder: Responder;
  readonly link: RequestLink;
}

/** Waiting requests kept before cancelled ones are swept out (then twice what is left). */
const SWEEP_MIN = 64;

export class WaitQueue {
  /** Made on first use: most connections never wait. */
  #list: Waiting[] | null = null;
  /** The list is swept of cancelled requests when it grows past this length. */
  #sweepAt = SWEEP_MIN;

  push(w: Waiting): void {
    this.#list ??= [];
    const list = this.#list;
    list.push(w);
    if (list.length < this.#sweepAt) return;
    this.#list = list.filter((x) => !x.link.cancelled);
    this.#sweepAt = Math.max(SWEEP_MIN, 2 * this.#list.length);
  }

  /** Every waiting request, in order, taken out of the queue (null: none). */
  take(): Waiting[] | null {
    const list = this.#list;
    this.#list = null;
    this.#sweepAt = SWEEP_MIN;
    return list;
  }
}
