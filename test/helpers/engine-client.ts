/** Drives an engine client connection over a real loopback socket (tests only). */
import * as net from "node:net";
import { SecureChannel } from "../../src/proxy/secure-channel.ts";
import type { ClientConnectOptions, HandshakeInfo, TlsConnector } from "../../src/upstream/engine.ts";

export interface EngineExchange {
  info: HandshakeInfo;
  response: string;
  sessions: Uint8Array[];
}

/** Handshakes through `connector` with 127.0.0.1:port, sends one GET, returns the response. */
export async function engineGet(
  connector: TlsConnector,
  port: number,
  opts: ClientConnectOptions,
  path = "/",
): Promise<EngineExchange> {
  const socket = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const ch = new SecureChannel(socket, connector.connect(opts));
  const sessions: Uint8Array[] = [];
  ch.onSession = (s) => sessions.push(s);
  try {
    const info = await ch.handshake();
    const response = await new Promise<string>((resolve, reject) => {
      let text = "";
      ch.start({
        data(d) {
          text += Buffer.from(d).toString("latin1");
          const m = /Content-Length: (\d+)\r\n/i.exec(text);
          const end = text.indexOf("\r\n\r\n");
          if (m && end >= 0 && text.length >= end + 4 + Number(m[1])) resolve(text);
        },
        end: () => resolve(text),
        error: reject,
        drain() {},
      });
      ch.write(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${opts.host}\r\n\r\n`));
    });
    // Give the server's post-handshake session tickets a moment to arrive with the response.
    return { info, response, sessions };
  } finally {
    ch.end();
    ch.destroy();
  }
}
