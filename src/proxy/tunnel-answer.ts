/**
 * What a client is told when its tunnel is established or fails before that, by inbound protocol:
 * an HTTP status line for CONNECT (errors/wire.ts), a SOCKS5 reply for SOCKS (errors/socks-wire.ts).
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { socksReplyFor } from "../errors/socks-wire.ts";
import { errorResponse } from "../errors/wire.ts";
import { encodeReply } from "./socks5-codec.ts";

export const ESTABLISHED = "HTTP/1.1 200 Connection Established\r\n\r\n";

export interface TunnelAnswer {
  inbound: "http" | "socks5";
  established(): string | Uint8Array;
  error(err: unknown): string | Uint8Array;
}

export const HTTP_ANSWER: TunnelAnswer = {
  inbound: "http",
  established: () => ESTABLISHED,
  error: (err) => errorResponse(err),
};

export const SOCKS5_ANSWER: TunnelAnswer = {
  inbound: "socks5",
  established: () => encodeReply(0x00),
  error: (err) => encodeReply(socksReplyFor(err instanceof ProxyError ? err.code : null)),
};
