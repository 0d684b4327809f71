/**
 * A raw HTTP/2 client through the proxy for requests a real client library refuses to send
 * (CR / LF / NUL in values, `:protocol` without the setting): the session state machine of
 * src/http/h2/ over a TLS socket tunnelled with CONNECT. The server side under test (the proxy's
 * client-facing HTTP/2) is not ours; this only frames bytes.
 */
import type * as tls from "node:tls";
import { H2ClientSession } from "../../src/http/h2/client-session.ts";
import type { H2Event, HeaderField } from "../../src/http/h2/session-types.ts";
import { CHROME_HPACK_POLICY, HpackDecoder, HpackEncoder } from "../../src/http/hpack/index.ts";
import { tlsThroughProxy } from "./proxy-env.ts";
import { waitUntil } from "./wait.ts";

export interface RawResponse {
  /** 0 when the stream was reset (or the connection went away) before a final head. */
  status: number;
  reset: boolean;
  goaway: boolean;
  body: Uint8Array;
}

export interface RawH2 {
  events: H2Event[];
  /** DATA bytes received so far (kept in `events` only when `keepBody`). */
  received(): number;
  /** Stops / resumes reading the socket (a slow client). */
  pause(): void;
  resume(): void;
  /** Opens a stream without waiting for its end; returns its id. */
  start(fields: HeaderField[]): number;
  /** Resets a stream (CANCEL), as a client giving up on it. */
  reset(streamId: number): void;
  request(fields: HeaderField[], body?: Uint8Array): Promise<RawResponse>;
  close(): void;
}

export async function connect(
  proxyPort: number,
  authority: string,
  ca: string,
  opts: { keepBody?: boolean } = {},
): Promise<RawH2> {
  const t: tls.TLSSocket = await tlsThroughProxy(proxyPort, authority, {
    ca,
    servername: "localhost",
    alpn: ["h2"],
  });
  const session = new H2ClientSession({
    plan: { settings: [], connectionWindowIncrement: 0, priorityFrames: [], firstStreamId: 1 },
    encoder: new HpackEncoder(CHROME_HPACK_POLICY),
    decoder: new HpackDecoder(),
  });
  const events: H2Event[] = [];
  let gone = false;
  let received = 0;
  const keep = opts.keepBody ?? true;
  t.on("data", (d: Buffer) => {
    for (const ev of session.receive(d)) {
      if (ev.type === "data") {
        received += ev.data.length;
        session.consumed(ev.streamId, ev.data.length);
        if (!keep) continue;
      }
      events.push(ev);
    }
    const out = session.takeOutput();
    if (out.length > 0) t.write(out);
  });
  t.on("error", () => {});
  t.on("close", () => {
    gone = true;
  });
  t.write(session.preface());
  return {
    events,
    received: () => received,
    pause: () => t.pause(),
    resume: () => t.resume(),
    start(fields) {
      const r = session.openStream({ fields, endStream: true });
      if (!r.ok) throw new Error(`stream not opened: ${r.reason}`);
      t.write(session.takeOutput());
      return r.streamId;
    },
    reset(streamId) {
      session.resetStream(streamId);
      t.write(session.takeOutput());
    },
    async request(fields, body) {
      const r = session.openStream({ fields, endStream: body === undefined });
      if (!r.ok) throw new Error(`stream not opened: ${r.reason}`);
      if (body !== undefined) session.writeData(r.streamId, body, true);
      t.write(session.takeOutput());
      const id = r.streamId;
      const mine = (e: H2Event) => "streamId" in e && e.streamId === id;
      const over = () =>
        gone ||
        events.some((e) => e.type === "goaway" || (mine(e) && (e.type === "end" || e.type === "reset")));
      await waitUntil(over, `stream ${id} to end`);
      const head = events.find((e) => mine(e) && e.type === "headers" && !e.interim);
      const chunks = events
        .filter((e) => mine(e) && e.type === "data")
        .map((e) => (e.type === "data" ? e.data : []));
      return {
        status: head?.type === "headers" ? head.status : 0,
        reset: events.some((e) => mine(e) && e.type === "reset"),
        goaway: events.some((e) => e.type === "goaway"),
        body: Buffer.concat(chunks.map((c) => Buffer.from(c))),
      };
    },
    close: () => t.destroy(),
  };
}
