import { type CleanValue, cleanValue, type LogFields, scrubSecrets } from "./redact.ts";

/**
 * A tiny structured logger. One line per event, either
 *   text: `2026-11-25T11:00:00.000Z INFO tunnel closed host=example.com:443 profile=chrome`
 *   json: `{"ts":"2026-11-25T11:00:00.000Z","level":"info","msg":"tunnel closed","host":"example.com:443"}`
 * Every field goes through the guard in redact.ts (secret-looking names are redacted, buffers and
 * objects are never dumped, credential-shaped text is scrubbed); the message is scrubbed too. The
 * sink receives the line without a trailing newline; the default sink writes it plus "\n" to stderr.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
export type { LogFields, LogValue } from "./redact.ts";

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const RESERVED = new Set(["ts", "level", "msg"]);

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  sink?: (line: string) => void;
  /** Milliseconds since the epoch; injectable for tests. Defaults to Date.now. */
  clock?: () => number;
}

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line; per-call fields win on a name clash. */
  child(fields: LogFields): Logger;
}

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

function stderrSink(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function createLogger(opts: LoggerOptions): Logger {
  const sink = opts.sink ?? stderrSink;
  const clock = opts.clock ?? Date.now;
  const format = opts.format === "json" ? formatJson : formatText;
  return make(opts.level, {}, (level, msg, fields) =>
    sink(format(new Date(clock()).toISOString(), level, msg, fields)),
  );
}

type Emit = (level: LogLevel, msg: string, fields: [string, CleanValue][]) => void;

function make(minLevel: LogLevel, bound: LogFields, emit: Emit): Logger {
  const enabled = (level: LogLevel) => RANK[level] >= RANK[minLevel];
  const log = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (!enabled(level)) return;
    const merged: LogFields = { ...bound, ...fields };
    const clean: [string, CleanValue][] = [];
    for (const [name, value] of Object.entries(merged)) {
      const v = cleanValue(name, value);
      if (v !== undefined) clean.push([RESERVED.has(name) ? `field_${name}` : name, v]);
    }
    emit(level, scrubSecrets(msg), clean);
  };
  return {
    level: minLevel,
    enabled,
    log,
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
    child: (fields) => make(minLevel, { ...bound, ...fields }, emit),
  };
}

function formatJson(ts: string, level: LogLevel, msg: string, fields: [string, CleanValue][]): string {
  const obj: Record<string, unknown> = { ts, level, msg };
  for (const [name, value] of fields) obj[name] = value;
  return JSON.stringify(obj);
}

function formatText(ts: string, level: LogLevel, msg: string, fields: [string, CleanValue][]): string {
  let line = `${ts} ${level.toUpperCase()} ${oneLine(msg)}`;
  for (const [name, value] of fields) line += ` ${textKey(name)}=${textValue(value)}`;
  return line;
}

/**
 * Control characters never reach a text line: C0 (newlines above all: no forged log entries), DEL
 * and C1 (U+0085 is a line break to some readers, U+009B a terminal's CSI). JSON.stringify escapes
 * C0 only; DEL and C1 become `\u007f`, `\u0080`..`\u009f` here.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
const DEL_C1 = /[\u007f-\u009f]/g;

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** One control character as JSON writes it (`\n`, `\u001b`), DEL and C1 as `\u007f`... */
function escapeControl(c: string): string {
  return c < "\u007f" ? JSON.stringify(c).slice(1, -1) : unicodeEscape(c);
}

/** `s` as a JSON string literal with DEL and C1 escaped too. */
function quote(s: string): string {
  return JSON.stringify(s).replace(DEL_C1, unicodeEscape);
}

/** The message: its control characters escaped, nothing else changed. */
function oneLine(s: string): string {
  return s.replace(CONTROLS, escapeControl);
}

function textKey(name: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(name) ? name : quote(name);
}

function textValue(value: CleanValue): string {
  if (value === null) return "-";
  if (typeof value === "string") return quoteIfNeeded(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return quoteIfNeeded(value.join(","));
}

function quoteIfNeeded(s: string): string {
  return s.length === 0 || s === "-" || /[\s"=\\]/.test(s) || CONTROL.test(s) ? quote(s) : s;
}
