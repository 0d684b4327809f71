import { type BodyStep, ChunkedDecoder, type ChunkedLimits, DEFAULT_CHUNKED_LIMITS } from "./chunked.ts";
import { H1Error, type H1Side } from "./errors.ts";
import type { BodyFraming } from "./framing.ts";

/**
 * Reads one message body given its framing (from a parsed head): `push` the bytes that follow the
 * head, get body data, the end, trailers, and the bytes left over for the next pipelined message.
 * `finish()` is for the end of the connection: it completes a read-until-close body and refuses a
 * truncated length or chunked body (TRUNCATED_BODY). Pure; data are views into the pushed chunks.
 */
export class BodyReader {
  readonly framing: BodyFraming;
  private readonly side: H1Side;
  private remaining: number;
  private ended: boolean;
  private readonly chunked: ChunkedDecoder | null;

  constructor(framing: BodyFraming, side: H1Side, limits: ChunkedLimits = DEFAULT_CHUNKED_LIMITS) {
    this.framing = framing;
    this.side = side;
    this.remaining = framing.kind === "length" ? framing.length : 0;
    this.ended = framing.kind === "none" || (framing.kind === "length" && framing.length === 0);
    this.chunked = framing.kind === "chunked" ? new ChunkedDecoder(side, limits) : null;
  }

  get done(): boolean {
    return this.ended;
  }

  push(chunk: Uint8Array): BodyStep {
    if (this.chunked !== null) {
      const step = this.chunked.push(chunk);
      this.ended = step.done;
      return step;
    }
    if (this.ended) return { data: [], done: true, trailers: null, rest: chunk };
    if (this.framing.kind === "close") {
      return { data: chunk.length > 0 ? [chunk] : [], done: false, trailers: null, rest: new Uint8Array(0) };
    }
    const n = Math.min(this.remaining, chunk.length);
    this.remaining -= n;
    this.ended = this.remaining === 0;
    return {
      data: n > 0 ? [chunk.subarray(0, n)] : [],
      done: this.ended,
      trailers: null,
      rest: chunk.subarray(n),
    };
  }

  /** The connection ended. */
  finish(): void {
    if (this.framing.kind === "close") {
      this.ended = true;
      return;
    }
    if (this.chunked !== null) this.chunked.finish();
    else if (!this.ended)
      throw new H1Error(this.side, "TRUNCATED_BODY", `connection ended ${this.remaining} bytes short`);
  }
}
