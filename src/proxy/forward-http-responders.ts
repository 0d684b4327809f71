/**
 * Responder helpers of the plain-HTTP forwarder: a local error answer given through a Responder
 * (so it keeps the connection's order and framing, and a 407 carries its challenge), and a
 * wrapper that reports once when an exchange is over (for the per-origin connection pools).
 */
import type { ProxyError } from "../errors/proxy-error.ts";
import { errorParts } from "../errors/wire.ts";
import type { Responder } from "../http/bridge/message.ts";

/**
 * Answers `err` as a response (status per src/errors/wire.ts, its challenge or Retry-After, a
 * short text body). The client connection stays open: a request body still coming is read and
 * dropped by the client side.
 */
export function answerError(r: Responder, err: ProxyError): void {
  const { status, fields, body } = errorParts(err);
  const bytes = new TextEncoder().encode(body);
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
