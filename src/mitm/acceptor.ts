/**
 * The client-facing TLS of a MITM tunnel (seed steps 6-8): present the leaf minted for the
 * CONNECT host, replay the bytes read past the CONNECT head, complete the handshake offering the
 * profile's ALPN list, then check that the client's SNI names the CONNECT host. A client whose
 * first bytes are not a TLS record is handed back (`plaintext`: src/proxy/tunnel-plaintext.ts).
 */
import { ProxyError } from "../errors/proxy-error.ts";
import type { Leaf } from "../pki/leaf.ts";
import type { Authority } from "../proxy/authority.ts";
import { hostsEqual } from "../proxy/authority.ts";
import type { ByteSocket as Socket } from "../proxy/byte-socket.ts";
import { NotTls, SecureChannel } from "../proxy/secure-channel.ts";
import { withAbort, withTimeout } from "../proxy/timeout.ts";
import type { HandshakeInfo, UpstreamTlsEngine } from "../upstream/engine.ts";

export interface AcceptedClient {
  channel: SecureChannel;
  info: HandshakeInfo;
}

/** The client did not start TLS: what it sent so far; the socket is paused, nothing was sent. */
export interface PlaintextClient {
  plaintext: Uint8Array;
}

/**
 * Throws SNI_MISMATCH unless `sni` names `target`. Absent SNI is fine for IP literals and for
 * single-label names (`localhost`, `jenkins`), for which Java's JSSE sends none (RFC 6066 §3 asks
 * for a fully qualified name): the leaf is minted for the CONNECT host all the same.
 */
export function checkSni(sni: string | null, target: Authority): void {
  if (sni === null || sni === "") {
    if (target.kind !== "dns" || !target.host.replace(/\.$/, "").includes(".")) return;
    throw new ProxyError("SNI_MISMATCH", `client sent no SNI for CONNECT host ${target.host}`);
  }
  if (!hostsEqual(sni, target.host)) {
    throw new ProxyError("SNI_MISMATCH", `client SNI "${sni}" does not match CONNECT host ${target.host}`);
  }
}

export async function acceptClient(opts: {
  engine: UpstreamTlsEngine;
  socket: Socket;
  leftover: Uint8Array;
  leaf: Leaf;
  alpn: string[];
  target: Authority;
  timeoutMs: number;
  /** Aborting (proxy stopping) fails the handshake with SHUTDOWN. */
  signal?: AbortSignal;
}): Promise<AcceptedClient | PlaintextClient> {
  const conn = opts.engine.accept({
    certChainDer: opts.leaf.chainDer,
    keyPkcs8Der: opts.leaf.keyPkcs8Der,
    alpn: opts.alpn,
  });
  const channel = new SecureChannel(opts.socket, conn, "client");
  channel.detectPlaintext();
  channel.prime(opts.leftover);
  // Plaintext in the leftover already handed the socket back, paused: it stays paused.
  if (!channel.destroyed) opts.socket.resume();
  try {
    const handshake = withTimeout(channel.handshake(), opts.timeoutMs, () => {
      return new ProxyError("TLS_HANDSHAKE", `client TLS handshake timed out after ${opts.timeoutMs} ms`);
    });
    const info = await withAbort(
      handshake,
      opts.signal,
      () => new ProxyError("SHUTDOWN", "the proxy is stopping"),
    );
    checkSni(info.sni, opts.target);
    opts.socket.pause();
    return { channel, info };
  } catch (err) {
    if (err instanceof NotTls) return { plaintext: err.bytes };
    // A TLS failure of the channel itself already sent its alert and closed; a timeout, an abort
    // or the SNI check resets the connection, as every failure after `200` does.
    channel.reset();
    throw err;
  }
}
