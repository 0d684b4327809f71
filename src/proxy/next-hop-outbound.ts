/**
 * What the two next-hop client machines share (Socks5Outbound in socks5-client.ts, ConnectOutbound
 * in next-hop-http.ts): their options, the step each `push` returns, and how a failure names the
 * hop (never with its password). No I/O, no clocks.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { Authority } from "./authority.ts";

export interface OutboundOptions {
  target: Authority;
  credentials: { username: string; password: string } | null;
  /** The hop as messages name it, e.g. `socks5h://127.0.0.1:1080`. */
  hopName: string;
}

export interface OutboundStep {
  /** Bytes to write to the hop. */
  send: Uint8Array[];
  /** The tunnel to the target is open; `leftover` = bytes the hop sent after its reply. */
  open: { leftover: Uint8Array } | null;
}

/** `next hop <hop> <what>`, as NEXT_HOP_AUTH or NEXT_HOP_REFUSED. */
export function hopError(
  hop: string,
  code: "NEXT_HOP_AUTH" | "NEXT_HOP_REFUSED",
  what: string,
  cause?: unknown,
): ProxyError {
  return new ProxyError(code, `next hop ${hop} ${what}`, cause === undefined ? undefined : { cause });
}
