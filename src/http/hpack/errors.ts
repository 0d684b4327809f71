import { ProxyError } from "../../errors/proxy-error.ts";

/** HTTP/2 error code COMPRESSION_ERROR (RFC 9113 §7): what an HPACK failure means on the wire. */
export const H2_COMPRESSION_ERROR = 0x9;

/**
 * An HPACK coding failure. For the decoder it is connection-fatal: the dynamic table may be out of
 * sync with the peer's, so the h2 layer must send GOAWAY with `h2Code` and close.
 */
export class HpackError extends ProxyError {
  readonly h2Code = H2_COMPRESSION_ERROR;
  /** The block decodes to a header list over the decoder's limit (well formed, but too much). */
  readonly listTooLarge: boolean;

  constructor(message: string, options?: { cause?: unknown; listTooLarge?: boolean }) {
    super("HTTP_PROTOCOL", message, options);
    this.name = "HpackError";
    this.listTooLarge = options?.listTooLarge ?? false;
  }
}
