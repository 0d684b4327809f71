/**
 * Which failed exchanges may be sent again. An upstream reports a request the origin did not
 * process by marking the error:
 * - refused (provably not processed): an HTTP/2 stream refused (REFUSED_STREAM) or above a
 *   GOAWAY's last stream id (RFC 9113 §8.7), or a stream the connection could no longer open;
 * - unprocessed (most likely not): those, and a reused HTTP/1.1 connection that closed before any
 *   byte of the response (RFC 9112 §9.3.1), where the origin may have acted on it after all.
 * The dispatcher sends a request without body once more, on another connection: an idempotent one
 * when unprocessed, any method when refused (RFC 9113 §8.7: even non-idempotent ones), as a
 * browser does; a body would have to be kept to be sent twice. An HTTP/2 client whose refused
 * request had a body gets RST_STREAM(REFUSED_STREAM), so it may send it again itself.
 */
import type { ProxyError } from "../../errors/proxy-error.ts";
import type { HeaderField } from "../hpack/types.ts";
import {
  type BodySink,
  type ByteSink,
  canUpgrade,
  type RequestHead,
  type Responder,
  type UpgradeResponder,
} from "./message.ts";

const unprocessed = new WeakSet<ProxyError>();
const refused = new WeakSet<ProxyError>();

/** Marks `err` as "the origin most likely did not process the request"; returns it. */
export function markUnprocessed(err: ProxyError): ProxyError {
  unprocessed.add(err);
  return err;
}

/** Marks `err` as "the origin provably did not process the request" (also unprocessed); returns it. */
export function markRefused(err: ProxyError): ProxyError {
  refused.add(err);
  unprocessed.add(err);
  return err;
}

export function isUnprocessed(err: ProxyError): boolean {
  return unprocessed.has(err);
}

export function isRefused(err: ProxyError): boolean {
  return refused.has(err);
}

/** RFC 9110 §9.2.2 idempotent methods a browser retries on its own. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** Whether a failure of the request may be answered by sending it again (it has no body). */
export function mayRetry(head: RequestHead): boolean {
  return head.bodyLength === null;
}

/**
 * A Responder that, on a failure before any response head that allows it (unprocessed for an
 * idempotent method, refused for any), calls `again` instead of failing (once: the retry gets
 * the plain `inner`).
 */
export function retryingResponder(inner: Responder, method: string, again: () => void): Responder {
  const idempotent = IDEMPOTENT.has(method);
  return canUpgrade(inner)
    ? new UpgradeRetryingResponder(inner, idempotent, again)
    : new RetryingResponder(inner, idempotent, again);
}

class RetryingResponder implements Responder {
  readonly #inner: Responder;
  readonly #idempotent: boolean;
  readonly #again: () => void;
  #headSeen = false;

  constructor(inner: Responder, idempotent: boolean, again: () => void) {
    this.#inner = inner;
    this.#idempotent = idempotent;
    this.#again = again;
  }

  interim(status: number, fields: HeaderField[]): void {
    this.#inner.interim(status, fields);
  }

  head(status: number, fields: HeaderField[], bodyless: boolean): BodySink {
    this.#headSeen = true;
    return this.#inner.head(status, fields, bodyless);
  }

  fail(err: ProxyError): void {
    if (!this.#headSeen && (this.#idempotent ? isUnprocessed(err) : isRefused(err)))
      queueMicrotask(this.#again);
    else this.#inner.fail(err);
  }
}

/** The same for a WebSocket handshake: the upgrade goes through to the client side. */
class UpgradeRetryingResponder extends RetryingResponder implements UpgradeResponder {
  readonly #upgradable: UpgradeResponder;

  constructor(inner: UpgradeResponder, idempotent: boolean, again: () => void) {
    super(inner, idempotent, again);
    this.#upgradable = inner;
  }

  upgrade(fields: HeaderField[], toUpstream: ByteSink): ByteSink {
    return this.#upgradable.upgrade(fields, toUpstream);
  }
}
