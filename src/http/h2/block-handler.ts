import type { ConnectionState } from "./connection-state.ts";
import { connectionError, H2ErrorCode, streamError } from "./errors.ts";
import type { PriorityFields } from "./frame-types.ts";
import { checkResponseFields, checkTrailerFields, headerListSize } from "./response-fields.ts";
import type { H2HeaderDecoder, HeaderField } from "./session-types.ts";
import type { ClientStream } from "./stream-state.ts";

const { PROTOCOL_ERROR, STREAM_CLOSED } = H2ErrorCode;

/**
 * Applies a complete received field block: decodes it first, always, so the HPACK context stays in
 * step with the peer's even when the stream is gone (RFC 9113 §4.3), then treats it as response
 * headers (1xx interim or final) or trailers per RFC 9113 §8.1.
 */
export class BlockHandler {
  constructor(
    private readonly s: ConnectionState,
    private readonly decoder: H2HeaderDecoder,
  ) {}

  /** `block` is the whole field block (HEADERS + CONTINUATION payloads joined). */
  onBlock(
    streamId: number,
    block: Uint8Array,
    endStream: boolean,
    priority: PriorityFields | undefined,
  ): void {
    const fields = this.decode(block);
    const s = this.s;
    const stream = s.live(streamId);
    if (!stream) {
      const reason = s.closedReason(streamId);
      if (reason === "ended" || reason === "reset-remote") {
        s.queueControl({ type: "RST_STREAM", streamId, code: STREAM_CLOSED });
      }
      return;
    }
    if (priority && priority.dependency === streamId) {
      throw streamError(PROTOCOL_ERROR, streamId, "stream depends on itself (§5.3.1)");
    }
    if (stream.remoteClosed) throw streamError(STREAM_CLOSED, streamId, "HEADERS after END_STREAM");
    const size = headerListSize(fields);
    if (size > s.localMaxHeaderList) {
      throw streamError(
        PROTOCOL_ERROR,
        streamId,
        `header list of ${size} bytes exceeds ${s.localMaxHeaderList}`,
      );
    }
    if (stream.phase === "awaiting") this.onResponse(stream, fields, endStream);
    else this.onTrailers(stream, fields, endStream);
  }

  private decode(block: Uint8Array): HeaderField[] {
    try {
      return this.decoder.decode(block);
    } catch (err) {
      throw connectionError(H2ErrorCode.COMPRESSION_ERROR, "field block does not decode", { cause: err });
    }
  }

  private onResponse(stream: ClientStream, fields: HeaderField[], endStream: boolean): void {
    const head = checkResponseFields(fields, stream.id);
    const s = this.s;
    if (head.status < 200) {
      // §8.1: a 1xx never ends the stream; 101 does not exist in HTTP/2 (§8.6).
      if (endStream) throw streamError(PROTOCOL_ERROR, stream.id, `${head.status} response with END_STREAM`);
      if (head.status === 101) throw streamError(PROTOCOL_ERROR, stream.id, "101 response in HTTP/2");
      s.events.push({ type: "headers", streamId: stream.id, status: head.status, interim: true, fields });
      return;
    }
    // A response that has no content (HEAD, 204, 304) may carry any content-length (§8.1.1).
    const noContent = stream.headRequest || head.status === 204 || head.status === 304;
    stream.contentLength = noContent ? 0 : head.contentLength;
    if (endStream && !noContent && head.contentLength !== null && head.contentLength !== 0) {
      throw streamError(PROTOCOL_ERROR, stream.id, `content-length ${head.contentLength} with no body`);
    }
    stream.phase = "body";
    s.events.push({ type: "headers", streamId: stream.id, status: head.status, interim: false, fields });
    if (endStream) this.end(stream);
  }

  private onTrailers(stream: ClientStream, fields: HeaderField[], endStream: boolean): void {
    if (!endStream) throw streamError(PROTOCOL_ERROR, stream.id, "trailers without END_STREAM");
    checkTrailerFields(fields, stream.id);
    if (stream.contentLength !== null && stream.bodyBytes !== stream.contentLength) {
      throw streamError(
        PROTOCOL_ERROR,
        stream.id,
        `body of ${stream.bodyBytes} bytes does not match content-length ${stream.contentLength}`,
      );
    }
    this.s.events.push({ type: "trailers", streamId: stream.id, fields });
    this.end(stream);
  }

  private end(stream: ClientStream): void {
    stream.remoteClosed = true;
    this.s.events.push({ type: "end", streamId: stream.id });
    this.s.finishIfDone(stream);
  }
}
