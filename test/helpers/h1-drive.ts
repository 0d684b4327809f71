/**
 * Test drivers for the h1 codec: what a connection loop does with it. Feed chunks, get the list of
 * messages (head, body, trailers) and the first error, as plain comparable data, so one input can
 * be checked whole, byte by byte and at random split points.
 */
import { BodyReader } from "../../src/http/h1/body-reader.ts";
import type { ChunkedLimits } from "../../src/http/h1/chunked.ts";
import { H1Error } from "../../src/http/h1/errors.ts";
import {
  DEFAULT_REQUEST_LIMITS,
  type RequestHead,
  RequestHeadScanner,
  type RequestLimits,
} from "../../src/http/h1/request-head.ts";
import {
  DEFAULT_RESPONSE_LIMITS,
  type ResponseHead,
  ResponseHeadScanner,
  type ResponseLimits,
} from "../../src/http/h1/response-head.ts";
import { prng } from "./prng.ts";

export { prng };

export const enc = new TextEncoder();

/** Bytes of a string of chars ≤ U+00FF (the test tables use `\x..` escapes for raw bytes). */
export function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new Error(`test input char U+${c.toString(16)} is not a byte`);
    out[i] = c;
  }
  return out;
}

export function latin1(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

/** Splits `buf` into pieces: all size 1 (`rand` null) or random sizes 1..maxChunk. */
export function split(buf: Uint8Array, rand: (() => number) | null, maxChunk = 7): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < buf.length; ) {
    const n = rand === null ? 1 : 1 + Math.floor(rand() * maxChunk);
    out.push(buf.subarray(off, Math.min(buf.length, off + n)));
    off += n;
  }
  return out;
}

export interface DrivenMessage {
  head: string; // a compact summary of the head
  body: string;
  trailers: [string, string][] | null;
}

export interface Driven {
  messages: DrivenMessage[];
  /** `code/reason/status` of the first H1Error, else null. */
  error: string | null;
  /** Where the input stopped: between messages, inside a head or body, or in a tunnel. */
  state: "idle" | "head" | "body" | "tunnel" | "error";
  /** Bytes after an Upgrade / CONNECT head (not parsed). */
  tunnel: string;
}

function summarizeRequest(h: RequestHead): string {
  const body = h.body.kind === "length" ? `length=${h.body.length}` : h.body.kind;
  return `${h.method} ${h.target.raw} ${h.version} ${JSON.stringify(h.rawHeaders)} body=${body} ka=${h.keepAlive} up=${h.upgrade} expect=${h.expectContinue} auth=${h.authority}`;
}

function summarizeResponse(h: ResponseHead): string {
  const body = h.body.kind === "length" ? `length=${h.body.length}` : h.body.kind;
  return `${h.version} ${h.status} ${JSON.stringify(h.reason)} ${JSON.stringify(h.rawHeaders)} body=${body} ka=${h.keepAlive} interim=${h.interim} upgraded=${h.upgraded} te=${h.transferCodings.join(",")} quirks=${h.quirks.join(",")}`;
}

function errorText(err: unknown): string {
  if (err instanceof H1Error) return `${err.code}/${err.reason}/${err.status}`;
  throw err;
}

/** Client → proxy: pipelined requests. Stops at the first error or at an Upgrade / CONNECT. */
export function driveRequests(
  chunks: readonly Uint8Array[],
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
  chunkedLimits?: ChunkedLimits,
): Driven {
  const scanner = new RequestHeadScanner(limits);
  const out: Driven = { messages: [], error: null, state: "idle", tunnel: "" };
  let reader: BodyReader | null = null;
  let current: DrivenMessage | null = null;
  try {
    for (const chunk of chunks) {
      let cur = chunk;
      while (cur.length > 0 || (reader?.done ?? false)) {
        if (out.state === "tunnel") {
          out.tunnel += latin1(cur);
          break;
        }
        if (reader === null) {
          const r = scanner.push(cur);
          if (r.kind === "incomplete") {
            out.state = "head";
            break;
          }
          cur = cur.subarray(r.consumed);
          current = { head: summarizeRequest(r.head), body: "", trailers: null };
          reader = new BodyReader(r.head.body, "request", chunkedLimits);
          out.state = "body";
          if (r.head.upgrade !== null || r.head.method === "CONNECT") {
            out.messages.push(current);
            out.state = "tunnel";
            reader = null;
            continue;
          }
        }
        const step = reader.push(cur);
        for (const d of step.data) if (current) current.body += latin1(d);
        if (!step.done) break;
        if (current) {
          current.trailers = step.trailers;
          out.messages.push(current);
        }
        current = null;
        reader = null;
        scanner.reset();
        out.state = "idle";
        cur = step.rest;
      }
    }
  } catch (err) {
    out.error = errorText(err);
    out.state = "error";
  }
  return out;
}

/**
 * Origin → proxy: the responses to `methods` in order (1xx interim heads are their own messages),
 * then the end of the connection when `eof`.
 */
export function driveResponses(
  chunks: readonly Uint8Array[],
  methods: readonly string[],
  eof: boolean,
  limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS,
): Driven {
  const out: Driven = { messages: [], error: null, state: "idle", tunnel: "" };
  let index = 0;
  let scanner = new ResponseHeadScanner(methods[0] ?? "GET", limits);
  let reader: BodyReader | null = null;
  let current: DrivenMessage | null = null;
  try {
    for (const chunk of chunks) {
      let cur = chunk;
      while (cur.length > 0 || (reader?.done ?? false)) {
        if (out.state === "tunnel") {
          out.tunnel += latin1(cur);
          break;
        }
        if (reader === null) {
          const r = scanner.push(cur);
          if (r.kind === "incomplete") {
            out.state = "head";
            break;
          }
          cur = cur.subarray(r.consumed);
          current = { head: summarizeResponse(r.head), body: "", trailers: null };
          if (r.head.upgraded) {
            out.messages.push(current);
            out.state = "tunnel";
            continue;
          }
          if (!r.head.interim) index++;
          scanner = new ResponseHeadScanner(methods[index] ?? "GET", limits);
          reader = new BodyReader(r.head.body, "response");
          out.state = "body";
        }
        const step = reader.push(cur);
        for (const d of step.data) if (current) current.body += latin1(d);
        if (!step.done) break;
        if (current) {
          current.trailers = step.trailers;
          out.messages.push(current);
        }
        current = null;
        reader = null;
        out.state = "idle";
        cur = step.rest;
      }
    }
    if (eof && reader !== null) {
      reader.finish();
      if (current) out.messages.push(current);
      out.state = "idle";
    }
  } catch (err) {
    out.error = errorText(err);
    out.state = "error";
  }
  return out;
}
