import * as net from "node:net";

/** Bounded polling for tests: waits until `cond()` holds, or throws after `ms` (never a timing assertion). */
export async function waitUntil(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const STEP_MS = 10; // ms between checks
  for (let waited = 0; !cond(); waited += STEP_MS) {
    if (waited >= ms) throw new Error(`not within ${ms} ms: ${what}`);
    await Bun.sleep(STEP_MS);
  }
}

/** What a socket received so far (latin1) and whether it closed; its errors count as the close. */
export function collectText(s: net.Socket): { text(): string; closed(): boolean } {
  let text = "";
  let closed = false;
  s.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  s.on("error", () => {});
  s.on("close", () => {
    closed = true;
  });
  return { text: () => text, closed: () => closed };
}

/** Opens a TCP connection (optionally from a given loopback address) and resolves once connected. */
export async function openSocket(port: number, localAddress?: string): Promise<net.Socket> {
  const s = net.connect({ host: "127.0.0.1", port, ...(localAddress ? { localAddress } : {}) });
  s.on("error", () => {});
  await new Promise<void>((r, j) => {
    s.once("connect", r);
    s.once("error", j);
  });
  return s;
}

/** Reads until the end of an HTTP response head; resolves with the head text ("" if closed first). */
export function readHead(s: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        s.off("data", onData);
        resolve(buf.slice(0, end));
      }
    };
    s.on("data", onData);
    s.once("close", () => resolve(buf));
  });
}

/** The complete lines a child prints, as they come: one printed line may take more than one read. */
export class LineReader {
  readonly lines: string[] = [];
  #partial = "";

  push(chunk: Buffer | string): void {
    const parts = (this.#partial + chunk.toString()).split("\n");
    this.#partial = parts.pop() ?? "";
    this.lines.push(...parts);
  }
}
