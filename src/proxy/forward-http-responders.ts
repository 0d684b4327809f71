/**
 * Responder helpers of the plain-HTTP forwarder: a local error answer given through a Responder
 * (so it keeps the connection's order and framing, and a 407 carries its challenge), and a
 * wrapper that reports once when an exchange is over (for the per-origin connection pools).
 */
import type { ProxyError } from "../errors/proxy-error.ts";
import { errorParts } from "../errors/wire.ts";
import { answerBody } from "../http/bridge/client-h1-queue.ts";
import type { Responder } from "../http/bridge/message.ts";

/**
 * Answers `err` as a response (status per src/errors/wire.ts, a short text body naming its code).
 * Most go as the client side's own error answers (`fail`: counted in the log line's
 * exchangeErrors; a request body still coming closes the connection). One that carries a
 * challenge or Retry-After (407, 429, 503) goes as a response head with those fields, the client
 * connection staying open (a request body still coming is read and dropped): the client may send
 * the request again on it.
 */
export function answerError(r: Responder, err: ProxyError): void {
  const { status, fields } = errorParts(err);
  if (fields.length === 0) {
    r.fail(err);
    return;
  }
  const bytes = new TextEncoder().encode(answerBody(status, err));
  const head: [string, string][] = [
    ["content-type", "text/plain; charset=utf-8"],
    ["content-length", String(bytes.length)],
    ...fields.map(([n, v]): [string, string] => [n.toLowerCase(), v]),
  ];
  const sink = r.head(status, head, false);
  sink.write(bytes);
  sink.end(null);
}

/** `inner`, calling `done` once when the exchange is over: failed, bodyless, or its body ended or aborted. */
export function settling(inner: Responder, done: () => void): Responder {
  let settled = false;
  const once = () => {
    if (settled) return;
    settled = true;
    done();
  };
  return {
    interim: (status, fields) => inner.interim(status, fields),
    head(status, fields, bodyless) {
      const sink = inner.head(status, fields, bodyless);
      if (bodyless) {
        once();
        return sink;
      }
      return {
        write: (chunk) => sink.write(chunk),
        end(trailers) {
          sink.end(trailers);
          once();
        },
        abort(err: ProxyError) {
          sink.abort(err);
          once();
        },
        get onDrain() {
          return sink.onDrain;
        },
        set onDrain(f) {
          sink.onDrain = f;
        },
      };
    },
    fail(err) {
      inner.fail(err);
      once();
    },
  };
}
