import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isProxyError } from "../src/errors/proxy-error.ts";
import { LeafCache, type LeafSource, normalizeLeafHost } from "../src/mitm/leaf-cache.ts";
import { type Leaf, LeafMinter } from "../src/pki/leaf.ts";
import { loadOrCreateRootCa } from "../src/pki/root-ca.ts";
import { x509 } from "../src/pki/x509.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** A minter whose mints are settled by the test; records every call. */
class FakeMinter implements LeafSource {
  readonly calls: { host: string; now: Date }[] = [];
  readonly pending: { resolve: () => void; reject: (err: Error) => void }[] = [];
  autoResolve = true;
  validityMs = 30 * DAY_MS;

  mint(host: string, now: Date): Promise<Leaf> {
    this.calls.push({ host, now });
    const leaf = { host, notAfter: new Date(now.getTime() + this.validityMs) } as unknown as Leaf;
    if (this.autoResolve) return Promise.resolve(leaf);
    return new Promise((resolve, reject) => this.pending.push({ resolve: () => resolve(leaf), reject }));
  }
}

function clock(start = 1_000_000): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("LeafCache", () => {
  test("concurrent requests for one host share a single mint", async () => {
    const minter = new FakeMinter();
    minter.autoResolve = false;
    const cache = new LeafCache(minter, { ttlSeconds: 3600 });
    const requests = [cache.get("a.test"), cache.get("a.test"), cache.get("A.test.")];
    expect(minter.calls).toHaveLength(1);
    expect(cache.size).toBe(1);
    minter.pending[0]?.resolve();
    const leaves = await Promise.all(requests);
    expect(leaves[1]).toBe(leaves[0] as Leaf);
    expect(leaves[2]).toBe(leaves[0] as Leaf);
    expect(await cache.get("a.test")).toBe(leaves[0] as Leaf);
    expect(minter.calls).toHaveLength(1);
  });

  test("entries expire after ttlSeconds and are re-minted with the injected clock", async () => {
    const minter = new FakeMinter();
    const c = clock();
    const cache = new LeafCache(minter, { ttlSeconds: 60, now: c.now });
    const first = await cache.get("a.test");
    expect(minter.calls[0]?.now.getTime()).toBe(1_000_000);
    c.set(1_000_000 + 60_000 - 1);
    expect(await cache.get("a.test")).toBe(first);
    c.set(1_000_000 + 60_000);
    const second = await cache.get("a.test");
    expect(second).not.toBe(first);
    expect(minter.calls).toHaveLength(2);
    expect(minter.calls[1]?.now.getTime()).toBe(1_060_000);
  });

  test("an entry never outlives its leaf's notAfter", async () => {
    const minter = new FakeMinter();
    minter.validityMs = 5_000;
    const c = clock();
    const cache = new LeafCache(minter, { ttlSeconds: 3600, now: c.now });
    await cache.get("a.test");
    c.set(1_004_999);
    await cache.get("a.test");
    expect(minter.calls).toHaveLength(1);
    c.set(1_005_000);
    await cache.get("a.test");
    expect(minter.calls).toHaveLength(2);
  });

  test("hosts are normalised: case, trailing dot, IPv6 brackets", async () => {
    const minter = new FakeMinter();
    const cache = new LeafCache(minter, { ttlSeconds: 3600 });
    await cache.get("Example.TEST.");
    await cache.get("example.test");
    await cache.get("[::1]");
    await cache.get("::1");
    expect(minter.calls.map((c) => c.host)).toEqual(["example.test", "::1"]);
    expect(cache.size).toBe(2);
    expect(normalizeLeafHost("WWW.Example.COM.")).toBe("www.example.com");
  });

  test("a failed mint is not cached, and all its waiters see the failure", async () => {
    const minter = new FakeMinter();
    minter.autoResolve = false;
    const cache = new LeafCache(minter, { ttlSeconds: 3600 });
    const a = cache.get("a.test");
    const b = cache.get("a.test");
    minter.pending[0]?.reject(new Error("mint failed"));
    await expect(a).rejects.toThrow("mint failed");
    await expect(b).rejects.toThrow("mint failed");
    await settle();
    expect(cache.size).toBe(0);
    minter.autoResolve = true;
    await cache.get("a.test");
    expect(minter.calls).toHaveLength(2);
    expect(cache.size).toBe(1);
  });

  test("a minter that throws synchronously yields a rejected promise", async () => {
    const cache = new LeafCache(
      {
        mint: () => {
          throw new Error("sync failure");
        },
      },
      { ttlSeconds: 3600 },
    );
    await expect(cache.get("a.test")).rejects.toThrow("sync failure");
    await settle();
    expect(cache.size).toBe(0);
  });

  test("least recently used entries are evicted past maxEntries", async () => {
    const minter = new FakeMinter();
    const cache = new LeafCache(minter, { ttlSeconds: 3600, maxEntries: 2 });
    await cache.get("a.test");
    await cache.get("b.test");
    await cache.get("a.test"); // a is now the most recently used
    await cache.get("c.test"); // evicts b
    expect(cache.size).toBe(2);
    expect(minter.calls).toHaveLength(3);
    await cache.get("a.test");
    expect(minter.calls).toHaveLength(3);
    await cache.get("b.test");
    expect(minter.calls.map((c) => c.host)).toEqual(["a.test", "b.test", "c.test", "b.test"]);
  });

  test("ttl 0 never reuses a minted leaf, but concurrent requests still share one mint", async () => {
    const minter = new FakeMinter();
    const cache = new LeafCache(minter, { ttlSeconds: 0 });
    const [a, b] = await Promise.all([cache.get("zero.test"), cache.get("zero.test")]);
    expect(a).toBe(b);
    expect(minter.calls).toHaveLength(1);
    await cache.get("zero.test");
    expect(minter.calls).toHaveLength(2);
  });

  test("invalid options are CONFIG_INVALID", () => {
    const minter = new FakeMinter();
    for (const opts of [{ ttlSeconds: -1 }, { ttlSeconds: Number.NaN }, { ttlSeconds: 60, maxEntries: 0 }]) {
      let caught: unknown;
      try {
        new LeafCache(minter, opts);
      } catch (err) {
        caught = err;
      }
      expect(isProxyError(caught, "CONFIG_INVALID")).toBe(true);
    }
  });
});

describe("LeafCache with the real minter", () => {
  const dir = mkdtempSync(join(tmpdir(), "polytls-leafcache-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("serves one real leaf per normalised host, minted at the injected time", async () => {
    const now = Date.UTC(2026, 2, 1, 12);
    const { ca } = await loadOrCreateRootCa(
      { keyPath: join(dir, "ca.key"), certPath: join(dir, "ca.pem") },
      { now: new Date(now) },
    );
    const cache = new LeafCache(await LeafMinter.create(ca), { ttlSeconds: 3600, now: () => now });
    const [a, b] = await Promise.all([cache.get("WWW.Example.test."), cache.get("www.example.test")]);
    expect(b).toBe(a as Leaf);
    expect(a?.host).toBe("www.example.test");
    const cert = new x509.X509Certificate(a?.certDer ?? new Uint8Array());
    expect(cert.subject).toBe("CN=www.example.test");
    expect(cert.notBefore.getTime()).toBe(now - 60 * 60 * 1000);
    expect(await cert.verify({ publicKey: ca.cert.publicKey, date: new Date(now) })).toBe(true);
  });
});
