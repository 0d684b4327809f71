/**
 * The bench's child processes (origin and proxy): starting them, learning their ports, draining the
 * proxy's log pipe, reading their RSS and fd limits from /proc, and killing them on any exit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const STOP_GRACE_MS = 3000; // ms between SIGTERM and SIGKILL when stopping a child
const LOG_TAIL_LINES = 20; // proxy log lines kept for error messages
const PROBLEM_LINES = 5; // first warn / error log lines kept (metadata only: the proxy logs no payloads)

const children = new Set<ChildProcess>();

/** Sends SIGKILL to every child still running (synchronous: safe in an 'exit' handler). */
export function killAllChildren(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
}

export interface Started {
  readonly pid: number;
  readonly port: number;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  stop(): Promise<void>;
}

function track(child: ChildProcess, name: string): number {
  if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child.pid;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGTERM");
    });
}

/** Calls `onLine` for each complete line of `stream`; the stream keeps flowing (the pipe never fills). */
function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (d: string) => {
    const lines = (rest + d).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) onLine(l);
  });
}

/** Resolves with the result of `found` once it returns a value, rejecting on exit or timeout. */
function waitFor<T>(
  child: ChildProcess,
  name: string,
  timeoutMs: number,
  subscribe: (found: (value: T) => void) => void,
  tail: () => string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not start within ${timeoutMs} ms${tail()}`));
    }, timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before listening${tail()}`));
    };
    child.once("exit", onExit);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${name}: ${err.message}`));
    });
    subscribe((value) => {
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve(value);
    });
  });
}

/**
 * Starts an origin script of bench/ (`origin.ts`, the raw HTTP/1.1 one, or `origin-http.ts`, h2 +
 * HTTP/1.1) with the bun running this script; it prints its port as its first line.
 */
export async function startOrigin(
  keyPath: string,
  chainPath: string,
  timeoutMs: number,
  scriptName: "origin.ts" | "origin-http.ts" = "origin.ts",
): Promise<Started> {
  const script = new URL(`./${scriptName}`, import.meta.url).pathname;
  const child = spawn(process.execPath, [script, keyPath, chainPath], { stdio: ["pipe", "pipe", "inherit"] });
  const pid = track(child, "origin");
  const port = await waitFor<number>(
    child,
    "origin",
    timeoutMs,
    (found) => {
      let done = false;
      eachLine(child.stdout!, (line) => {
        const port = Number(line.trim());
        if (!done && Number.isInteger(port) && port > 0) {
          done = true;
          found(port);
        }
      });
    },
    () => "",
  );
  return { pid, port, stop: stopper(child) };
}

export interface ProxyProcess extends Started {
  /** Log lines seen per level ("info", "warn", "error", ...), counted after startup. */
  readonly levels: Map<string, number>;
  /** The first warn / error lines logged after startup. */
  readonly problems: string[];
  /** The last log lines, for error messages. */
  tail(): string[];
}

function levelOf(line: string): string {
  return /"level":"([a-z]+)"/.exec(line)?.[1] ?? "other";
}

/** The port in the `listen` field ("127.0.0.1:PORT") of the first "proxy listening" JSON line. */
function listeningPort(line: string): number | null {
  if (!line.includes("proxy listening")) return null;
  try {
    const rec = JSON.parse(line) as { msg?: unknown; listen?: unknown };
    if (rec.msg !== "proxy listening" || typeof rec.listen !== "string") return null;
    const port = Number(rec.listen.slice(rec.listen.lastIndexOf(":") + 1));
    return Number.isInteger(port) && port > 0 ? port : null;
  } catch {
    return null;
  }
}

/** Starts the proxy (`cmd` + args); its JSON log on stderr gives the port and is drained afterwards. */
export async function startProxy(cmd: string[], args: string[], timeoutMs: number): Promise<ProxyProcess> {
  const [file, ...pre] = cmd;
  if (file === undefined) throw new Error("empty proxy command");
  const child = spawn(file, [...pre, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  const pid = track(child, "proxy");
  const lines: string[] = [];
  const levels = new Map<string, number>();
  const problems: string[] = [];
  let found: ((port: number) => void) | null = null;
  eachLine(child.stderr!, (line) => {
    lines.push(line);
    if (lines.length > LOG_TAIL_LINES) lines.shift();
    if (found) {
      const port = listeningPort(line);
      if (port !== null) {
        const f = found;
        found = null;
        f(port);
      }
      return;
    }
    const level = levelOf(line);
    levels.set(level, (levels.get(level) ?? 0) + 1);
    if ((level === "warn" || level === "error") && problems.length < PROBLEM_LINES) problems.push(line);
  });
  const tail = () => (lines.length ? `; last log lines:\n  ${lines.join("\n  ")}` : "");
  const port = await waitFor<number>(
    child,
    "proxy",
    timeoutMs,
    (f) => {
      found = f;
    },
    tail,
  );
  return { pid, port, stop: stopper(child), levels, problems, tail: () => [...lines] };
}

export type MitmHttpMode = "full" | "tls-relay";

/**
 * The proxy with `proxy.mitm.http = <mode>` (a config file passed with --config), its own CA dir
 * `<work>/proxy-ca-<name>`, trusting the origin's CA upstream, JSON log at info (drained).
 */
export async function startModeProxy(o: {
  work: string;
  cmd: string[];
  originCaPath: string;
  mode: MitmHttpMode;
  name: string;
  timeoutMs: number;
}): Promise<{ proxy: ProxyProcess; caPem: string }> {
  const caDir = join(o.work, `proxy-ca-${o.name}`);
  mkdirSync(caDir, { mode: 0o700 });
  const config = join(o.work, `proxy-${o.name}.toml`);
  writeFileSync(config, `[proxy.mitm]\nhttp = "${o.mode}"\n`);
  const args = ["run", "--config", config, "--listen", "127.0.0.1:0", "--ca-dir", caDir];
  args.push("--upstream-ca-file", o.originCaPath, "--log-format", "json", "--log-level", "info");
  const proxy = await startProxy(o.cmd, args, o.timeoutMs);
  return { proxy, caPem: readFileSync(join(caDir, "certificate.pem"), "utf8") };
}

/** USER_HZ: the unit of utime / stime in /proc/<pid>/stat and of the times in /proc/stat. */
export const CLOCK_TICKS_PER_S = 100;

/** CPU time `pid` has used so far (user + system), ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

/** Resident set size of `pid` in KiB (VmRSS in /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Soft limit on open files of `pid` ("self" for this process), or Infinity when unlimited. */
export function openFilesLimit(pid: number | "self"): number {
  const m = /^Max open files\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
  const v = m?.[1];
  if (v === undefined) throw new Error(`no open-files limit for ${pid}`);
  return v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v);
}
