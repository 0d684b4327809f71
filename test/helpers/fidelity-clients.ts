/**
 * The fidelity matrix's clients (tests only): implementations that are not ours, each run as a
 * child process that performs a batch of GETs, every one through its own CONNECT proxy port.
 * curl is run once a job (its options differ per proxy); Python, Node, Go and Java read the whole
 * batch on stdin and answer "RESULT <id> <status> <base64 body>" lines. Go and Java are used only
 * when installed; the Go client is built once a run into a temp dir, offline.
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";

export interface Job {
  id: string;
  proxyPort: number;
  url: string;
  /** curl only: extra arguments for this job (headers, body). */
  curlArgs?: string[];
}

export interface JobResult {
  status: number;
  body: string;
}

export interface ClientContext {
  /** The proxy's CA certificate, PEM file. */
  caPath: string;
  /** A private temp dir for build outputs and the Java trust store. */
  tmp: string;
}

export interface MatrixClient {
  name: string;
  /** Runs every job; results by job id (a job without a result failed outright). */
  run(jobs: Job[], ctx: ClientContext): Promise<Map<string, JobResult>>;
}

const HELPERS = import.meta.dir;
/** Wall-clock cap of one client process, ms (a hung client fails its cells instead of the run). */
const PROCESS_TIMEOUT_MS = 90_000;

/** The environment without proxy variables: a `no_proxy=localhost` would bypass the proxy. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/_proxy$/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

export interface Ran {
  code: number;
  out: string;
  err: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { stdin?: string; env?: Record<string, string> } = {},
) {
  return new Promise<Ran>((resolve) => {
    const p = spawn(cmd, args, { env: opts.env ?? cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), PROCESS_TIMEOUT_MS);
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    p.on("error", (e) => {
      err += String(e);
    });
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err });
    });
    p.stdin.end(opts.stdin ?? "");
  });
}

function parseResults(out: string): Map<string, JobResult> {
  const results = new Map<string, JobResult>();
  for (const line of out.split("\n")) {
    const [tag, id, status, b64] = line.trim().split(" ");
    if (tag !== "RESULT" || id === undefined) continue;
    results.set(id, { status: Number(status), body: Buffer.from(b64 ?? "", "base64").toString("utf8") });
  }
  return results;
}

const stdinJobs = (jobs: Job[]) => jobs.map((j) => `${j.id} ${j.proxyPort} ${j.url}\n`).join("");

async function batch(cmd: string, args: string[], jobs: Job[], env?: Record<string, string>) {
  const r = await run(cmd, args, { stdin: stdinJobs(jobs), ...(env ? { env } : {}) });
  const results = parseResults(r.out);
  if (results.size < jobs.length) console.error(`${cmd} exited ${r.code}: ${r.err.slice(0, 2000)}`);
  return results;
}

/** One curl process a job: `curl --http2` or `--http1.1` through `-x`, status on the last line. */
export function curlClient(flag: "--http2" | "--http1.1"): MatrixClient {
  const STATUS_MARK = "\n@@status ";
  return {
    name: `curl ${flag}`,
    async run(jobs, ctx) {
      const results = new Map<string, JobResult>();
      for (const j of jobs) {
        const r = await run("curl", [
          flag,
          "-sS",
          "--max-time",
          "20",
          "--cacert",
          ctx.caPath,
          "-x",
          `http://127.0.0.1:${j.proxyPort}`,
          "-w",
          `${STATUS_MARK}%{http_code}`,
          ...(j.curlArgs ?? []),
          j.url,
        ]);
        const at = r.out.lastIndexOf(STATUS_MARK);
        if (at < 0 || r.code !== 0) {
          results.set(j.id, { status: 0, body: `curl exited ${r.code}: ${r.err}` });
          continue;
        }
        results.set(j.id, { status: Number(r.out.slice(at + STATUS_MARK.length)), body: r.out.slice(0, at) });
      }
      return results;
    },
  };
}

export function pythonClient(lib: "urllib" | "requests"): MatrixClient {
  return {
    name: `python ${lib}`,
    run: (jobs, ctx) => batch("python3", [join(HELPERS, "fidelity-client.py"), lib, ctx.caPath], jobs),
  };
}

export const nodeClient: MatrixClient = {
  name: "node https",
  run: (jobs, ctx) => batch("node", [join(HELPERS, "fidelity-client.mjs"), ctx.caPath], jobs),
};

export const goClient: MatrixClient = {
  name: "go net/http",
  async run(jobs, ctx) {
    const bin = join(ctx.tmp, "fidelity-client-go");
    // Offline, standard library only, no module file: a one-file build.
    const env = cleanEnv({ GOFLAGS: "-mod=mod", GOPROXY: "off", GOTOOLCHAIN: "local" });
    const b = await run("go", ["build", "-o", bin, join(HELPERS, "fidelity-client.go")], { env });
    if (b.code !== 0) throw new Error(`go build failed: ${b.err}`);
    return batch(bin, [ctx.caPath], jobs);
  },
};

export const javaClient: MatrixClient = {
  name: "java HttpClient",
  async run(jobs, ctx) {
    const store = join(ctx.tmp, "truststore.p12");
    const PASSWORD = "changeit"; // a throwaway trust store of test data, public on purpose
    const k = await run("keytool", [
      "-importcert",
      "-noprompt",
      "-alias",
      "polytls-test",
      "-file",
      ctx.caPath,
      "-keystore",
      store,
      "-storetype",
      "PKCS12",
      "-storepass",
      PASSWORD,
    ]);
    if (k.code !== 0) throw new Error(`keytool failed: ${k.err}`);
    return batch(
      "java",
      [
        `-Djavax.net.ssl.trustStore=${store}`,
        `-Djavax.net.ssl.trustStorePassword=${PASSWORD}`,
        "-Djavax.net.ssl.trustStoreType=PKCS12",
        join(HELPERS, "fidelity-client.java"),
      ],
      jobs,
    );
  },
};

const onPath = (cmd: string) => Bun.which(cmd) !== null;
const pythonHas = (module: string) =>
  spawnSync("python3", ["-c", `import ${module}`], { env: cleanEnv() }).status === 0;

/** Every client installed here, in matrix order (Go and Java and requests only when present). */
export function installedClients(): MatrixClient[] {
  const list = [curlClient("--http2"), curlClient("--http1.1"), pythonClient("urllib")];
  if (pythonHas("requests")) list.push(pythonClient("requests"));
  list.push(nodeClient);
  if (onPath("go")) list.push(goClient);
  if (onPath("java") && onPath("keytool")) list.push(javaClient);
  return list;
}
