/** Opens the upstream TCP connection with a timeout (seed step 3). */
import * as net from "node:net";
import { ProxyError } from "../errors/proxy-error.ts";

/** errno values that mean "this upstream cannot be reached" (502), as opposed to a timeout (504). */
const TIMEOUT_CODES = new Set(["ETIMEDOUT"]);

export function dial(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ProxyError("UPSTREAM_TIMEOUT", `connecting to ${host}:${port} timed out after ${timeoutMs} ms`),
      );
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.pause();
      resolve(socket);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const code = err.code ?? "";
      reject(
        new ProxyError(
          TIMEOUT_CODES.has(code) ? "UPSTREAM_TIMEOUT" : "UPSTREAM_UNREACHABLE",
          `cannot connect to ${host}:${port}: ${code || err.message}`,
          { cause: err },
        ),
      );
    });
  });
}
