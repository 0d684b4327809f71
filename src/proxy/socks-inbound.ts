/**
 * Reads one SOCKS5 handshake from a client socket (the SOCKS listener's counterpart of
 * read-connect.ts): drives the pure Socks5Inbound machine with the socket's bytes, writes what it
 * says, checks RFC 1929 credentials through `authenticate` (the listener's brake and users), and
 * resolves with the request in the same shape as a parsed CONNECT, so the same tunnel runs it.
 * The header timeout and the abort signal apply as for CONNECT (read-head.ts). On failure the machine's reply
 * (method 0xFF, auth status 1, or a reply code) has been written; the caller closes.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import type { ConnectRequest } from "./connect-parser.ts";
import { PROFILE_SEPARATOR, splitUsername } from "./proxy-user.ts";
import { readHead } from "./read-head.ts";
import { type InboundOutput, Socks5Inbound } from "./socks5-server.ts";

export interface ReadSocksOptions {
  headerTimeoutMs: number;
  /** The proxy has users: "no authentication" is refused. */
  authRequired: boolean;
  /** Throws (PROXY_AUTH_REQUIRED, AUTH_RATE_LIMITED) unless the credentials are accepted. */
  authenticate(username: string, password: string): void;
  /** Whether a name is a profile (or an alias). */
  knowsProfile(name: string): boolean;
}

/** Resolves with the request (socket paused) or rejects with a ProxyError. */
export function readSocks(
  socket: Socket,
  opts: ReadSocksOptions,
  signal?: AbortSignal,
): Promise<ConnectRequest> {
  const machine = new Socks5Inbound(opts.authRequired);
  const spec = {
    headerTimeoutMs: opts.headerTimeoutMs,
    timeoutMessage: `SOCKS5 handshake not completed within ${opts.headerTimeoutMs} ms`,
    closed: () => new ProxyError("SOCKS_BAD_REQUEST", "client closed before completing the SOCKS5 handshake"),
  };
  return readHead<ConnectRequest>(socket, spec, signal, (d, read) => {
    /** Writes what the machine says and acts on its step; loops through a credentials check. */
    const handle = (out: InboundOutput): void => {
      for (const b of out.send) if (!socket.destroyed) socket.write(b);
      const step = out.step;
      if (step.kind === "incomplete") return;
      if (step.kind === "credentials") {
        let failure: ProxyError | null = null;
        try {
          opts.authenticate(step.username, step.password);
        } catch (err) {
          failure = ProxyError.wrap(err, "PROXY_AUTH_REQUIRED");
        }
        const next = machine.credentials(failure === null);
        if (failure !== null) {
          for (const b of next.send) if (!socket.destroyed) socket.write(b);
          read.fail(failure);
          return;
        }
        handle(next);
        return;
      }
      if (step.kind === "failed") {
        read.fail(step.error);
        return;
      }
      const profile = step.username === null ? null : socksProfile(step.username, opts);
      read.done({
        method: "CONNECT",
        target: step.target,
        headers: [],
        profile,
        proxyAuthorization: null,
        nextHop: null,
        leftover: step.leftover.slice(),
      });
    };
    handle(machine.push(d));
  });
}

/**
 * The profile a SOCKS5 user name asks for. With proxy auth off, a bare name that is no profile
 * asks for none (the default profile): Java's SOCKS client, with no Authenticator set, sends the
 * OS user name. `<user>-profile-<name>` always asks, so a wrong name there is still refused.
 */
function socksProfile(username: string, opts: ReadSocksOptions): string | null {
  const asked = splitUsername(username, opts.authRequired).profile;
  if (asked === null || opts.authRequired || username.includes(PROFILE_SEPARATOR)) return asked;
  return opts.knowsProfile(asked) ? asked : null;
}
