import { H2ClientSession } from "../../src/http/h2/client-session.ts";
import { FrameReader } from "../../src/http/h2/frame-reader.ts";
import { CLIENT_MAGIC, type Frame, type Setting } from "../../src/http/h2/frame-types.ts";
import { concatBytes, encodeFrame, encodeHeaderBlock } from "../../src/http/h2/frame-writer.ts";
import type { H2ClientPlan, H2Event, HeaderField } from "../../src/http/h2/session-types.ts";
import { SettingId, settingValue } from "../../src/http/h2/settings.ts";
import { CHROME_HPACK_POLICY, HpackDecoder, HpackEncoder } from "../../src/http/hpack/index.ts";

/** A small plan for unit tests: default windows (65535), stream 1 first. */
export const SMALL_PLAN: H2ClientPlan = {
  settings: [[2, 0]],
  connectionWindowIncrement: 0,
  priorityFrames: [],
  firstStreamId: 1,
};

/** An encoder that counts its calls, around the real HPACK encoder. */
export class SpyEncoder {
  readonly inner = new HpackEncoder(CHROME_HPACK_POLICY);
  encodes = 0;
  readonly tableSizes: number[] = [];
  setMaxTableSize(n: number): void {
    this.tableSizes.push(n);
    this.inner.setMaxTableSize(n);
  }
  encode(fields: readonly HeaderField[]): Uint8Array {
    this.encodes++;
    return this.inner.encode(fields);
  }
}

/**
 * The server side of a session under test, scripted by hand: it encodes frames (with its own HPACK
 * encoder for response blocks) and reads back what the client sent.
 */
export class ScriptedPeer {
  readonly encoder = new SpyEncoder();
  readonly session: H2ClientSession;
  readonly serverHpack = new HpackEncoder(CHROME_HPACK_POLICY);
  private readonly clientHpack = new HpackDecoder();
  private readonly reader = new FrameReader();

  constructor(plan: H2ClientPlan = SMALL_PLAN, maxQueuedOutput?: number) {
    this.session = new H2ClientSession({
      plan,
      encoder: this.encoder,
      // Our decoder accepts the table size our SETTINGS advertise (RFC 7541 §4.2).
      decoder: new HpackDecoder({
        maxTableSize: settingValue(plan.settings, SettingId.HEADER_TABLE_SIZE, 4096),
      }),
      ...(maxQueuedOutput === undefined ? {} : { maxQueuedOutput }),
    });
    this.reader.setMaxFrameSize(0xffffff);
    const preface = this.session.preface();
    if (
      Buffer.compare(Buffer.from(preface.subarray(0, CLIENT_MAGIC.length)), Buffer.from(CLIENT_MAGIC)) !== 0
    ) {
      throw new Error("preface does not start with the magic");
    }
    this.reader.push(preface.subarray(CLIENT_MAGIC.length));
  }

  /** Sends server frames; returns the session's events. */
  send(...frames: (Frame | Uint8Array)[]): H2Event[] {
    return this.session.receive(
      concatBytes(frames.map((f) => (f instanceof Uint8Array ? f : encodeFrame(f)))),
    );
  }

  /** Server SETTINGS (default: empty). */
  settings(settings: Setting[] = []): H2Event[] {
    return this.send({ type: "SETTINGS", ack: false, settings });
  }

  /** A response field block as HEADERS (+ CONTINUATION) bytes. */
  headers(streamId: number, fields: HeaderField[], endStream: boolean, maxFrameSize = 16384): Uint8Array {
    return encodeHeaderBlock(streamId, this.serverHpack.encode(fields), { endStream }, maxFrameSize);
  }

  data(streamId: number, data: Uint8Array | string, endStream: boolean): Frame {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return { type: "DATA", streamId, endStream, data: bytes };
  }

  /** Frames the client has sent since the last call (the preface's first, magic stripped). */
  clientFrames(): Frame[] {
    this.reader.push(this.session.takeOutput());
    const frames: Frame[] = [];
    for (let f = this.reader.next(); f !== null; f = this.reader.next()) frames.push(f);
    return frames;
  }

  /** Decodes a client field block (keeps the server's HPACK decoder in step). */
  decodeClient(block: Uint8Array): HeaderField[] {
    return this.clientHpack.decode(block);
  }
}
