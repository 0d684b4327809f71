import { ProxyError } from "../../errors/proxy-error.ts";

/**
 * Errors of the HTTP/1.1 codec. The side decides the code: whatever the client sent (requests,
 * their bodies and trailers) is `HTTP_BAD_REQUEST`; whatever the origin sent (responses, their
 * bodies and trailers) is `HTTP_PROTOCOL`. `status` is a hint for the answer to the client where a
 * more precise status than 400 / 502 fits; `reason` is a stable sub-code for tests and logs (never
 * branch on the message text).
 */
export type H1Side = "request" | "response";

export type H1Reason =
  // Byte level, anywhere in a head.
  | "BARE_LF" // LF not preceded by CR (RFC 9112 §2.2: we require CRLF)
  | "BARE_CR" // CR not followed by LF (RFC 9112 §2.2)
  | "CONTROL_CHAR" // NUL, other CTLs or DEL in a head (RFC 9110 §5.5)
  | "LEADING_EMPTY_LINES" // more than one CRLF before the start line (RFC 9112 §2.2)
  | "HEAD_TOO_LARGE" // head longer than maxHeadBytes → 431
  | "TOO_MANY_FIELDS" // more field lines than maxHeaders → 431
  | "URI_TOO_LONG" // request line or target longer than allowed → 414
  // Start line.
  | "BAD_START_LINE" // not `method SP target SP version` / `version SP status SP reason`
  | "BAD_METHOD" // method is not a token (RFC 9110 §9.1)
  | "BAD_TARGET" // request-target syntax or form (RFC 9112 §3.2)
  | "BAD_VERSION" // not `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3)
  | "UNSUPPORTED_VERSION" // well-formed but not 1.0 / 1.1 → 505
  | "BAD_STATUS" // status code not 3 digits in 100-599 (RFC 9110 §15)
  // Field lines.
  | "OBS_FOLD" // line folding (RFC 9112 §5.2)
  | "SPACE_BEFORE_COLON" // whitespace between name and colon (RFC 9112 §5.1)
  | "BAD_FIELD_NAME" // empty name, no colon, or non-token name (RFC 9110 §5.1)
  | "BAD_FIELD_VALUE" // CTL / DEL in a value (RFC 9110 §5.5)
  | "HOST_MISSING" // HTTP/1.1 request without Host (RFC 9112 §3.2)
  | "HOST_DUPLICATE" // more than one Host line (RFC 9112 §3.2)
  | "HOST_INVALID" // Host value is not uri-host [":" port] (RFC 9112 §3.2)
  // Framing.
  | "CL_AND_TE" // Content-Length and Transfer-Encoding together in a request (RFC 9112 §6.1)
  | "CL_DUPLICATE" // several Content-Length values (RFC 9112 §6.3 item 5)
  | "CL_INVALID" // not 1*DIGIT or above 2^53-1 (RFC 9110 §8.6)
  | "TE_HTTP10" // Transfer-Encoding in an HTTP/1.0 message (RFC 9112 §6.1)
  | "TE_NOT_CHUNKED" // chunked missing, not final, repeated, or bad list syntax (RFC 9112 §6.3 item 4)
  | "TE_UNSUPPORTED" // a coding other than chunked in a request → 501 (RFC 9112 §6.1)
  | "CONNECT_BODY" // CONNECT with content (RFC 9110 §9.3.6)
  // Bodies.
  | "BAD_CHUNK_SIZE" // chunk-size not hex or too big (RFC 9112 §7.1)
  | "BAD_CHUNK_EXT" // chunk extension malformed or too long (RFC 9112 §7.1.1)
  | "BAD_CHUNK_END" // chunk data not followed by CRLF (RFC 9112 §7.1)
  | "TRAILERS_TOO_LARGE" // trailer section over its limits → 431 (RFC 9112 §7.1.2)
  | "TRUNCATED_BODY" // connection ended inside a framed body
  // Writer: the caller asked for bytes that cannot be valid HTTP/1.1.
  | "INVALID_OUTPUT";

const DEFAULT_STATUS: Record<H1Side, number> = { request: 400, response: 502 };

export class H1Error extends ProxyError {
  /** Which peer sent the offending bytes (or, for the writer, whose message was being written). */
  readonly side: H1Side;
  readonly reason: H1Reason;
  /** Status to answer the client with: 400 / 414 / 431 / 501 / 505 for requests, 502 for responses. */
  readonly status: number;

  constructor(
    side: H1Side,
    reason: H1Reason,
    message: string,
    status?: number,
    options?: { cause?: unknown },
  ) {
    // A request head too large is HEADERS_TOO_LARGE (431), as an HTTP/2 client's header list.
    super(
      side === "response" ? "HTTP_PROTOCOL" : status === 431 ? "HEADERS_TOO_LARGE" : "HTTP_BAD_REQUEST",
      message,
      options,
    );
    this.name = "H1Error";
    this.side = side;
    this.reason = reason;
    this.status = side === "response" ? DEFAULT_STATUS.response : (status ?? DEFAULT_STATUS.request);
  }
}

export function isH1Error(err: unknown): err is H1Error {
  return err instanceof H1Error;
}
