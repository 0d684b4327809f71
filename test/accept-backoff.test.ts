/**
 * The open-file limit, end to end: a proxy child started under `ulimit -n 64` lowers max_tunnels to
 * fit, stops accepting (one warning) when a flood of connections uses every descriptor, instead of
 * spinning on failed accept4 calls, accepts again once clients let go, and exits 0 on SIGTERM with
 * its drain report.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import * as net from "node:net";
import { tunnelsThatFit } from "../src/proxy/fd-limit.ts";
import { CLI_MAIN, killAll, listenPort, makeSandbox, RunningChild } from "./helpers/exe-process.ts";
import { connectRequest } from "./helpers/proxy-env.ts";
import { readHead } from "./helpers/wait.ts";

const FD_LIMIT = 64; // descriptors; the runtime needs ~10, so a few dozen connections exhaust it
const FLOOD = 120; // connections opened at once, far more than fit
const PAUSE_MSG = "open-file limit reached: not accepting new connections for now";

let sandbox: { root: string; env: Record<string, string> };

beforeAll(() => {
  sandbox = makeSandbox("polytls-fd-");
});

afterAll(async () => {
  await killAll();
  rmSync(sandbox.root, { recursive: true, force: true });
});

/** A client that keeps its side open after the proxy's FIN (so the proxy holds the descriptor). */
function holdOpen(port: number): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    s.once("connect", () => resolve(s));
    s.once("error", () => resolve(null)); // refused / reset once the proxy stopped listening
  });
}

describe("open-file limit", () => {
  test("under ulimit -n 64: clamped, pauses accepting with one warning, accepts again, exits 0", async () => {
    const proxy = new RunningChild(
      [
        "/bin/bash",
        "-c",
        `ulimit -n ${FD_LIMIT}; exec "$0" "$@"`,
        process.execPath,
        CLI_MAIN,
        "run",
        "--listen",
        "127.0.0.1:0",
        "--ca-dir",
        "ca",
        "--log-format",
        "json",
      ],
      { cwd: sandbox.root, env: sandbox.env },
    );
    const port = listenPort(await proxy.waitForLog("proxy listening"));
    const clamp = await proxy.waitForLog("proxy.limits.max_tunnels lowered to fit the open-file limit");
    expect(clamp).toMatchObject({ openFilesLimit: FD_LIMIT, maxTunnels: tunnelsThatFit(FD_LIMIT) });

    const held = await Promise.all(Array.from({ length: FLOOD }, () => holdOpen(port)));
    await proxy.waitForLog(PAUSE_MSG);
    for (const s of held) s?.destroy();
    await proxy.waitForLog("accepting new connections again", () => true, 20_000);

    // Responsive again: a request is read, parsed and answered by the tunnel.
    const s = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((r, j) => {
      s.once("connect", r);
      s.once("error", j);
    });
    s.write(connectRequest("localhost:1", { "X-PolyTLS-Upstream-Profile": "no-such-profile" }));
    expect(await readHead(s)).toStartWith("HTTP/1.1 400");
    s.destroy();

    expect(proxy.logs().filter((r) => r.msg === PAUSE_MSG).length).toBe(1);
    expect(proxy.logs().filter((r) => r.msg === PAUSE_MSG)[0]?.level).toBe("warn");
    proxy.signal("SIGTERM");
    expect(await proxy.waitForExit(15_000)).toBe(0);
    expect(proxy.logs().find((r) => r.msg === "stopped")).toMatchObject({ drained: 0, reset: 0 });
  }, 60_000);
});
