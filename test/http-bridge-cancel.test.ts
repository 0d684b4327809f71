/**
 * The cancel handle every dispatched request gets (DeferredSink) and the HTTP/1.1 pool's queue:
 * a request the client gave up while it waited is never sent and no connection is opened for it.
 * (The cancellation of exchanges in flight is end to end: test/http-e2e-h2-cancel.test.ts.)
 */
import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { DeferredSink } from "../src/http/bridge/deferred-sink.ts";
import { H1Pool } from "../src/http/bridge/h1-pool.ts";
import type { BodySink } from "../src/http/bridge/message.ts";
import type { UpstreamH1 } from "../src/http/bridge/upstream-h1.ts";

const gone = new ProxyError("IO", "client reset the stream");

function recordingSink(): BodySink & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    write: () => {
      calls.push("write");
      return true;
    },
    end: () => calls.push("end"),
    abort: (e) => calls.push(`abort ${e.code}`),
    onDrain: null,
  };
}

describe("DeferredSink as a cancel handle", () => {
  test("abort after end reaches the attached sink (the exchange is cancelled)", () => {
    const d = new DeferredSink();
    const target = recordingSink();
    d.attach(target);
    d.end(null);
    d.abort(gone);
    expect(target.calls).toEqual(["end", "abort IO"]);
    expect(d.cancelled).toBe(true);
  });

  test("aborted before attach: cancelled, and a late attach is aborted at once", () => {
    const d = new DeferredSink();
    d.end(null);
    expect(d.cancelled).toBe(false);
    d.abort(gone);
    expect(d.cancelled).toBe(true);
    const target = recordingSink();
    d.attach(target);
    expect(target.calls).toEqual(["abort IO"]);
  });
});

describe("DeferredSink drain", () => {
  test("a body held whole (end included) before attach still signals onDrain once replayed", () => {
    // The HTTP/2 client side grants the held bytes' window credit on this call.
    const d = new DeferredSink();
    let drained = 0;
    d.onDrain = () => drained++;
    expect(d.write(new Uint8Array(10))).toBe(false);
    d.end(null);
    const target = recordingSink();
    d.attach(target);
    expect(target.calls).toEqual(["write", "end"]);
    expect(drained).toBe(1);
  });
});

describe("H1Pool queue", () => {
  test("a waiter cancelled before a connection is free is dropped: nothing opened, never called", async () => {
    let opened = 0;
    const pool = new H1Pool(() => {
      opened++;
      return new Promise<UpstreamH1>(() => {}); // never opens: the test only counts
    });
    const called: string[] = [];
    const a = { cancelled: false };
    pool.take(() => called.push("a"), a);
    expect(opened).toBe(1);
    a.cancelled = true;
    const b = { cancelled: true };
    pool.take(() => called.push("b"), b); // serve runs: both dropped, no second open
    expect(opened).toBe(1);
    pool.take(() => called.push("d")); // takes the connection opening for a (b opened none)
    expect(opened).toBe(1);
    const c = { cancelled: false };
    pool.take(() => called.push("c"), c);
    expect(opened).toBe(2);
    pool.close();
    expect(called).toEqual(["d", "c"]); // SHUTDOWN reaches only the waiters still wanted
  });
});
