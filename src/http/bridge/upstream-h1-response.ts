/**
 * What the upstream HTTP/1.1 adapter hands to the client side of a response: fields with
 * lowercase names in wire order, stripped of the framing that only held on the upstream
 * connection, and the errors it reports. Pure.
 */
import { ProxyError } from "../../errors/proxy-error.ts";
import type { RawField } from "../h1/fields.ts";
import type { ResponseHead } from "../h1/response-head.ts";
import { asciiLower } from "../h1/syntax.ts";
import type { HeaderField } from "../hpack/types.ts";

export function lowered(raw: readonly RawField[]): HeaderField[] {
  return raw.map(([n, v]) => [asciiLower(n), v]);
}

/**
 * The final head's fields for the client side: Transfer-Encoding dropped (the client side frames
 * anew), and Content-Length dropped when chunked or read-until-close framing won over it
 * (RFC 9112 §6.3: it then says nothing). Kept on bodyless responses (HEAD, 304).
 */
export function responseFields(head: ResponseHead): HeaderField[] {
  const keepLength = head.body.kind === "none" || head.body.kind === "length";
  return lowered(head.rawHeaders).filter(
    ([n]) => n !== "transfer-encoding" && (keepLength || n !== "content-length"),
  );
}

/** HTTP_PROTOCOL when the body uses a transfer coding other than chunked (never decoded here). */
export function unsupportedCoding(head: ResponseHead): ProxyError | null {
  const other = head.transferCodings.find((c) => c !== "chunked");
  if (other === undefined) return null;
  return new ProxyError("HTTP_PROTOCOL", `upstream used transfer coding ${other}, not supported`);
}

/** Mid-body failures reach the client side as UPSTREAM_TRUNCATED whatever their cause. */
export function truncated(err: ProxyError): ProxyError {
  if (err.code === "UPSTREAM_TRUNCATED") return err;
  return new ProxyError("UPSTREAM_TRUNCATED", `upstream failed inside the response body: ${err.message}`, {
    cause: err,
  });
}
