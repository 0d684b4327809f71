/**
 * Child processes for the CLI and executable tests: run a command to completion with a time bound,
 * or start a long-running one (the proxy) and wait for its JSON log lines and its exit. Every child
 * started here is remembered so that `killAll()` (in afterAll) can end whatever is still running.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

/** Default bound on one short command (`--version`, `ca init`, `run --check`...), in ms. */
export const COMMAND_TIMEOUT_MS = 15_000; // ms; each takes ~0.1 s here, generous for slow CI machines
/** Default bound on waiting for one log line of a running proxy, in ms. */
export const LOG_WAIT_MS = 10_000; // ms; start-up (CA creation, native load) takes well under 1 s

/** The compiled executable `make build` writes. */
export const EXE_PATH = resolve(import.meta.dir, "../../dist/polytls");
/** The CLI entry point, run with `process.execPath` (faster than the compiled executable). */
export const CLI_MAIN = resolve(import.meta.dir, "../../src/cli/main.ts");

type Child = Subprocess<"ignore", "pipe", "pipe">;

const live = new Set<Child>();

/** A temp folder (under the OS temp dir) with HOME and XDG_CACHE_HOME folders inside it. */
export function makeSandbox(prefix = "polytls-exe-"): { root: string; env: Record<string, string> } {
  // realpath: children report their working directory resolved, even when TMPDIR is a symlink.
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  const home = join(root, "home");
  const cache = join(root, "cache");
  mkdirSync(home);
  mkdirSync(cache);
  return { root, env: { HOME: home, XDG_CACHE_HOME: cache, PATH: "/usr/bin:/bin" } };
}

/** Throws (never skips) when `make build` has not produced dist/polytls. */
export function requireExecutable(): string {
  if (!existsSync(EXE_PATH)) throw new Error(`${EXE_PATH} is missing: run make build first`);
  return EXE_PATH;
}

/**
 * Empty folders under `root`, each holding only the executable. The first gets a real copy, later
 * ones a hard link to it (same bytes, without 100 MiB of disk per test).
 */
export class ExeFolders {
  readonly #root: string;
  #count = 0;
  #first: string | undefined;

  constructor(root: string) {
    this.#root = root;
  }

  /** A new folder with the executable; returns [folder, executable path]. */
  create(): [string, string] {
    const src = requireExecutable();
    const dir = join(this.#root, `exe-${++this.#count}`);
    mkdirSync(dir);
    const exe = join(dir, "polytls");
    if (this.#first === undefined) {
      copyFileSync(src, exe);
      this.#first = exe;
    } else {
      linkSync(this.#first, exe);
    }
    return [dir, exe];
  }
}

export interface RunResult {
  code: number;
  stdout: Uint8Array;
  stdoutText: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd: string;
  env: Record<string, string>;
}

function spawnChild(cmd: string[], opts: SpawnOptions): Child {
  const child = Bun.spawn({
    cmd,
    cwd: opts.cwd,
    env: opts.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(child);
  void child.exited.then(() => live.delete(child));
  return child;
}

/** Rejects with `what` after `ms`, unless `p` settles first. */
async function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  try {
    return await Promise.race([p, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `cmd` to completion; kills it and throws if it takes longer than `timeoutMs`. */
export async function runToEnd(
  cmd: string[],
  opts: SpawnOptions & { timeoutMs?: number },
): Promise<RunResult> {
  const child = spawnChild(cmd, opts);
  const out = new Response(child.stdout).arrayBuffer();
  const err = new Response(child.stderr).text();
  const ms = opts.timeoutMs ?? COMMAND_TIMEOUT_MS;
  try {
    const code = await within(child.exited, ms, () => `${cmd.join(" ")} did not exit within ${ms} ms`);
    const stdout = new Uint8Array(await out);
    return { code, stdout, stdoutText: new TextDecoder().decode(stdout), stderr: await err };
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
}

export type LogRecord = Record<string, unknown> & { msg: string; level: string };

/** The port of a "proxy listening" record's `listen` field (`127.0.0.1:PORT`). */
export function listenPort(listening: LogRecord): number {
  const m = /^127\.0\.0\.1:(\d+)$/.exec(String(listening.listen));
  if (m === null) throw new Error(`unexpected listen field: ${JSON.stringify(listening.listen)}`);
  return Number(m[1]);
}

/** A running proxy: its output so far, its JSON log records, and waits on both. */
export class RunningChild {
  readonly child: Child;
  readonly #cmd: string;
  #stdout = "";
  #stderr = "";
  readonly #waiters = new Set<() => void>();
  readonly #drained: Promise<void>;
  /** Both output streams have ended (the process has exited). */
  #done = false;

  constructor(cmd: string[], opts: SpawnOptions) {
    this.#cmd = cmd.join(" ");
    this.child = spawnChild(cmd, opts);
    this.#drained = Promise.all([
      this.#pump(this.child.stdout, (t) => {
        this.#stdout += t;
      }),
      this.#pump(this.child.stderr, (t) => {
        this.#stderr += t;
      }),
    ]).then(() => {
      this.#done = true;
      for (const w of this.#waiters) w();
    });
  }

  async #pump(stream: ReadableStream<Uint8Array>, add: (text: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      add(decoder.decode(chunk, { stream: true }));
      for (const w of this.#waiters) w();
    }
    add(decoder.decode());
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Every complete stderr line that is a JSON object (the proxy's `--log-format json` output). */
  logs(): LogRecord[] {
    const records: LogRecord[] = [];
    for (const line of this.#stderr.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        records.push(JSON.parse(line) as LogRecord);
      } catch {
        // A line still being written; it is complete on the next call.
      }
    }
    return records;
  }

  /** Resolves with the first log record with this `msg` (and matching `where`, if given). */
  waitForLog(
    msg: string,
    where: (r: LogRecord) => boolean = () => true,
    timeoutMs = LOG_WAIT_MS,
  ): Promise<LogRecord> {
    const find = () => this.logs().find((r) => r.msg === msg && where(r));
    let waiter: (() => void) | undefined;
    const found = new Promise<LogRecord>((resolvePromise, reject) => {
      waiter = () => {
        const r = find();
        if (r !== undefined) resolvePromise(r);
        else if (this.#done) {
          reject(new Error(`${this.#cmd} exited before logging "${msg}"; stderr:\n${this.#stderr}`));
        }
      };
      this.#waiters.add(waiter);
      waiter();
    });
    return within(
      found,
      timeoutMs,
      () => `no "${msg}" log line within ${timeoutMs} ms; stderr:\n${this.#stderr}`,
    ).finally(() => {
      if (waiter) this.#waiters.delete(waiter);
    });
  }

  /** The exit code; rejects if the process is still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<number> {
    const code = await within(
      this.child.exited,
      timeoutMs,
      () => `${this.#cmd} still running ${timeoutMs} ms later; stderr:\n${this.#stderr}`,
    );
    await this.#drained;
    return code;
  }

  signal(sig: "SIGINT" | "SIGTERM"): void {
    this.child.kill(sig);
  }
}

/**
 * `polytls run` from source in `root` (config `root/<config>` unless null, CA in `root/ca`, JSON
 * log, a free loopback port), once it listens: the process, its port and its `proxy listening`
 * record.
 */
export async function startRunFromSource(
  root: string,
  env: Record<string, string>,
  config: string | null = "p.toml",
  flags: string[] = [],
): Promise<{ proxy: RunningChild; port: number; listening: LogRecord }> {
  const args = [
    "run",
    ...(config === null ? [] : ["--config", config]),
    ...flags,
    "--listen",
    "127.0.0.1:0",
    "--log-format",
    "json",
    "--ca-dir",
    "ca",
  ];
  const proxy = new RunningChild([process.execPath, CLI_MAIN, ...args], { cwd: root, env });
  const listening = await proxy.waitForLog("proxy listening");
  return { proxy, port: listenPort(listening), listening };
}

/** SIGKILLs every child still running (afterAll), and waits until they are gone. */
export async function killAll(): Promise<void> {
  const children = [...live];
  for (const c of children) c.kill("SIGKILL");
  await Promise.allSettled(children.map((c) => c.exited));
}
