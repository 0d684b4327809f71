import { connect, type Socket } from "node:net";
import { H2ClientSession } from "../../src/http/h2/client-session.ts";
import type { PriorityFields } from "../../src/http/h2/frame-types.ts";
import type { H2ClientPlan, H2Event, HeaderField } from "../../src/http/h2/session-types.ts";
import { SettingId, settingValue } from "../../src/http/h2/settings.ts";
import { HpackDecoder, HpackEncoder, type HpackPolicy } from "../../src/http/hpack/index.ts";

export interface DriverRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: readonly HeaderField[];
  readonly body?: Uint8Array;
  readonly priority?: PriorityFields;
}

export interface DriverResponse {
  streamId: number;
  status: number;
  fields: HeaderField[];
  interim: { status: number; fields: HeaderField[] }[];
  body: Uint8Array;
  trailers: HeaderField[] | null;
  reset: { code: number; remote: boolean; retryable: boolean } | null;
}

interface Pending {
  readonly req: DriverRequest;
  readonly resolve: (r: DriverResponse) => void;
  readonly reject: (e: unknown) => void;
  res?: DriverResponse;
  chunks: Uint8Array[];
  bodyAt: number;
  bodyDone: boolean;
}

/**
 * Drives an `H2ClientSession` over a plain TCP socket (h2c): a tiny HTTP/2 client for the
 * interoperability tests. Request bodies are written as windows allow; every received DATA byte
 * is `consumed()` at once; requests wait for a free stream slot.
 */
export class H2SessionDriver {
  readonly session: H2ClientSession;
  readonly events: H2Event[] = [];
  /** Every byte written to the socket, in order. */
  readonly sent: Uint8Array[] = [];
  /** The most streams open at once. */
  peakActive = 0;
  private readonly socket: Socket;
  private readonly streams = new Map<number, Pending>();
  private readonly waiting: Pending[] = [];
  private settingsSeen = false;
  private readonly ready: Promise<void>;
  private markReady: () => void = () => {};
  private failure: unknown = null;

  constructor(
    port: number,
    plan: H2ClientPlan,
    policy: HpackPolicy,
    readonly authority = `127.0.0.1:${port}`,
  ) {
    this.session = new H2ClientSession({
      plan,
      encoder: new HpackEncoder(policy),
      // Our decoder accepts the table size our SETTINGS advertise (RFC 7541 §4.2).
      decoder: new HpackDecoder({
        maxTableSize: settingValue(plan.settings, SettingId.HEADER_TABLE_SIZE, 4096),
      }),
    });
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("data", (chunk: Buffer) => this.onEvents(this.session.receive(chunk)));
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(new Error("socket closed")));
    this.write(this.session.preface());
  }

  /** Resolves once the server's SETTINGS arrived. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  request(req: DriverRequest): Promise<DriverResponse> {
    return new Promise((resolve, reject) => {
      const p: Pending = { req, resolve, reject, chunks: [], bodyAt: 0, bodyDone: false };
      this.waiting.push(p);
      this.pump();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    for (const p of [...this.waiting, ...this.streams.values()]) p.reject(err);
    this.waiting.length = 0;
    this.streams.clear();
  }

  private write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.sent.push(bytes.slice());
    this.socket.write(bytes);
  }

  private flush(): void {
    this.write(this.session.takeOutput());
  }

  private onEvents(events: H2Event[]): void {
    for (const e of events) this.onEvent(e);
    this.pump();
  }

  private onEvent(e: H2Event): void {
    this.events.push(e);
    if (e.type === "settings" && !this.settingsSeen) {
      this.settingsSeen = true;
      this.markReady();
    }
    if (e.type === "connection-error") this.fail(e.error);
    if (!("streamId" in e)) return;
    const p = this.streams.get(e.streamId);
    const res = p?.res;
    if (!p || !res) return;
    switch (e.type) {
      case "headers":
        if (e.interim) res.interim.push({ status: e.status, fields: e.fields });
        else Object.assign(res, { status: e.status, fields: e.fields });
        break;
      case "data":
        p.chunks.push(e.data.slice());
        this.session.consumed(e.streamId, e.data.length);
        break;
      case "trailers":
        res.trailers = e.fields;
        break;
      case "end":
        this.finish(p, res);
        break;
      case "reset":
        res.reset = { code: e.code, remote: e.remote, retryable: e.retryable };
        this.finish(p, res);
        break;
      case "writable":
        break;
    }
  }

  private finish(p: Pending, res: DriverResponse): void {
    this.streams.delete(res.streamId);
    res.body = Buffer.concat(p.chunks);
    p.resolve(res);
  }

  /** Opens what the session allows, writes bodies as far as windows allow, flushes. */
  private pump(): void {
    if (!this.settingsSeen || this.failure) {
      this.flush();
      return;
    }
    while (this.waiting.length > 0) {
      const p = this.waiting[0] as Pending;
      const { req } = p;
      const fields: HeaderField[] = [
        [":method", req.method ?? "GET"],
        [":authority", this.authority],
        [":scheme", "http"],
        [":path", req.path],
        ...(req.headers ?? []),
      ];
      const body = req.body;
      const opened = this.session.openStream({
        fields,
        endStream: body === undefined,
        ...(req.priority ? { priority: req.priority } : {}),
      });
      if (!opened.ok) {
        if (opened.reason !== "concurrency-limit") {
          this.waiting.shift();
          p.reject(new Error(`openStream refused: ${opened.reason}`));
          continue;
        }
        break;
      }
      this.waiting.shift();
      p.res = {
        streamId: opened.streamId,
        status: 0,
        fields: [],
        interim: [],
        body: new Uint8Array(0),
        trailers: null,
        reset: null,
      };
      this.streams.set(opened.streamId, p);
      this.peakActive = Math.max(this.peakActive, this.session.activeStreams);
    }
    for (const [id, p] of this.streams) {
      const body = p.req.body;
      if (!body || p.bodyDone) continue;
      for (;;) {
        const rest = body.subarray(p.bodyAt);
        const n = this.session.writeData(id, rest, true);
        p.bodyAt += n;
        if (n === rest.length) {
          p.bodyDone = true; // END_STREAM went out with the last bytes
          break;
        }
        if (n === 0) break; // no window: a writable event brings us back
        this.flush(); // short because of the output bound
      }
    }
    this.flush();
  }
}
