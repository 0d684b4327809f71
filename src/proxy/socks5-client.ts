/**
 * The client side of a SOCKS5 handshake with a next hop (RFC 1928, RFC 1929 username/password),
 * as a pure state machine: `start()` gives the greeting, then push the hop's bytes; each call says
 * what to send next and whether the tunnel is open. Failures are ProxyErrors naming the hop by
 * `hopName` (never with its password). No I/O, no clocks.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { type Authority, formatAuthority } from "./authority.ts";
import { hopError, type OutboundOptions, type OutboundStep } from "./next-hop-outbound.ts";
import {
  COMMAND,
  encodeAddressed,
  encodeGreeting,
  encodeUserPass,
  METHOD,
  type Parsed,
  parseAddressed,
  parseMethodChoice,
  parseUserPassStatus,
} from "./socks5-codec.ts";

/** RFC 1928 §6 reply texts, for messages. */
const REPLY_TEXT: Record<number, string> = {
  1: "general failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

type State = "method" | "auth" | "reply" | "open";

export class Socks5Outbound {
  readonly #target: Authority;
  readonly #credentials: { username: string; password: string } | null;
  readonly #hop: string;
  #state: State = "method";
  #buf: Uint8Array = new Uint8Array(0);

  constructor(opts: OutboundOptions) {
    this.#target = opts.target;
    this.#credentials = opts.credentials;
    this.#hop = opts.hopName;
  }

  /** The greeting: username/password only when we have credentials, else no authentication. */
  start(): Uint8Array {
    return encodeGreeting(this.#credentials ? [METHOD.USERPASS] : [METHOD.NO_AUTH]);
  }

  push(chunk: Uint8Array): OutboundStep {
    const next = new Uint8Array(this.#buf.length + chunk.length);
    next.set(this.#buf);
    next.set(chunk, this.#buf.length);
    this.#buf = next;
    const send: Uint8Array[] = [];
    try {
      for (;;) {
        if (this.#state === "method") {
          const m = this.#take(parseMethodChoice(this.#buf));
          if (m === null) break;
          if (m === METHOD.USERPASS && this.#credentials) {
            send.push(encodeUserPass(this.#credentials.username, this.#credentials.password));
            this.#state = "auth";
          } else if (m === METHOD.NO_AUTH) {
            send.push(this.#request());
          } else if (m === METHOD.NONE_ACCEPTABLE) {
            throw this.#error(
              "NEXT_HOP_AUTH",
              this.#credentials ? "accepts no method we offer" : "requires credentials (none configured)",
            );
          } else {
            throw this.#error("NEXT_HOP_REFUSED", `chose SOCKS5 method ${m}, which was not offered`);
          }
        } else if (this.#state === "auth") {
          const status = this.#take(parseUserPassStatus(this.#buf));
          if (status === null) break;
          if (status !== 0) throw this.#error("NEXT_HOP_AUTH", "rejected our credentials");
          send.push(this.#request());
        } else if (this.#state === "reply") {
          const r = this.#take(parseAddressed(this.#buf, "reply"));
          if (r === null) break;
          if (r.code !== 0) {
            const text = REPLY_TEXT[r.code] ?? "unknown reply";
            throw this.#error(
              "NEXT_HOP_REFUSED",
              `could not connect to ${formatAuthority(this.#target)}: ${text} (SOCKS5 reply ${r.code})`,
            );
          }
          this.#state = "open";
          const leftover = this.#buf;
          this.#buf = new Uint8Array(0);
          return { send, open: { leftover } };
        } else {
          break;
        }
      }
    } catch (err) {
      if (err instanceof ProxyError && err.code.startsWith("NEXT_HOP")) throw err;
      throw this.#error("NEXT_HOP_REFUSED", "did not speak SOCKS5", err);
    }
    return { send, open: null };
  }

  #request(): Uint8Array {
    this.#state = "reply";
    return encodeAddressed(COMMAND.CONNECT, this.#target);
  }

  #error(code: "NEXT_HOP_AUTH" | "NEXT_HOP_REFUSED", what: string, cause?: unknown): ProxyError {
    return hopError(this.#hop, code, what, cause);
  }

  #take<T>(p: Parsed<T>): T | null {
    if (p.kind === "incomplete") return null;
    this.#buf = this.#buf.subarray(p.consumed);
    return p.value;
  }
}
