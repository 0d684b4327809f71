/**
 * Cross-check of the h1 codec against an HTTP/1.1 parser that is not ours: llhttp in a real Node
 * (v20) process, as a server for the request table and as a client for the response table. Rows
 * where we are deliberately stricter (or, for responses, more tolerant) are marked in the tables
 * with the rule that makes the difference; the test asserts those differences too, so the
 * documentation cannot go stale.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { REQUEST_CASES, RESPONSE_CASES } from "./helpers/h1-cases.ts";
import { bytes, driveRequests, driveResponses } from "./helpers/h1-drive.ts";
import { askNode, type NodeServer, nodeClientVerdicts, startNodeServer } from "./helpers/h1-llhttp.ts";

function ourRequestVerdict(raw: string): "ok" | "refused" {
  const d = driveRequests([bytes(raw)]);
  if (d.error !== null) return "refused";
  if (d.state !== "idle" && d.state !== "tunnel") throw new Error(`table row is incomplete (${d.state})`);
  return "ok";
}

describe("requests: our verdict vs Node 20 llhttp server", () => {
  let server: NodeServer;
  const node = new Map<string, string>();

  beforeAll(async () => {
    server = await startNodeServer();
    const verdicts = await Promise.all(REQUEST_CASES.map((c) => askNode(server.port, bytes(c.raw))));
    REQUEST_CASES.forEach((c, i) => {
      node.set(c.name, verdicts[i] ?? "missing");
    });
  });
  afterAll(() => server?.close());

  test("the table has both verdicts and documented differences", () => {
    const kinds = new Set(REQUEST_CASES.map((c) => `${c.expect === "ok"}/${c.llhttp}`));
    expect(kinds).toContain("true/agree");
    expect(kinds).toContain("false/agree");
    expect(kinds).toContain("false/accepts");
    for (const c of REQUEST_CASES) if (c.llhttp === "accepts") expect(c.why ?? "").not.toBe("");
  });

  for (const c of REQUEST_CASES) {
    test(`${c.name} (${c.llhttp})`, () => {
      const ours = ourRequestVerdict(c.raw);
      expect(ours).toBe(c.expect === "ok" ? "ok" : "refused");
      const theirs = node.get(c.name);
      if (c.llhttp === "agree") expect(theirs).toBe(ours);
      else if (c.llhttp === "accepts") expect(theirs).toBe("ok");
    });
  }
});

describe("responses: our verdict vs Node 20 llhttp client", () => {
  const node = new Map<string, string>();

  beforeAll(async () => {
    const verdicts = await nodeClientVerdicts(
      RESPONSE_CASES.map((c) => ({ raw: bytes(c.raw), method: c.method })),
    );
    RESPONSE_CASES.forEach((c, i) => {
      node.set(c.name, verdicts[i] ?? "missing");
    });
  });

  for (const c of RESPONSE_CASES) {
    test(`${c.name} (${c.llhttp})`, () => {
      const d = driveResponses([bytes(c.raw)], [c.method], true);
      const last = d.messages[d.messages.length - 1];
      const ours = d.error === null ? `ok:${last?.head.split(" ")[1]}:${last?.body.length}` : "error";
      if (c.expect === "ok") expect(ours.startsWith("ok:")).toBe(true);
      else expect(d.error).toContain(`/${c.expect}/`);
      const theirs = node.get(c.name) ?? "missing";
      if (c.llhttp === "agree") {
        expect(theirs.startsWith("ok:") ? theirs : "error").toBe(ours);
      } else if (c.llhttp === "accepts") {
        expect(theirs.startsWith("ok:")).toBe(true);
      } else {
        expect(theirs.startsWith("error:")).toBe(true);
      }
    });
  }
});
