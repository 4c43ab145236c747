import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { KubeClient, KubeRequest } from "../../client/kube-client.ts";
import { FakeClock } from "../../kernel/clock.ts";
import type { CsrObject } from "./node-csr.ts";
import { NodeIdentities } from "./node-identities.ts";

/*
 * The identities' schedule on a fake clock: a first certificate from the bootstrap credential,
 * the renewal at 70-90 % of its validity made with the node's own client (which then presents the
 * new certificate), and the back-off when a renewal fails. The CSRs are answered by a scripted
 * signer (openssl, 1-day certificates): the API server's part is the integration test's.
 */

const dir = mkdtempSync(join(tmpdir(), "identities-test-"));
const f = (n: string): string => join(dir, n);
execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f("ca.key")]);
execFileSync("openssl", [
  "req",
  "-x509",
  "-new",
  "-key",
  f("ca.key"),
  "-subj",
  "/CN=ca",
  "-days",
  "2",
  "-out",
  f("ca.crt"),
]);
let serial = 0;
let days = "1";
function sign(csrPem: string): string {
  const file = f(`r${++serial}.csr`);
  writeFileSync(file, csrPem);
  return execFileSync(
    "openssl",
    [
      "x509",
      "-req",
      "-in",
      file,
      "-CA",
      f("ca.crt"),
      "-CAkey",
      f("ca.key"),
      "-days",
      days,
      "-set_serial",
      String(serial),
    ],
    { encoding: "utf8" },
  );
}

/** A CSR API that signs every request at once, or fails while `failing` is set. */
function signer(): { api: Pick<KubeClient, "request" | "watchStream">; created: string[]; failing: boolean } {
  const s = {
    created: [] as string[],
    failing: false,
    api: {
      request: <T>(req: KubeRequest): Promise<T> => {
        if (s.failing) return Promise.reject(new Error("connection refused"));
        const body = req.body as CsrObject;
        const name = body.metadata.name ?? `csr-${s.created.length}`;
        s.created.push(name);
        const cert = sign(Buffer.from(body.spec.request, "base64").toString());
        return Promise.resolve({
          metadata: { name, uid: name },
          status: { conditions: [{ type: "Approved" }], certificate: Buffer.from(cert).toString("base64") },
        } as T);
      },
      watchStream: () => ({ cancel: () => undefined }),
    },
  };
  return s;
}

/** Lets the renewal's promise chain (request, openssl, swap) finish. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

interface FakeNodeClient {
  certs: string[];
  api: ReturnType<typeof signer>;
}

describe("NodeIdentities", () => {
  it("bootstraps each node, renews at 70-90 % of the validity with the node's own client, backs off on failure", async () => {
    const clock = new FakeClock(Date.now());
    const bootstrap = signer();
    const clients: FakeNodeClient[] = [];
    let draws = 0;
    const ids = new NodeIdentities({
      bootstrap: bootstrap.api,
      makeClient: (cert) => {
        const own: FakeNodeClient = { certs: [cert], api: signer() };
        clients.push(own);
        return {
          ...own.api.api,
          useClientCertificate: (c: string) => {
            own.certs.push(c);
            return Promise.resolve();
          },
          close: () => Promise.resolve(),
        } as unknown as KubeClient;
      },
      clock,
      // 0.5 for the first certificates' deadlines (80 %); 0.99 after, so the renewed certificates
      // (issued in real time, not the fake clock's) fall due later than the test looks.
      random: () => (draws++ < 2 ? 0.5 : 0.99),
      log: pino({ level: "silent" }),
    });
    await ids.obtain(["n0", "n1"]);
    assert.equal(bootstrap.created.length, 2);
    assert.ok(
      bootstrap.created.every((n) => n.startsWith("node-csr-")),
      "first requests under the digested name",
    );
    const v = ids.validity("n0")!;
    // n1's renewal will fail first (the API unreachable).
    clients[1]!.api.failing = true;
    // random 0.5: 80 % of a day from notBefore.
    const deadline = v.notBefore + 0.8 * (v.notAfter - v.notBefore);
    await clock.advance(deadline - clock.now() - 60_000);
    assert.equal(clients[0]!.certs.length, 1, "no renewal before the deadline");
    await clock.advance(61_000);
    await settle();
    assert.equal(clients[0]!.certs.length, 2, "renewed at the deadline");
    assert.deepEqual(
      clients[0]!.api.created,
      ["csr-0"],
      "the renewal is made with the node's own client, generateName csr-",
    );
    assert.notEqual(ids.validity("n0"), v, "the renewed certificate's validity is tracked");
    assert.equal(bootstrap.created.length, 2, "the bootstrap credential is not used again");
    // The failed renewal is retried after 2 s, then 4 s (plus jitter), not at once.
    assert.equal(clients[1]!.certs.length, 1);
    assert.deepEqual(clients[1]!.api.created, []);
    await clock.advance(2_300);
    await settle();
    assert.equal(clients[1]!.certs.length, 1, "the first retry failed too");
    clients[1]!.api.failing = false;
    await clock.advance(4_500);
    await settle();
    assert.equal(clients[1]!.certs.length, 2, "renewed on the second retry");
    assert.deepEqual(clients[1]!.api.created, ["csr-0"]);
    await ids.stop();
  });

  it("a year's certificate is not renewed for months: no timer past Node's 32-bit limit (which fires at once)", async () => {
    days = "365";
    try {
      const fake = new FakeClock(Date.now());
      let longest = 0;
      const clock = Object.assign(Object.create(fake) as FakeClock, {
        setTimer: (ms: number, fn: () => void) => {
          longest = Math.max(longest, ms);
          return fake.setTimer(ms, fn);
        },
      });
      const bootstrap = signer();
      let renewals = 0;
      const ids = new NodeIdentities({
        bootstrap: bootstrap.api,
        makeClient: () =>
          ({
            ...signer().api,
            useClientCertificate: () => {
              renewals++;
              return Promise.resolve();
            },
            close: () => Promise.resolve(),
          }) as unknown as KubeClient,
        clock,
        random: () => 0.5,
        log: pino({ level: "silent" }),
      });
      await ids.obtain(["n0"]);
      for (let d = 0; d < 60; d++) await fake.advance(86_400_000);
      await settle();
      assert.equal(renewals, 0, "not renewed within 60 days");
      assert.ok(longest <= 2 ** 31 - 1, `longest timer ${longest} ms`);
      await ids.stop();
    } finally {
      days = "1";
    }
  });
});
