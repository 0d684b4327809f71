/**
 * A small schema kit shared by the config file and profile schemas: an error collector that keeps
 * every problem (key path + reason), key-path formatting, and typed field definitions that parse,
 * default, document and print one TOML value each. No I/O.
 */
import path from "node:path";
import { ProxyError } from "../errors/proxy-error.ts";

/** Collects every validation problem; thrown once as CONFIG_INVALID, one problem per line. */
export class Issues {
  readonly lines: string[] = [];

  add(keyPath: string, reason: string): void {
    this.lines.push(keyPath === "" ? reason : `${keyPath}: ${reason}`);
  }

  get count(): number {
    return this.lines.length;
  }

  /** Throws one ProxyError("CONFIG_INVALID") listing every problem, if there is any. */
  throwIfAny(header?: string): void {
    if (this.lines.length === 0) return;
    const body = this.lines.join("\n");
    throw new ProxyError("CONFIG_INVALID", header === undefined ? body : `${header}\n${body}`);
  }
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** `parent.key`, quoting the key when TOML would need quotes. */
export function childPath(parent: string, key: string, quote = false): string {
  const k = quote || !BARE_KEY.test(key) ? JSON.stringify(key) : key;
  return parent === "" ? k : `${parent}.${k}`;
}

/** `keyShares` -> `key_shares`: a TypeScript property as its TOML key. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Short description of a TOML value for "expected X, got Y" messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (typeof value === "boolean") return `boolean ${value}`;
  if (typeof value === "number") return Number.isInteger(value) ? `integer ${value}` : `float ${value}`;
  if (typeof value === "bigint") return `integer ${value}`;
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "date";
  return "table";
}

export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Everything a field parser needs: where it is, where to report, what relative paths mean. */
export interface FieldContext {
  path: string;
  issues: Issues;
  /** Folder relative file paths are resolved against. */
  baseDir: string;
}

/** One key: its type and default (for docs), a parser/validator and a TOML printer. */
export interface Field<T> {
  readonly kind: "field";
  /** Human-readable type, e.g. "integer 1..65535". */
  readonly type: string;
  readonly doc: string;
  readonly default: T;
  /** Returns the value, or undefined after recording an issue. */
  parse(raw: unknown, ctx: FieldContext): T | undefined;
  /** TOML literal for the value (undefined: omit the key). */
  toToml(value: T): string | undefined;
}

/** A Field from its parts. */
export function field<T>(spec: Omit<Field<T>, "kind">): Field<T> {
  return { kind: "field", ...spec };
}

export function tomlString(value: string): string {
  return JSON.stringify(value);
}

/** A key as TOML writes it: bare when it can be, else quoted. */
export function tomlKey(key: string): string {
  return BARE_KEY.test(key) ? key : tomlString(key);
}

/** The context of the value at `key` (a table key or an array index) below `ctx`. */
export function childContext(ctx: FieldContext, key: string | number): FieldContext {
  return { ...ctx, path: typeof key === "number" ? indexPath(ctx.path, key) : childPath(ctx.path, key) };
}

/** A boolean, or undefined after recording the problem. */
export function boolValue(raw: unknown, ctx: FieldContext): boolean | undefined {
  if (typeof raw === "boolean") return raw;
  ctx.issues.add(ctx.path, `expected a boolean, got ${describe(raw)}`);
  return undefined;
}

/** An integer in [min, max] (a TOML bigint too), or undefined after recording the problem. */
export function intValue(raw: unknown, ctx: FieldContext, min: number, max: number): number | undefined {
  const n = typeof raw === "bigint" ? Number(raw) : raw;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    ctx.issues.add(ctx.path, `expected an integer, got ${describe(raw)}`);
    return undefined;
  }
  if (n < min || n > max) {
    ctx.issues.add(ctx.path, `${n} is out of range ${min}..${max}`);
    return undefined;
  }
  return n;
}

export function boolField(doc: string, def: boolean): Field<boolean> {
  return field({
    type: "boolean",
    doc,
    default: def,
    parse: boolValue,
    toToml: (v) => String(v),
  });
}

export function intField(doc: string, def: number, min: number, max: number): Field<number> {
  return field({
    type: `integer ${min}..${max}`,
    doc,
    default: def,
    parse: (raw, ctx) => intValue(raw, ctx, min, max),
    toToml: (v) => String(v),
  });
}

/**
 * Why a text meant as one line (e.g. what `profiles list` prints, one line per profile) is not: its
 * first C0 control character or DEL (a newline, a tab, an escape sequence), or undefined.
 */
export function controlCharacterProblem(v: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  const i = v.search(/[\u0000-\u001f\u007f]/);
  if (i < 0) return undefined;
  const code = v.charCodeAt(i).toString(16).toUpperCase().padStart(4, "0");
  return `control character U+${code} at offset ${i}: one line of text, without control characters`;
}

export function stringField(
  doc: string,
  def: string,
  check?: (value: string) => string | undefined,
): Field<string> {
  return field({
    type: "string",
    doc,
    default: def,
    parse(raw, ctx) {
      if (typeof raw !== "string") {
        ctx.issues.add(ctx.path, `expected a string, got ${describe(raw)}`);
        return undefined;
      }
      const problem = check?.(raw);
      if (problem !== undefined) {
        ctx.issues.add(ctx.path, problem);
        return undefined;
      }
      return raw;
    },
    toToml: tomlString,
  });
}

export function enumField<const V extends string>(doc: string, def: V, values: readonly V[]): Field<V> {
  return field<V>({
    type: values.map((v) => JSON.stringify(v)).join(" | "),
    doc,
    default: def,
    parse(raw, ctx) {
      if (typeof raw === "string" && (values as readonly string[]).includes(raw)) return raw as V;
      ctx.issues.add(
        ctx.path,
        `expected one of ${values.map((v) => JSON.stringify(v)).join(", ")}, got ${describe(raw)}`,
      );
      return undefined;
    },
    toToml: tomlString,
  });
}

/** An array whose items are checked one by one; every bad item is reported with its index. */
function arrayField<T>(
  doc: string,
  type: string,
  item: (raw: unknown) => { value: T } | { problem: string },
  toToml: (v: T[]) => string,
  /** Items that must be unique by this key (the problem names the earlier entry, not the value). */
  unique?: { key: (v: T) => string; what: string },
): Field<T[]> {
  return field({
    type,
    doc,
    default: [],
    parse(raw, ctx) {
      if (!Array.isArray(raw)) {
        // A string is not echoed: list fields hold credentials (proxy.auth.users).
        const got = typeof raw === "string" ? 'a string (write a list: ["..."])' : describe(raw);
        ctx.issues.add(ctx.path, `expected an ${type}, got ${got}`);
        return undefined;
      }
      const out: T[] = [];
      raw.forEach((r, i) => {
        const res = item(r);
        if ("problem" in res) ctx.issues.add(indexPath(ctx.path, i), res.problem);
        else out.push(res.value);
      });
      if (out.length !== raw.length) return undefined;
      if (unique !== undefined) {
        const first = new Map<string, number>();
        let repeated = false;
        out.forEach((v, i) => {
          const k = unique.key(v);
          const at = first.get(k);
          if (at === undefined) first.set(k, i);
          else {
            ctx.issues.add(
              indexPath(ctx.path, i),
              `repeats the ${unique.what} of ${indexPath(ctx.path, at)}`,
            );
            repeated = true;
          }
        });
        if (repeated) return undefined;
      }
      return out;
    },
    toToml,
  });
}

/** A list of strings, each checked by `check` (which returns a reason when invalid). */
export function stringListField(
  doc: string,
  check: (value: string) => string | undefined,
  unique?: { key: (v: string) => string; what: string },
): Field<string[]> {
  return arrayField<string>(
    doc,
    "array of strings",
    (raw) => {
      if (typeof raw !== "string") return { problem: `expected a string, got ${describe(raw)}` };
      const problem = check(raw);
      return problem === undefined ? { value: raw } : { problem };
    },
    (v) => `[${v.map(tomlString).join(", ")}]`,
    unique,
  );
}

/** A list of TCP ports (1..65535). */
export function portListField(doc: string): Field<number[]> {
  return arrayField<number>(
    doc,
    "array of integers 1..65535",
    (raw) => {
      const n = typeof raw === "bigint" ? Number(raw) : raw;
      return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535
        ? { value: n }
        : { problem: `expected a port 1..65535, got ${describe(raw)}` };
    },
    (v) => `[${v.join(", ")}]`,
  );
}

/**
 * A file path. Relative values are resolved against `ctx.baseDir` (the config file's folder for
 * values from the file, the working directory for defaults and flags). `nullable` allows "no file"
 * (the default then is null; it cannot be written in TOML, so the key is simply left out).
 */
export function pathField(doc: string, def: string): Field<string>;
export function pathField(doc: string, def: null): Field<string | null>;
export function pathField(doc: string, def: string | null): Field<string | null> {
  return field({
    type: "path",
    doc,
    default: def,
    parse(raw, ctx) {
      if (raw === null && def === null) return null;
      if (typeof raw !== "string" || raw === "") {
        ctx.issues.add(ctx.path, `expected a non-empty path string, got ${describe(raw)}`);
        return undefined;
      }
      return path.resolve(ctx.baseDir, raw);
    },
    toToml: (v) => (v === null ? undefined : tomlString(v)),
  });
}
