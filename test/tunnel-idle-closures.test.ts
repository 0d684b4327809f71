/**
 * What an idle HTTP-mode tunnel keeps is objects with methods, not closures: an owned idle watch
 * has `touch` on its prototype and calls its owner's `onIdle`; the client sides are their own
 * close handles; the dispatcher calls its deps as methods (a class with private fields here, so
 * an unbound call would throw) and is its HTTP/2 connection's owner (an origin's GOAWAY takes the
 * connection out of the tunnel, so closing the tunnel writes nothing more on it).
 */
import { describe, expect, test } from "bun:test";
import { serveClientH1 } from "../src/http/bridge/client-h1.ts";
import { serveClientH2 } from "../src/http/bridge/client-h2.ts";
import { TunnelDispatcher, type TunnelDispatcherDeps } from "../src/http/bridge/dispatcher.ts";
import type { Dispatcher } from "../src/http/bridge/message.ts";
import type { UpstreamH2 } from "../src/http/bridge/upstream-h2.ts";
import type { OpenedUpstream, UpstreamProtocol } from "../src/http/bridge/upstream-open.ts";
import { DEFAULT_REQUEST_LIMITS } from "../src/http/h1/request-head.ts";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import type { ProfileHttp } from "../src/profiles/http-types.ts";
import { parseAuthority } from "../src/proxy/authority.ts";
import type { SecureChannel } from "../src/proxy/secure-channel.ts";
import { watchIdle } from "../src/proxy/timeout.ts";
import { minimalH2Profile } from "./helpers/h2-fixtures.ts";
import { memoryEndpoint } from "./helpers/memory-endpoint.ts";

const MS = 60; // ms; short idle timeout for the test

/** Own properties of `o` that are functions (a closure per instance). */
function ownFunctions(o: object): string[] {
  return Object.entries(o)
    .filter(([, v]) => typeof v === "function")
    .map(([k]) => k);
}

const NO_DISPATCH: Dispatcher = {
  request: () => ({ write: () => true, end: () => {}, abort: () => {}, onDrain: null }),
  close() {},
};

describe("idle HTTP tunnel: methods, not closures", () => {
  test("an owned idle watch: touch on the prototype, the owner's onIdle once quiet", async () => {
    let idle = 0;
    let told = 0;
    const a = watchIdle(MS, {
      onIdle(ms) {
        idle++;
        told = ms;
      },
    });
    const b = watchIdle(MS, { onIdle() {} });
    b.stop();
    expect(Object.hasOwn(a, "touch")).toBe(false);
    expect(ownFunctions(a)).toEqual([]);
    expect(a.touch).toBe(b.touch);
    for (let i = 0; i < 40 && idle === 0; i++) await Bun.sleep(MS / 4);
    expect(idle).toBe(1);
    expect(told).toBe(MS);
    await Bun.sleep(MS * 2);
    expect(idle).toBe(1);
  });

  test("the client sides are their own close handles, no wrapper per connection", () => {
    const target = parseAuthority("example.test:443");
    const h2 = [0, 1].map(() =>
      serveClientH2(memoryEndpoint(), {
        target,
        dispatcher: NO_DISPATCH,
        maxConcurrentStreams: 100,
        maxHeaderListSize: 65536,
        onExchange() {},
        onClose() {},
      }),
    );
    const h1 = [0, 1].map(() =>
      serveClientH1(memoryEndpoint(), {
        target,
        dispatcher: NO_DISPATCH,
        limits: DEFAULT_REQUEST_LIMITS,
        onExchange() {},
        onClose() {},
      }),
    );
    for (const [x, y] of [h2, h1] as const) {
      expect(x?.close).toBe(y?.close as () => void);
      expect(ownFunctions(x as object)).toEqual([]);
      x?.close();
      y?.close();
    }
  });

  test("the dispatcher calls its deps as methods and owns its HTTP/2 connection", () => {
    class Deps implements TunnelDispatcherDeps {
      readonly http = { http2: minimalH2Profile() } as unknown as ProfileHttp;
      readonly authority = "example.test";
      readonly keepClient = new Set<string>();
      readonly #seen: UpstreamProtocol[] = [];
      open(): Promise<OpenedUpstream> {
        return new Promise(() => {});
      }
      onUpstream(protocol: UpstreamProtocol): void {
        this.#seen.push(protocol);
      }
      get seen(): UpstreamProtocol[] {
        return this.#seen;
      }
    }
    const deps = new Deps();
    const ep = memoryEndpoint();
    const first = { channel: {} as SecureChannel, info: {}, protocol: "h2" } as OpenedUpstream;
    const dispatcher = new TunnelDispatcher(deps, first, ep);
    expect(deps.seen).toEqual(["h2"]);
    const up = (ep.handlers as unknown as { c: UpstreamH2 }).c;
    expect(up.owner).toBe(dispatcher);
    expect(ownFunctions(up)).toEqual([]);
    expect(ownFunctions(dispatcher)).toEqual([]);
    ep.handlers?.data(encodeFrame({ type: "SETTINGS", ack: false, settings: [] }));
    ep.handlers?.data(encodeFrame({ type: "GOAWAY", lastStreamId: 0, code: 0, debug: new Uint8Array(0) }));
    // No stream open at the origin's GOAWAY: the connection is closed at once (our GOAWAY, then
    // end), and closing the tunnel afterwards sends nothing more.
    expect(up.closed).toBe(true);
    expect(ep.ended).toBe(true);
    const writes = ep.writes;
    dispatcher.close();
    expect(ep.writes).toBe(writes);
  });
});
