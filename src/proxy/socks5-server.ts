/**
 * The server side of a SOCKS5 handshake (RFC 1928 with RFC 1929 username/password) as a pure
 * state machine: push the client's bytes as they arrive; each call says what to send and what
 * happens next. No I/O, no clocks; the outcome does not depend on how the input is split.
 *
 * Method choice: username/password whenever the client offers it (even when the proxy has no
 * users: the user name can carry the profile, see proxy-user.ts); otherwise "no authentication"
 * when the proxy needs none; otherwise 0xFF and close. Only CONNECT is served; BIND and UDP
 * ASSOCIATE get reply 0x07, an unknown address type 0x08, then the connection is closed. Every
 * message has one-byte length fields, so what is buffered is bounded (at most 513 bytes).
 */
import { ProxyError } from "../errors/proxy-error.ts";
import { socksReplyFor } from "../errors/socks-wire.ts";
import type { Authority } from "./authority.ts";
import {
  COMMAND,
  encodeMethodChoice,
  encodeReply,
  encodeUserPassStatus,
  METHOD,
  type Parsed,
  parseAddressed,
  parseGreeting,
  parseUserPass,
} from "./socks5-codec.ts";

export type InboundStep =
  /** Wait for more bytes. */
  | { kind: "incomplete" }
  /** Check these credentials, then call `credentials(ok)`. */
  | { kind: "credentials"; username: string; password: string }
  /** The CONNECT request; `leftover` = bytes the client sent after it (e.g. a ClientHello). */
  | { kind: "request"; target: Authority; username: string | null; leftover: Uint8Array }
  /** Send `send`, then close. */
  | { kind: "failed"; error: ProxyError };

export interface InboundOutput {
  /** Bytes to write to the client, in order, before acting on `step`. */
  send: Uint8Array[];
  step: InboundStep;
}

type State = "greeting" | "userpass" | "checking" | "request" | "done";

export class Socks5Inbound {
  readonly #authRequired: boolean;
  #state: State = "greeting";
  #buf: Uint8Array = new Uint8Array(0);
  #username: string | null = null;
  #result: InboundOutput | null = null;

  /** `authRequired`: the proxy has users, so "no authentication" is not acceptable. */
  constructor(authRequired: boolean) {
    this.#authRequired = authRequired;
  }

  push(chunk: Uint8Array): InboundOutput {
    if (this.#result) return { send: [], step: this.#result.step };
    const next = new Uint8Array(this.#buf.length + chunk.length);
    next.set(this.#buf);
    next.set(chunk, this.#buf.length);
    this.#buf = next;
    return this.#advance([]);
  }

  /** After a `credentials` step: whether they were right. Wrong ones answer status 1 and fail. */
  credentials(ok: boolean): InboundOutput {
    if (this.#state !== "checking") throw new ProxyError("INTERNAL", "no credentials are being checked");
    if (!ok) {
      return this.#finish([encodeUserPassStatus(false)], {
        kind: "failed",
        error: new ProxyError("PROXY_AUTH_REQUIRED", "SOCKS5 credentials rejected"),
      });
    }
    this.#state = "request";
    return this.#advance([encodeUserPassStatus(true)]);
  }

  #finish(send: Uint8Array[], step: InboundStep): InboundOutput {
    this.#state = "done";
    this.#result = { send, step };
    return this.#result;
  }

  #advance(send: Uint8Array[]): InboundOutput {
    try {
      for (;;) {
        if (this.#state === "greeting") {
          const g = this.#take(parseGreeting(this.#buf));
          if (!g) break;
          const methods = g.methods;
          if (methods.includes(METHOD.USERPASS)) {
            send.push(encodeMethodChoice(METHOD.USERPASS));
            this.#state = "userpass";
          } else if (!this.#authRequired && methods.includes(METHOD.NO_AUTH)) {
            send.push(encodeMethodChoice(METHOD.NO_AUTH));
            this.#state = "request";
          } else {
            send.push(encodeMethodChoice(METHOD.NONE_ACCEPTABLE));
            // Credentials missing is an auth refusal only when the proxy wants them; otherwise the
            // client offered nothing this server speaks (GSSAPI only, say).
            const error = this.#authRequired
              ? new ProxyError(
                  "PROXY_AUTH_REQUIRED",
                  "SOCKS5 client offers no acceptable method (username/password required)",
                )
              : new ProxyError(
                  "SOCKS_BAD_REQUEST",
                  "SOCKS5 client offers no acceptable method (no authentication or username/password)",
                );
            return this.#finish(send, { kind: "failed", error });
          }
        } else if (this.#state === "userpass") {
          const c = this.#take(parseUserPass(this.#buf));
          if (!c) break;
          this.#username = c.username;
          this.#state = "checking";
          return { send, step: { kind: "credentials", username: c.username, password: c.password } };
        } else if (this.#state === "request") {
          const r = this.#take(parseAddressed(this.#buf, "request"));
          if (!r) break;
          if (r.code !== COMMAND.CONNECT) {
            const name =
              r.code === COMMAND.BIND
                ? "BIND"
                : r.code === COMMAND.UDP_ASSOCIATE
                  ? "UDP ASSOCIATE"
                  : `command ${r.code}`;
            throw new ProxyError(
              "SOCKS_COMMAND_UNSUPPORTED",
              `SOCKS5 ${name} is not supported (CONNECT only)`,
            );
          }
          if (!r.target) throw new ProxyError("INTERNAL", "request without a target");
          const leftover = this.#buf;
          this.#buf = new Uint8Array(0);
          return this.#finish(send, {
            kind: "request",
            target: r.target,
            username: this.#username,
            leftover,
          });
        } else {
          break; // checking: wait for credentials()
        }
      }
    } catch (err) {
      const error = ProxyError.wrap(err, "SOCKS_BAD_REQUEST");
      return this.#finish([...send, ...this.#failureReply(error)], { kind: "failed", error });
    }
    return { send, step: { kind: "incomplete" } };
  }

  /** What the client gets for a failure in the current state (RFC 1928 has none for a bad greeting). */
  #failureReply(error: ProxyError): Uint8Array[] {
    if (this.#state === "greeting") return [];
    if (this.#state === "userpass") return [encodeUserPassStatus(false)];
    return [encodeReply(socksReplyFor(error.code))];
  }

  /** The parsed value, consuming its bytes; null when incomplete. */
  #take<T>(p: Parsed<T>): T | null {
    if (p.kind === "incomplete") return null;
    this.#buf = this.#buf.subarray(p.consumed);
    return p.value;
  }
}
