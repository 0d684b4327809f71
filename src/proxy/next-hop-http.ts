/**
 * The client side of an HTTP CONNECT through a next hop (RFC 9110 §9.3.6), as a pure state
 * machine with the same shape as Socks5Outbound: `start()` gives the request head, then push the
 * hop's bytes until its response head is complete. 2xx opens the tunnel; 407 is NEXT_HOP_AUTH;
 * any other status NEXT_HOP_REFUSED. Messages name the hop, never its password, and never
 * quote the hop's response (only its status code). No I/O, no clocks.
 */
import type { ProxyError } from "../errors/proxy-error.ts";
import { ResponseHeadScanner } from "../http/h1/response-head.ts";
import { type Authority, formatAuthority } from "./authority.ts";
import { hopError, type OutboundOptions, type OutboundStep } from "./next-hop-outbound.ts";

const HOP_RESPONSE_LIMITS = { maxHeadBytes: 16 * 1024, maxHeaders: 100 }; // bytes, lines; a CONNECT answer is tiny

export class ConnectOutbound {
  readonly #target: Authority;
  readonly #credentials: { username: string; password: string } | null;
  readonly #hop: string;
  readonly #scanner = new ResponseHeadScanner("CONNECT", HOP_RESPONSE_LIMITS);
  #open = false;

  constructor(opts: OutboundOptions) {
    this.#target = opts.target;
    this.#credentials = opts.credentials;
    this.#hop = opts.hopName;
  }

  start(): Uint8Array {
    const authority = formatAuthority(this.#target);
    const c = this.#credentials;
    const auth = c
      ? `Proxy-Authorization: Basic ${Buffer.from(`${c.username}:${c.password}`, "utf8").toString("base64")}\r\n`
      : "";
    return Buffer.from(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`, "latin1");
  }

  push(chunk: Uint8Array): OutboundStep {
    if (this.#open) return { send: [], open: { leftover: chunk } };
    let parsed: ReturnType<ResponseHeadScanner["push"]>;
    try {
      parsed = this.#scanner.push(chunk);
    } catch (err) {
      throw this.#error("NEXT_HOP_REFUSED", "did not answer with an HTTP response", err);
    }
    if (parsed.kind === "incomplete") return { send: [], open: null };
    const status = parsed.head.status;
    if (status === 407) {
      throw this.#error(
        "NEXT_HOP_AUTH",
        this.#credentials ? "rejected our credentials (407)" : "requires credentials (407)",
      );
    }
    if (status < 200 || status > 299) {
      throw this.#error("NEXT_HOP_REFUSED", `answered ${status} to CONNECT ${formatAuthority(this.#target)}`);
    }
    this.#open = true;
    // `consumed` counts the head's bytes in this last chunk; the rest already belongs to the tunnel.
    return { send: [], open: { leftover: chunk.slice(parsed.consumed) } };
  }

  #error(code: "NEXT_HOP_AUTH" | "NEXT_HOP_REFUSED", what: string, cause?: unknown): ProxyError {
    return hopError(this.#hop, code, what, cause);
  }
}
