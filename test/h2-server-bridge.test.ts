/**
 * serveClientH2 as an adapter (src/http/bridge/client-h2.ts): request backpressure through the
 * windows, response backpressure through the socket, resets both ways, local answers, the end of
 * the connection, and the exchange counts the tunnel reports.
 */
import { describe, expect, test } from "bun:test";
import { ProxyError } from "../src/errors/proxy-error.ts";
import { H2ErrorCode } from "../src/http/h2/errors.ts";
import { encodeFrame } from "../src/http/h2/frame-writer.ts";
import { Bridge, req } from "./helpers/h2-server-bridge.ts";

const bytes = (n: number) => new Uint8Array(n).fill(7);
const text = (s: string) => new TextEncoder().encode(s);

describe("the HTTP/2 client side over an endpoint", () => {
  test("a request body is granted back only as the dispatcher's sink takes it", () => {
    const b = new Bridge();
    b.headers(1, req("POST", "/up"), false);
    const seen = b.seen[0];
    if (!seen) throw new Error("not dispatched");
    expect(seen.head).toMatchObject({ method: "POST", path: "/up", bodyLength: -1, clientProtocol: "h2" });
    seen.accept = false;
    b.data(1, bytes(16_000));
    b.data(1, bytes(16_000));
    b.data(1, bytes(16_000));
    expect(b.of("WINDOW_UPDATE", 1)).toEqual([]);
    expect(seen.body.reduce((n, c) => n + c.length, 0)).toBe(48_000); // delivered, not granted
    seen.accept = true;
    seen.sink.onDrain?.();
    expect(b.of("WINDOW_UPDATE", 1).map((f) => f.increment)).toEqual([48_000]);
    b.data(1, bytes(10), true);
    expect(seen.ended).toBe(true);
  });

  test("a full socket stops the response producer and the reading of client frames until it drains", () => {
    const b = new Bridge();
    b.headers(1, req("GET", "/"), true);
    const seen = b.seen[0];
    if (!seen) throw new Error("not dispatched");
    const sink = seen.responder.head(200, [["content-type", "text/plain"]], false);
    let drained = 0;
    sink.onDrain = () => drained++;
    b.full = true;
    expect(sink.write(text("abc"))).toBe(false);
    expect(b.paused).toBe(true);
    b.full = false;
    b.handlers.drain();
    expect(b.paused).toBe(false);
    expect(drained).toBe(1);
    sink.end([["x-sum", "1"]]);
    const last = b.of("HEADERS", 1).at(-1);
    expect(last?.endStream).toBe(true);
    expect(last?.fields).toEqual([["x-sum", "1"]]);
    expect(b.exchanges).toEqual([200]);
  });

  test("response bytes beyond the client's window wait; onDrain once its WINDOW_UPDATE arrives", () => {
    const b = new Bridge();
    b.headers(1, req("GET", "/"), true);
    const sink = b.seen[0]?.responder.head(200, [], false);
    if (!sink) throw new Error("no sink");
    let drained = 0;
    sink.onDrain = () => drained++;
    expect(sink.write(bytes(70_000))).toBe(false);
    expect(b.of("DATA", 1).reduce((n, f) => n + f.data.length, 0)).toBe(65_535);
    b.send(encodeFrame({ type: "WINDOW_UPDATE", streamId: 0, increment: 10_000 }));
    expect(drained).toBe(0);
    b.send(encodeFrame({ type: "WINDOW_UPDATE", streamId: 1, increment: 10_000 }));
    expect(drained).toBe(1);
    expect(b.of("DATA", 1).reduce((n, f) => n + f.data.length, 0)).toBe(70_000);
    sink.end(null);
    expect(b.of("DATA", 1).at(-1)).toMatchObject({ endStream: true, data: new Uint8Array(0) });
  });

  test("the client's RST_STREAM aborts the request; the responder goes quiet; counted 0 after the head", () => {
    const b = new Bridge();
    b.headers(1, req("POST", "/"), false);
    const seen = b.seen[0];
    if (!seen) throw new Error("not dispatched");
    const sink = seen.responder.head(200, [], false);
    b.send(encodeFrame({ type: "RST_STREAM", streamId: 1, code: H2ErrorCode.CANCEL }));
    expect(seen.aborted?.code).toBe("IO");
    expect(sink.write(text("late"))).toBe(true);
    sink.end(null);
    expect(b.of("DATA", 1)).toEqual([]);
    expect(b.exchanges).toEqual([0]);
  });

  test("an upstream failure before the head is an error status with a text body; after it a reset", () => {
    const b = new Bridge();
    b.headers(1, req("GET", "/a"), true);
    b.headers(3, req("GET", "/b"), true);
    const [one, two] = b.seen;
    one?.responder.fail(new ProxyError("UPSTREAM_UNREACHABLE", "no route"));
    expect(b.of("HEADERS", 1)[0]?.fields?.slice(0, 2)).toEqual([
      [":status", "502"],
      ["content-type", "text/plain; charset=utf-8"],
    ]);
    expect(new TextDecoder().decode(b.of("DATA", 1)[0]?.data)).toBe(
      "502 Bad Gateway: UPSTREAM_UNREACHABLE: no route\n",
    );
    two?.responder.head(200, [], false).write(text("part"));
    two?.responder.fail(new ProxyError("UPSTREAM_TRUNCATED", "cut"));
    expect(b.of("RST_STREAM", 3)).toMatchObject([{ code: H2ErrorCode.INTERNAL_ERROR }]);
    expect(b.of("DATA", 3).some((f) => f.endStream)).toBe(false);
    expect(b.exchanges).toEqual([502, 0]);
  });

  test("CONNECT, :protocol, another authority and an oversized head are answered locally", () => {
    const b = new Bridge({ maxHeaderListSize: 1024 });
    b.headers(
      1,
      [
        [":method", "CONNECT"],
        [":authority", "example.test:443"],
      ],
      false,
    );
    b.headers(3, req("GET", "/ws", [[":protocol", "websocket"]]), false);
    b.headers(5, req("GET", "/", [], "other.test"), true);
    b.headers(7, req("GET", "/", [["x-big", "a".repeat(2000)]]), true);
    b.headers(9, req("GET", "/", [], "example.test:443"), true);
    const status = (id: number) => b.of("HEADERS", id)[0]?.fields?.[0]?.[1];
    expect([status(1), status(3), status(5), status(7)]).toEqual(["405", "405", "421", "431"]);
    expect(b.seen.map((s) => s.head.path)).toEqual(["/"]);
    expect(b.exchanges).toEqual([405, 405, 421, 431]);
  });

  test("Expect: 100-continue on a request with a body is answered 100 at once", () => {
    const b = new Bridge();
    b.headers(1, req("POST", "/up", [["expect", "100-continue"]]), false);
    b.headers(3, req("GET", "/", [["expect", "100-continue"]]), true);
    expect(b.of("HEADERS", 1).map((f) => f.fields)).toEqual([[[":status", "100"]]]);
    expect(b.of("HEADERS", 3)).toEqual([]);
  });

  test("a bodyless response ends on its HEADERS; 1xx heads come first", () => {
    const b = new Bridge();
    b.headers(1, req("HEAD", "/"), true);
    const r = b.seen[0]?.responder;
    r?.interim(103, [["link", "</a>"]]);
    r?.head(
      200,
      [
        ["content-length", "10"],
        ["connection", "close"],
        ["keep-alive", "5"],
      ],
      true,
    );
    expect(b.of("HEADERS", 1).map((f) => [f.endStream, f.fields])).toEqual([
      [
        false,
        [
          [":status", "103"],
          ["link", "</a>"],
        ],
      ],
      [
        true,
        [
          [":status", "200"],
          ["content-length", "10"],
        ],
      ],
    ]);
  });

  test("when the client ends its side, unanswered streams are cancelled, answered ones finish, then our side ends; onClose once it closes", () => {
    const b = new Bridge();
    b.headers(1, req("GET", "/"), true);
    b.headers(3, req("POST", "/"), false);
    b.headers(5, req("GET", "/answered"), true);
    const sink = b.seen[2]?.responder.head(200, [], false);
    b.handlers.end();
    expect(b.seen[0]?.aborted?.code).toBe("IO"); // no answer yet: the client gave it up
    expect(b.seen[1]?.aborted?.code).toBe("IO"); // its body can never complete
    expect(b.seen[2]?.aborted).toBeNull(); // its response is on its way
    expect(b.of("RST_STREAM").map((f) => f.streamId)).toEqual([1, 3]);
    expect(b.ended).toBe(false);
    sink?.end(null);
    expect(b.ended).toBe(true);
    expect(b.closed).toBeUndefined();
    b.handlers.close();
    expect(b.closed).toBeNull();
  });

  test("a connection error: GOAWAY, every exchange abandoned, our side ended, the error reported", () => {
    const b = new Bridge();
    b.headers(1, req("POST", "/"), false);
    b.send(
      encodeFrame({
        type: "PUSH_PROMISE",
        streamId: 1,
        endHeaders: true,
        promisedStreamId: 2,
        block: new Uint8Array(0),
      }),
    );
    expect(b.of("GOAWAY")).toMatchObject([{ code: H2ErrorCode.PROTOCOL_ERROR, lastStreamId: 1 }]);
    expect(b.seen[0]?.aborted).not.toBeNull();
    expect(b.ended).toBe(true);
    b.handlers.close();
    expect(b.closed?.code).toBe("HTTP_PROTOCOL");
  });
});
