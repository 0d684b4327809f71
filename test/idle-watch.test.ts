/**
 * idleWatch: watches of one timeout share a ticker but fire independently, only after a quiet
 * period of at least the timeout; a stopped watch never fires; the shared ticker stops with the
 * last watch (the process can exit).
 */
import { describe, expect, test } from "bun:test";
import { idleWatch } from "../src/proxy/timeout.ts";

const MS = 60; // ms; short timeout for the test

describe("idleWatch", () => {
  test("a touched watch stays alive while a quiet one of the same timeout fires", async () => {
    const fired: string[] = [];
    const started = performance.now();
    let quietAt = 0;
    const quiet = idleWatch(MS, () => {
      quietAt = performance.now();
      fired.push("quiet");
    });
    const busy = idleWatch(MS, () => fired.push("busy"));
    const stopped = idleWatch(MS, () => fired.push("stopped"));
    stopped.stop();
    for (let i = 0; i < 12; i++) {
      busy.touch();
      await Bun.sleep(MS / 4);
    }
    expect(fired).toEqual(["quiet"]);
    // Never before the timeout (no upper bound is checked: the machine may be slow).
    expect(quietAt - started).toBeGreaterThanOrEqual(MS - 1);
    busy.stop();
    quiet.stop(); // a no-op after it fired
    await Bun.sleep(MS * 2);
    expect(fired).toEqual(["quiet"]);
  });

  test("a watch created after the ticker started still gets its full timeout", async () => {
    const first = idleWatch(MS, () => {});
    await Bun.sleep(MS / 2 - 5); // just before a shared tick
    const created = performance.now();
    let at = 0;
    const second = idleWatch(MS, () => {
      at = performance.now();
    });
    for (let i = 0; i < 40 && at === 0; i++) await Bun.sleep(MS / 4);
    expect(at).toBeGreaterThan(0);
    expect(at - created).toBeGreaterThanOrEqual(MS - 1);
    first.stop();
    second.stop();
  });
});
