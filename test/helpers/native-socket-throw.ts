/**
 * Run by test/native-socket.test.ts in its own process (bun:test fails any test that sees an
 * uncaught exception): a `data` listener of a NativeSocket throws once; prints what happened as
 * JSON: the socket's events in order and the uncaught exceptions' messages.
 */
import * as net from "node:net";
import { NativeSocket } from "../../src/proxy/native-socket.ts";

const events: string[] = [];
const uncaught: string[] = [];
process.on("uncaughtException", (err) => uncaught.push(err.message));

const done = new Promise<void>((resolve) => {
  const listener = Bun.listen<NativeSocket | undefined>({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: NativeSocket.listenHandlers((s) => {
      let first = true;
      s.on("data", (d: Buffer) => {
        events.push(`data:${d.toString()}`);
        if (first) {
          first = false;
          throw new Error("bug in a data listener");
        }
      });
      s.on("end", () => {
        events.push("end");
        s.end();
      });
      s.on("error", (e: Error) => events.push(`error:${e.message}`));
      s.on("close", () => {
        events.push("close");
        listener.stop(true);
        resolve();
      });
    }),
  });
  const peer = net.connect({ host: "127.0.0.1", port: listener.port, allowHalfOpen: true });
  peer.on("error", () => {});
  peer.write("one");
  setTimeout(() => peer.end("two"), 50);
});
await done;
console.log(JSON.stringify({ events, uncaught }));
process.exit(0);
