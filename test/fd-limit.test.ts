/**
 * raiseFdLimit: a child process whose soft open-file limit was lowered raises it to the hard one.
 * Bun raises the limit itself at start-up, so the child's limit is lowered from outside once it
 * runs (prlimit(2) through python3, which the test suite already needs), then the child calls it.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";

/** "Max open files  <soft>  <hard>  files" in /proc/<pid>/limits. */
function nofile(limits: string): { soft: number; hard: number } {
  const m = /^Max open files\s+(\d+)\s+(\d+)/m.exec(limits);
  if (!m) throw new Error("no 'Max open files' line in /proc/self/limits");
  return { soft: Number(m[1]), hard: Number(m[2]) };
}

const FD_LIMIT_TS = new URL("../src/upstream/native/fd-limit.ts", import.meta.url).pathname;
/** Says "ready", waits for a line on stdin, then reports its limits around raiseFdLimit(). */
const CHILD = `
import { readFileSync } from "node:fs";
import { raiseFdLimit } from ${JSON.stringify(FD_LIMIT_TS)};
const limits = () => readFileSync("/proc/self/limits", "utf8");
console.log("ready");
for await (const _ of console) {
  const before = limits();
  const result = raiseFdLimit();
  console.log(JSON.stringify({ before, result, after: limits() }));
  break;
}
`;

describe("open-file limit", () => {
  test("raiseFdLimit raises the soft RLIMIT_NOFILE to the hard limit and returns it", async () => {
    const { hard } = nofile(readFileSync("/proc/self/limits", "utf8"));
    const low = Math.min(256, Math.floor(hard / 2));
    expect(low).toBeGreaterThan(0);
    const child = Bun.spawn([process.execPath, "-e", CHILD], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const nextLine = async (): Promise<string> => {
      while (!text.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`child ended: ${text}${await new Response(child.stderr).text()}`);
        text += value;
      }
      const [line, ...rest] = text.split("\n");
      text = rest.join("\n");
      return line ?? "";
    };
    expect(await nextLine()).toBe("ready");
    const lower = Bun.spawnSync([
      "python3",
      "-c",
      `import resource; resource.prlimit(${child.pid}, resource.RLIMIT_NOFILE, (${low}, ${hard}))`,
    ]);
    expect(lower.stderr.toString()).toBe("");
    child.stdin.write("go\n");
    child.stdin.end();
    const r = JSON.parse(await nextLine()) as { before: string; result: number | null; after: string };
    await child.exited;
    expect(nofile(r.before)).toEqual({ soft: low, hard });
    expect(r.result).toBe(hard);
    expect(nofile(r.after)).toEqual({ soft: hard, hard });
  });
});
