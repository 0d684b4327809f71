/**
 * Which failed exchanges may be sent again. An upstream reports a request it provably did not
 * process by marking the error: an HTTP/2 stream refused (REFUSED_STREAM) or above a GOAWAY's
 * last stream id (RFC 9113 §8.7), a stream the connection could no longer open, or a reused
 * HTTP/1.1 connection that closed before any byte of the response (RFC 9112 §9.3.1). The
 * dispatcher sends such a request once more, on another connection, when it is idempotent and
 * has no body (a browser does the same; a body would have to be kept to be sent twice).
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

/** Marks `err` as "the origin did not process the request"; returns it. */
export function markUnprocessed(err: ProxyError): ProxyError {
  unprocessed.add(err);
  return err;
}

export function isUnprocessed(err: ProxyError): boolean {
  return unprocessed.has(err);
}

/** RFC 9110 §9.2.2 idempotent methods a browser retries on its own. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

export function mayRetry(head: RequestHead): boolean {
  return head.bodyLength === null && IDEMPOTENT.has(head.method);
}

/**
 * A Responder that, on an unprocessed failure before any response head, calls `again` instead
 * of failing (once: the retry gets the plain `inner`).
 */
export function retryingResponder(inner: Responder, again: () => void): Responder {
  return canUpgrade(inner) ? new UpgradeRetryingResponder(inner, again) : new RetryingResponder(inner, again);
}

class RetryingResponder implements Responder {
  readonly #inner: Responder;
  readonly #again: () => void;
  #headSeen = false;

  constructor(inner: Responder, again: () => void) {
    this.#inner = inner;
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
    if (!this.#headSeen && isUnprocessed(err)) queueMicrotask(this.#again);
    else this.#inner.fail(err);
  }
}

/** The same for a WebSocket handshake: the upgrade goes through to the client side. */
class UpgradeRetryingResponder extends RetryingResponder implements UpgradeResponder {
  readonly #upgradable: UpgradeResponder;

  constructor(inner: UpgradeResponder, again: () => void) {
    super(inner, again);
    this.#upgradable = inner;
  }

  upgrade(fields: HeaderField[], toUpstream: ByteSink): ByteSink {
    return this.#upgradable.upgrade(fields, toUpstream);
  }
}
