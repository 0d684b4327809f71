/**
 * Binds a memory-buffer TlsConnection to a byte socket: ciphertext in from the socket, ciphertext
 * out to it, plaintext to and from the caller. Used for both the client-facing (server mode) and
 * the upstream (client mode) side of a MITM tunnel.
 */
import type { Socket } from "node:net";
import { ProxyError } from "../errors/proxy-error.ts";
import type { HandshakeInfo, TlsConnection } from "../upstream/engine.ts";
import { writeWithRoom } from "./endpoint.ts";

export interface ChannelEvents {
  /** Decrypted bytes from the peer. */
  data(plain: Uint8Array): void;
  /** The peer finished sending (close_notify or TCP FIN). */
  end(): void;
  /** A fatal error; the channel is already destroyed. */
  error(err: ProxyError): void;
  /** The socket can take more data after a write returned false. */
  drain(): void;
}

export class SecureChannel {
  readonly socket: Socket;
  readonly conn: TlsConnection;
  #events: ChannelEvents | null = null;
  #handshakeWaiter: { resolve(i: HandshakeInfo): void; reject(e: ProxyError): void } | null = null;
  #established = false;
  #ended = false;
  #endDelivered = false;
  #failure: ProxyError | null = null;
  #destroyed = false;
  /** Called with each session the upstream sends (client side), for the session cache. */
  onSession: ((session: Uint8Array) => void) | null = null;

  constructor(socket: Socket, conn: TlsConnection) {
    this.socket = socket;
    this.conn = conn;
    socket.on("data", (d: Buffer) => this.#onCiphertext(d));
    socket.on("end", () => this.#onPeerEnd());
    socket.on("error", (e) => this.#fail(ProxyError.wrap(e, "IO")));
    socket.on("close", () => this.#fail(new ProxyError("IO", "connection closed")));
    socket.on("drain", () => this.#events?.drain());
  }

  /** Feeds bytes that were read before this channel existed (e.g. after the CONNECT headers). */
  prime(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#onCiphertext(bytes);
  }

  /** Runs the handshake to completion. */
  handshake(): Promise<HandshakeInfo> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed || this.#destroyed) {
        // The peer went away before the handshake began: its close event is already past.
        this.destroy();
        reject(this.#failure ?? new ProxyError("IO", "connection closed before the TLS handshake"));
        return;
      }
      this.#handshakeWaiter = { resolve, reject };
      this.#step();
    });
  }

  /** Starts delivering plaintext; call once, after the handshake. */
  start(events: ChannelEvents): void {
    if (this.#destroyed) {
      // Failed (or the socket closed) between the handshake and the relay.
      events.error(this.#failure ?? new ProxyError("IO", "connection closed"));
      return;
    }
    this.#events = events;
    this.#drainPlaintext();
    this.#deliverEnd(); // the peer may have finished before the relay started
  }

  /** Encrypts and sends; returns false when the socket buffer is full (wait for drain). */
  write(plain: Uint8Array): boolean {
    if (this.#destroyed) return false;
    this.conn.write(plain);
    return this.#flush();
  }

  /** Sends close_notify and half-closes the TCP connection. */
  end(): void {
    if (this.#destroyed || this.socket.writableEnded) return;
    this.conn.shutdown();
    this.#flush();
    this.socket.end();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      this.#flush();
    } catch {
      // best effort: an alert may be lost
    }
    this.socket.destroy();
    this.conn.close();
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  #flush(): boolean {
    let ok = true;
    for (let out = this.conn.takeOutput(); out !== null; out = this.conn.takeOutput()) {
      ok = writeWithRoom(this.socket, out);
    }
    return ok;
  }

  #onCiphertext(d: Uint8Array): void {
    if (this.#destroyed) return;
    try {
      this.conn.feed(d);
      if (this.#established) this.#drainPlaintext();
      else this.#step();
    } catch (err) {
      this.#fail(ProxyError.wrap(err, "TLS_PROTOCOL"));
    }
  }

  #step(): void {
    if (this.#established || this.#destroyed) return;
    let state: "done" | "want";
    try {
      state = this.conn.handshake();
      this.#flush();
    } catch (err) {
      this.#fail(ProxyError.wrap(err, "TLS_HANDSHAKE"));
      return;
    }
    if (state === "done") {
      this.#established = true;
      const info = this.conn.info();
      this.#collectSession();
      const w = this.#handshakeWaiter;
      this.#handshakeWaiter = null;
      w?.resolve(info);
    }
  }

  #drainPlaintext(): void {
    const ev = this.#events;
    if (!ev) return; // bytes stay inside the TLS connection until start()
    for (;;) {
      const r = this.conn.read();
      if (r === null) break;
      if (r === "eof") {
        this.#onPeerEnd();
        break;
      }
      ev.data(r);
      if (this.#destroyed) return;
    }
    this.#flush(); // post-handshake messages may need answers (key update)
    this.#collectSession();
  }

  #collectSession(): void {
    if (!this.onSession) return;
    for (let s = this.conn.takeSession(); s !== null; s = this.conn.takeSession()) this.onSession(s);
  }

  /** close_notify or TCP FIN: either ends the peer's direction (a FIN alone is a truncation,
   * which HTTP framing detects; refusing it would break many servers). */
  #onPeerEnd(): void {
    if (this.#destroyed) return;
    if (!this.#established) {
      this.#fail(new ProxyError("TLS_HANDSHAKE", "peer closed the connection during the TLS handshake"));
      return;
    }
    this.#ended = true;
    this.#deliverEnd();
  }

  /** Tells the relay once, after every decrypted byte was delivered. */
  #deliverEnd(): void {
    if (!this.#ended || this.#endDelivered || !this.#events) return;
    this.#endDelivered = true;
    this.#events.end();
  }

  #fail(err: ProxyError): void {
    if (this.#destroyed) return;
    this.#failure = err;
    const w = this.#handshakeWaiter;
    this.#handshakeWaiter = null;
    const ev = this.#events;
    this.destroy();
    if (w) w.reject(err);
    else if (ev && !(err.code === "IO" && this.#ended)) ev.error(err);
  }
}
