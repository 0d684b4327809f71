/**
 * Binds a memory-buffer TlsConnection to a byte socket: ciphertext in from the socket, ciphertext
 * out to it, plaintext to and from the caller. Used for both the client-facing (server mode) and
 * the upstream (client mode) side of a MITM tunnel.
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { HandshakeInfo, TlsConnection } from "../upstream/engine.ts";
import type { ByteSocket as Socket } from "./byte-socket.ts";
import { plaintextAlert, refusedCertificate } from "./client-alert.ts";
import { RELAY_HIGH_WATER_BYTES, resetSocket, writeWithRoom } from "./endpoint.ts";
import { type Corked, releaseGather, sendAtEndOfTurn, takeGather, WRITE_GATHER_BYTES } from "./write-cork.ts";

/**
 * Plaintext writes shorter than this are copied into a gather buffer and sealed together (one TLS
 * record for a response head and its small body, or for 32 HTTP/2 HEADERS frames); longer ones
 * are sealed at once. Bytes; a quarter of the gather buffer.
 */
const SMALL_WRITE_BYTES = WRITE_GATHER_BYTES / 4;
/**
 * Sealed ciphertext-to-be held within one turn of the event loop before it is sent anyway, so a
 * bulk transfer still streams (two relay read bursts of 32 KiB). Bytes.
 */
const FLUSH_AT_BYTES = 64 * 1024;

export interface ChannelEvents {
  /** Decrypted bytes from the peer. */
  data(plain: Uint8Array): void;
  /**
   * The peer finished sending: `closeNotify` true after its TLS close_notify, false when the TCP
   * connection ended (FIN) without one, i.e. a possible truncation the caller judges.
   */
  end(closeNotify: boolean): void;
  /** A fatal error; the channel is already destroyed. */
  error(err: ProxyError): void;
  /** The socket can take more data after a write returned false. */
  drain(): void;
  /** The socket is fully closed (after `error` or `end` when there was one); optional. */
  close?(): void;
}

/** RFC 8446 §5.1 ContentType handshake: the first octet of a ClientHello record. */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * How handshake() rejects when plaintext detection was asked (`detectPlaintext`) and the peer's
 * first bytes are not a TLS record: they are carried here, and the socket is the caller's again.
 */
export class NotTls extends Error {
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    super("the peer did not start TLS");
    this.bytes = bytes;
  }
}

/** The socket's property naming its channel (for the shared socket listeners). */
const CHANNEL = Symbol("SecureChannel");
type ChannelSocket = Socket & { [CHANNEL]?: SecureChannel };

/** Which side of a tunnel a channel faces; error messages start with it. */
export type ChannelSide = "client" | "upstream" | "peer";

export class SecureChannel implements Corked {
  readonly socket: Socket;
  readonly conn: TlsConnection;
  readonly side: ChannelSide;
  #events: ChannelEvents | null = null;
  #handshakeWaiter: { resolve(i: HandshakeInfo): void; reject(e: Error): void } | null = null;
  /** Whether the next ciphertext is the peer's first (checked for plaintext: detectPlaintext). */
  #detectPlaintext = false;
  /** Our side of the handshake sent something (the server flight, when we are the server). */
  #spoke = false;
  /** A plaintext alert the client sent during the handshake (see client-alert.ts), or -1. */
  #clientAlert = -1;
  #notTls: NotTls | null = null;
  #established = false;
  #ended = false;
  #closeNotify = false;
  #endDelivered = false;
  #failure: ProxyError | null = null;
  #destroyed = false;
  /** Small plaintext writes of this turn, not sealed yet (a pooled buffer), and its fill. */
  #gather: Uint8Array | null = null;
  #gathered = 0;
  /** Plaintext sealed into the engine since the last send. */
  #sealed = 0;
  #queued = false;
  /** Called with each session the upstream sends (client side), for the session cache. */
  onSession: ((session: Uint8Array) => void) | null = null;

  constructor(socket: Socket, conn: TlsConnection, side: ChannelSide = "peer") {
    this.socket = socket;
    this.conn = conn;
    this.side = side;
    // Shared listeners that find the channel on the socket: five closures (and the scope they
    // would share) per channel are a good part of what an idle tunnel holds. One channel per
    // socket (a second one would take the first one's events).
    (socket as ChannelSocket)[CHANNEL] = this;
    socket.on("data", SecureChannel.#onSocketData);
    socket.on("end", SecureChannel.#onSocketEnd);
    socket.on("error", SecureChannel.#onSocketError);
    socket.on("close", SecureChannel.#onSocketClose);
    socket.on("drain", SecureChannel.#onSocketDrain);
  }

  /** The channel of a socket, from the socket listeners (where `this` is the socket). */
  static #of(socket: Socket): SecureChannel {
    return (socket as ChannelSocket)[CHANNEL] as SecureChannel;
  }

  static readonly #onSocketData = function (this: Socket, d: Buffer): void {
    SecureChannel.#of(this).#onCiphertext(d);
  };

  static readonly #onSocketEnd = function (this: Socket): void {
    SecureChannel.#of(this).#onPeerEnd(false);
  };

  static readonly #onSocketError = function (this: Socket, e: Error): void {
    const ch = SecureChannel.#of(this);
    ch.#fail(new ProxyError("IO", `${ch.side} connection: ${e.message}`, { cause: e }));
  };

  static readonly #onSocketClose = function (this: Socket): void {
    const ch = SecureChannel.#of(this);
    ch.#fail(new ProxyError("IO", `${ch.side} closed the connection`));
    ch.#events?.close?.();
  };

  static readonly #onSocketDrain = function (this: Socket): void {
    SecureChannel.#of(this).#events?.drain();
  };

  /**
   * Before `prime` and `handshake` (the client side of a MITM tunnel): if the peer's first bytes
   * are not a TLS handshake record, the channel lets go of the socket (paused, its listeners
   * removed, nothing sent), closes its engine, and handshake() rejects with NotTls carrying them.
   */
  detectPlaintext(): void {
    this.#detectPlaintext = true;
  }

  #letGo(bytes: Uint8Array): void {
    this.#destroyed = true;
    const s = this.socket;
    s.pause();
    s.off("data", SecureChannel.#onSocketData);
    s.off("end", SecureChannel.#onSocketEnd);
    s.off("error", SecureChannel.#onSocketError);
    s.off("close", SecureChannel.#onSocketClose);
    s.off("drain", SecureChannel.#onSocketDrain);
    delete (s as ChannelSocket)[CHANNEL];
    this.conn.close();
    this.#notTls = new NotTls(bytes);
    const w = this.#handshakeWaiter;
    this.#handshakeWaiter = null;
    w?.reject(this.#notTls);
  }

  /** Feeds bytes that were read before this channel existed (e.g. after the CONNECT headers). */
  prime(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#onCiphertext(bytes);
  }

  /** Runs the handshake to completion. */
  handshake(): Promise<HandshakeInfo> {
    return new Promise((resolve, reject) => {
      if (this.#notTls !== null) {
        reject(this.#notTls);
        return;
      }
      if (this.socket.destroyed || this.#destroyed) {
        // The peer went away before the handshake began: its close event is already past.
        this.destroy();
        reject(
          this.#failure ??
            new ProxyError("IO", `${this.side} closed the connection before the TLS handshake`),
        );
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
      events.error(this.#failure ?? new ProxyError("IO", `${this.side} closed the connection`));
      return;
    }
    this.#events = events;
    this.#drainPlaintext();
    this.#deliverEnd(); // the peer may have finished before the relay started
  }

  /**
   * Encrypts and sends; returns false when the socket buffer is full (wait for drain). After
   * `end()` (close_notify sent) or `destroy()` nothing more can be sent: the bytes are dropped and
   * false is returned, never an exception.
   *
   * Writes are corked for the rest of the current turn of the event loop: small ones are gathered
   * into one TLS record, and everything written in the turn leaves in one socket write from a
   * microtask (at once past FLUSH_AT_BYTES, and before end / destroy / reset). The bytes are taken
   * (copied or sealed) before this returns: the caller may reuse `plain`.
   */
  write(plain: Uint8Array): boolean {
    if (this.#destroyed || this.socket.writableEnded) return false;
    const n = plain.length;
    if (n === 0) return this.socket.writableLength < RELAY_HIGH_WATER_BYTES;
    if (n < SMALL_WRITE_BYTES) {
      if (this.#gather !== null && this.#gathered + n > this.#gather.length) this.#seal();
      this.#gather ??= takeGather();
      this.#gather.set(plain, this.#gathered);
      this.#gathered += n;
    } else {
      this.#seal();
      this.conn.write(plain);
      this.#sealed += n;
    }
    if (this.#sealed + this.#gathered >= FLUSH_AT_BYTES) return this.#send();
    if (!this.#queued) {
      this.#queued = true;
      sendAtEndOfTurn(this);
    }
    return this.socket.writableLength < RELAY_HIGH_WATER_BYTES;
  }

  /** Sends what was written this turn (called once per turn, from write-cork.ts). */
  sendCorked(): void {
    this.#queued = false;
    if (this.#destroyed) return;
    try {
      this.#send();
    } catch (err) {
      this.#fail(this.#tlsError(err, "TLS_PROTOCOL"));
    }
  }

  /** Seals the gathered small writes into the engine. */
  #seal(): void {
    const g = this.#gather;
    if (g === null) return;
    const n = this.#gathered;
    this.#gather = null;
    this.#gathered = 0;
    try {
      this.conn.write(g.subarray(0, n));
    } finally {
      releaseGather(g);
    }
    this.#sealed += n;
  }

  /** Seals and sends everything written so far; false when the socket buffer is full. */
  #send(): boolean {
    this.#seal();
    this.#sealed = 0;
    return this.#flush() !== false;
  }

  /** Drops what was written but not sealed (the connection is going away without sending it). */
  #dropGather(): void {
    const g = this.#gather;
    this.#gather = null;
    this.#gathered = 0;
    if (g !== null) releaseGather(g);
  }

  /**
   * Half-closes the TCP connection after close_notify, or, with `closeNotify` false, without one
   * (passing a peer's truncation on as a truncation).
   */
  end(closeNotify = true): void {
    if (this.#destroyed || this.socket.writableEnded) return;
    this.#seal();
    this.#sealed = 0;
    if (closeNotify) this.conn.shutdown();
    this.#flush();
    this.socket.end();
  }

  /**
   * Tears down with a TCP reset, sending nothing more (no alert, no close_notify) than what was
   * already written.
   */
  reset(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      if (!this.socket.writableEnded) this.#send();
    } catch {
      // best effort: the connection is being reset anyway
    }
    this.#dropGather();
    resetSocket(this.socket);
    this.conn.close();
    this.#abandonHandshake();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      if (this.socket.writableEnded) this.#flush();
      else this.#send();
    } catch {
      // best effort: an alert may be lost
    }
    this.#dropGather();
    this.socket.destroy();
    this.conn.close();
    this.#abandonHandshake();
  }

  /**
   * A handshake still waited for when the channel is torn down from this side fails now: its
   * socket's close event finds the channel destroyed and settles nothing, and the caller's
   * handshake deadline would otherwise keep the process alive until it fires.
   */
  #abandonHandshake(): void {
    const w = this.#handshakeWaiter;
    if (w === null) return;
    this.#handshakeWaiter = null;
    w.reject(
      this.#failure ??
        new ProxyError("IO", `${this.side} connection closed by the proxy during the TLS handshake`),
    );
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Sends what the engine has; false when the socket is full, null when there was nothing. */
  #flush(): boolean | null {
    let ok: boolean | null = null;
    for (let out = this.conn.takeOutput(); out !== null; out = this.conn.takeOutput()) {
      ok = writeWithRoom(this.socket, out);
    }
    return ok;
  }

  #onCiphertext(d: Uint8Array): void {
    if (this.#destroyed) return;
    if (this.#detectPlaintext) {
      this.#detectPlaintext = false;
      if (d[0] !== TLS_HANDSHAKE_RECORD) {
        this.#letGo(d);
        return;
      }
    }
    if (!this.#established && this.side === "client") {
      const alert = plaintextAlert(d);
      if (alert >= 0) this.#clientAlert = alert;
    }
    try {
      this.conn.feed(d);
      if (this.#established) this.#drainPlaintext();
      else this.#step();
    } catch (err) {
      this.#fail(this.#tlsError(err, "TLS_PROTOCOL"));
    }
  }

  #step(): void {
    if (this.#established || this.#destroyed) return;
    let state: "done" | "want";
    try {
      state = this.conn.handshake();
      if (this.#flush() !== null) this.#spoke = true;
    } catch (err) {
      this.#fail(this.#tlsError(err, "TLS_HANDSHAKE"));
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
        this.#onPeerEnd(true);
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

  /**
   * close_notify (`closeNotify`) or TCP FIN: either ends the peer's direction; the end event says
   * which, and the caller decides whether a FIN alone is a truncation.
   */
  #onPeerEnd(closeNotify: boolean): void {
    if (this.#destroyed) return;
    if (!this.#established) {
      // A client that does not trust the proxy's CA may just close after our certificate (Bun,
      // Java): say so, as for one that sends an alert.
      const why =
        this.side === "client" && this.#spoke
          ? "the client closed the connection after the proxy's certificate, without an alert (a client that does not trust the PolyTLS CA may; README: Trusting the CA)"
          : "peer closed the connection";
      this.#fail(new ProxyError("TLS_HANDSHAKE", `${this.side} TLS handshake: ${why}`));
      return;
    }
    if (closeNotify) this.#closeNotify = true;
    if (this.#ended) return;
    this.#ended = true;
    // A close_notify may still sit in ciphertext fed before the FIN: read it before judging.
    if (!closeNotify) this.#drainPlaintext();
    this.#deliverEnd();
  }

  /** Tells the relay once, after every decrypted byte was delivered. */
  #deliverEnd(): void {
    if (!this.#ended || this.#endDelivered || !this.#events || this.#destroyed) return;
    this.#endDelivered = true;
    this.#events.end(this.#closeNotify);
  }

  /** The alert the client ended its handshake with: seen in plaintext, else as the engine read it; -1. */
  #alertFromClient(): number {
    if (this.#clientAlert >= 0) return this.#clientAlert;
    try {
      return this.conn.alertReceived() ?? -1;
    } catch {
      return -1; // the connection is already gone
    }
  }

  /** An engine error with one prefix naming the side: "upstream TLS handshake: received alert …". */
  #tlsError(err: unknown, code: "TLS_PROTOCOL" | "TLS_HANDSHAKE"): ProxyError {
    const e = ProxyError.wrap(err, code);
    const alert = this.#established || this.side !== "client" ? -1 : this.#alertFromClient();
    const refused = alert >= 0 ? refusedCertificate(alert) : null;
    if (refused !== null)
      return new ProxyError("TLS_HANDSHAKE", `${this.side} TLS handshake: ${refused}`, { cause: e });
    return new ProxyError(e.code, `${this.side} TLS ${e.message}`, { cause: e });
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
