/**
 * Copies bytes both ways between two endpoints until both are closed. Backpressure: when one
 * side's write buffer is full, the other side stops reading until it drains, so a slow reader
 * never makes the proxy buffer without bound. Half-close passes through (end on one side ends
 * the other's writing side; a truncated end is passed on as a truncation and recorded). An error
 * on either side, the idle timeout or the abort signal resets both.
 *
 * A paused side still sees a reset or error from its peer at once; its FIN once it reads again
 * (an accepted socket stops reading from the kernel while paused, native-socket.ts). A FIN queued
 * behind bytes the other side does not read cannot be seen by anyone until those bytes are read
 * (often it has not even left the peer: zero window); the idle timeout ends such a tunnel, since
 * no byte moves either way.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { Endpoint } from "./endpoint.ts";
import { idleWatch } from "./timeout.ts";

export interface RelayResult {
  /** Bytes from `a` to `b` and back. */
  aToB: number;
  bToA: number;
  error: ProxyError | null;
  /** Where the error came from: an endpoint, or the relay itself (idle timeout, abort). */
  errorFrom: "a" | "b" | "relay" | null;
}

export interface RelayOptions {
  /** No byte either way for this long → IDLE_TIMEOUT. */
  idleTimeoutMs?: number;
  /** Aborting ends the relay with SHUTDOWN. */
  signal?: AbortSignal;
}

export function relay(a: Endpoint, b: Endpoint, opts: RelayOptions = {}): Promise<RelayResult> {
  return new Promise((resolve) => {
    const result: RelayResult = { aToB: 0, bToA: 0, error: null, errorFrom: null };
    let closed = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      idle?.stop();
      opts.signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const note = (err: ProxyError, from: RelayResult["errorFrom"]) => {
      if (result.error) return;
      result.error = err;
      result.errorFrom = from;
    };
    const fail = (err: ProxyError, from: RelayResult["errorFrom"]) => {
      note(err, from);
      a.reset();
      b.reset();
      finish();
    };
    const onAbort = () => fail(new ProxyError("SHUTDOWN", "the proxy is stopping"), "relay");
    const idle =
      opts.idleTimeoutMs === undefined
        ? null
        : idleWatch(opts.idleTimeoutMs, () =>
            fail(new ProxyError("IDLE_TIMEOUT", `no byte either way for ${opts.idleTimeoutMs} ms`), "relay"),
          );
    const onClose = () => {
      closed += 1;
      if (closed === 2) finish();
    };
    // Which side finished sending first. A truncated end from a side whose peer had already
    // finished is how most servers close after the client does: nothing the peer was still
    // waiting for is lost, so it is not recorded as a failure (it is still passed on as is).
    const ended = { a: false, b: false };
    const wire = (from: Endpoint, to: Endpoint, side: "a" | "b", count: (n: number) => void) => {
      from.start({
        data(chunk) {
          idle?.touch();
          count(chunk.length);
          if (!to.write(chunk)) from.pause();
        },
        end: (truncation) => {
          idle?.touch();
          const peerDone = ended[side === "a" ? "b" : "a"];
          ended[side] = true;
          if (truncation && !peerDone) note(truncation, side);
          to.end(!truncation);
        },
        error: (err) => fail(err, side),
        drain: () => to.resume(),
        close: onClose,
      });
    };
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    wire(a, b, "a", (n) => {
      result.aToB += n;
    });
    wire(b, a, "b", (n) => {
      result.bToA += n;
    });
  });
}
