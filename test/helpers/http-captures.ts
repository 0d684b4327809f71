/** Capture-derived HTTP fixtures for the header-policy and profile tests (tests only). */
import { readFileSync } from "node:fs";
import path from "node:path";

const FIXTURES = path.join(import.meta.dir, "..", "fixtures");

export type Field = [string, string];

export interface HeaderCapture {
  source: string;
  /** Decoded h2 HEADERS blocks by kind, wire order, pseudo-headers included. */
  h2: Record<string, Field[]>;
  /** h1 request heads by kind: request line and fields in wire order, original case. */
  h1: Record<string, { request_line: string; fields: Field[] }>;
}

export function loadHeaderCapture(browser: "chromium-156" | "firefox-esr-153"): HeaderCapture {
  return JSON.parse(readFileSync(path.join(FIXTURES, "http", `headers-${browser}.json`), "utf8"));
}

/** A tls.peet.ws answer's `http2` section. */
export function peetHttp2(name: string): {
  akamai_fingerprint: string;
  sent_frames: { frame_type: string; headers?: string[]; stream_id?: number }[];
} {
  const json = JSON.parse(readFileSync(path.join(FIXTURES, "fingerprints", `${name}.json`), "utf8"));
  return json.http2;
}

/**
 * The navigation's fields of a peet capture (sorted by name there). Its JSON escaping mangles
 * quotes: `\"` stands for `"`, and a value's final `"` shows as `\`.
 */
export function peetFields(name: string): { pseudo: Field[]; regular: Field[] } {
  const frame = peetHttp2(name).sent_frames.find((f) => f.frame_type === "HEADERS")!;
  const fields = frame.headers!.map((line): Field => {
    const at = line.indexOf(": ", 1);
    let value = line.slice(at + 2).replaceAll('\\"', '"');
    if (value.endsWith("\\")) value = `${value.slice(0, -1)}"`;
    return [line.slice(0, at), value];
  });
  return {
    pseudo: fields.filter(([n]) => n.startsWith(":")),
    regular: fields.filter(([n]) => !n.startsWith(":")),
  };
}

export const names = (fields: readonly (readonly [string, string])[]): string[] => fields.map(([n]) => n);
export const sortFields = (fields: readonly (readonly [string, string])[]): string[] =>
  fields.map(([n, v]) => `${n}: ${v}`).sort();
