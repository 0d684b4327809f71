/**
 * Response field checks (RFC 9113 §8.1, §8.2, §8.3.2) on the character-level paths: `:status`
 * digits, Content-Length as a single value, a repeated list, or several fields, and the value rule.
 */
import { describe, expect, test } from "bun:test";
import { H2Error } from "../src/http/h2/errors.ts";
import { checkResponseFields, checkTrailerFields } from "../src/http/h2/response-fields.ts";
import type { HeaderField } from "../src/http/h2/session-types.ts";

function outcome(fields: HeaderField[]): string {
  try {
    const head = checkResponseFields(fields, 1);
    return `${head.status} ${head.contentLength}`;
  } catch (err) {
    if (!(err instanceof H2Error) || err.isConnectionError) throw err;
    return err.message.replace(/^PROTOCOL_ERROR: malformed response: /, "");
  }
}

const withLength = (...values: string[]): HeaderField[] => [
  [":status", "200"],
  ...values.map((v): HeaderField => ["content-length", v]),
];

describe("checkResponseFields", () => {
  test(":status must be three digits, the first 1-9", () => {
    expect(outcome([[":status", "200"]])).toBe("200 null");
    expect(outcome([[":status", "103"]])).toBe("103 null");
    expect(outcome([[":status", "999"]])).toBe("999 null");
    for (const bad of ["099", "20", "2000", "2a0", " 200", "", "２００"]) {
      expect(outcome([[":status", bad]])).toBe(`:status ${JSON.stringify(bad)}`);
    }
  });

  test("content-length: one value, leading zeros, 15 digits at most", () => {
    expect(outcome(withLength("100"))).toBe("200 100");
    expect(outcome(withLength("0"))).toBe("200 0");
    expect(outcome(withLength("007"))).toBe("200 7");
    expect(outcome(withLength("999999999999999"))).toBe("200 999999999999999");
    for (const bad of ["1000000000000000", "+5", "5e2", "0x5", "-1", "5;", "", "５"]) {
      expect(outcome(withLength(bad))).toBe("invalid content-length");
    }
  });

  test("content-length: a repeated list and repeated fields must agree", () => {
    expect(outcome(withLength("5, 5"))).toBe("200 5");
    expect(outcome(withLength("5,5,05"))).toBe("200 5");
    expect(outcome(withLength("5 ,\t5"))).toBe("200 5");
    expect(outcome(withLength("5", "5"))).toBe("200 5");
    expect(outcome(withLength("5", "5, 5"))).toBe("200 5");
    expect(outcome(withLength("5, 6"))).toBe("conflicting content-length");
    expect(outcome(withLength("5", "6"))).toBe("conflicting content-length");
    expect(outcome(withLength("7", "5,x"))).toBe("conflicting content-length");
    expect(outcome(withLength("5,x"))).toBe("invalid content-length");
    expect(outcome(withLength("5,"))).toBe("invalid content-length");
  });

  test("values: no NUL, CR, LF; no SP or HTAB at either end; obs-text allowed", () => {
    expect(
      outcome([
        [":status", "200"],
        ["a", "x\u00ffy é"],
      ]),
    ).toBe("200 null");
    expect(
      outcome([
        [":status", "200"],
        ["a", ""],
      ]),
    ).toBe("200 null");
    for (const bad of ["x\0", "\ny", "a\rb", " a", "a ", "\ta", "a\t"]) {
      expect(
        outcome([
          [":status", "200"],
          ["a", bad],
        ]),
      ).toBe("invalid value for a");
    }
  });

  test("trailers follow the regular-field rules and take no pseudo-header", () => {
    expect(() => checkTrailerFields([["grpc-status", "0"]], 1)).not.toThrow();
    expect(() => checkTrailerFields([[":status", "200"]], 1)).toThrow(H2Error);
    expect(() => checkTrailerFields([["a", "x\n"]], 1)).toThrow(H2Error);
  });
});
