/**
 * Copies bytes both ways between two endpoints until both are closed. Backpressure: when one
 * side's write buffer is full, the other side stops reading until it drains, so a slow reader
 * never makes the proxy buffer without bound. Half-close passes through (end on one side ends
 * the other's writing side); an error on either side destroys both.
 */
import type { ProxyError } from "../errors/proxy-error.ts";
import type { Endpoint } from "./endpoint.ts";

export interface RelayResult {
  /** Bytes from `a` to `b` and back. */
  aToB: number;
  bToA: number;
  error: ProxyError | null;
}

export function relay(a: Endpoint, b: Endpoint): Promise<RelayResult> {
  return new Promise((resolve) => {
    const result: RelayResult = { aToB: 0, bToA: 0, error: null };
    let closed = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(result);
    };
    const fail = (err: ProxyError) => {
      result.error ??= err;
      a.destroy();
      b.destroy();
      finish();
    };
    const onClose = () => {
      closed += 1;
      if (closed === 2) finish();
    };
    const wire = (from: Endpoint, to: Endpoint, count: (n: number) => void) => {
      from.start({
        data(chunk) {
          count(chunk.length);
          if (!to.write(chunk)) from.pause();
        },
        end: () => to.end(),
        error: fail,
        drain: () => to.resume(),
        close: onClose,
      });
    };
    wire(a, b, (n) => {
      result.aToB += n;
    });
    wire(b, a, (n) => {
      result.bToA += n;
    });
  });
}
