import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { pino } from "pino";
import { FakeClock } from "../../kernel/clock.ts";
import { KubeletAuth, subjectOfText } from "./kubelet-auth.ts";

/** A request on a connection whose verified client certificate names `cn`; counts the certificate's decodings. */
function connection(cn: string | undefined): { req: IncomingMessage; reads: () => number } {
  let reads = 0;
  const socket = {
    authorized: true,
    getPeerCertificate: () => {
      reads++;
      return { subject: cn === undefined ? {} : { CN: cn, O: ["group-a"] } };
    },
  };
  return { req: { socket, headers: {} } as unknown as IncomingMessage, reads: () => reads };
}

test("a connection's client certificate is decoded once, whatever the number of requests on it", async () => {
  const auth = new KubeletAuth({
    request: () => Promise.reject(new Error("no review expected")),
    clock: new FakeClock(0),
    log: pino({ level: "silent" }),
  });
  const a = connection("system:metrics-server");
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await auth.authenticate(a.req), {
      name: "system:metrics-server",
      groups: ["group-a", "system:authenticated"],
    });
  }
  assert.equal(a.reads(), 1);
  // Another connection is read anew; a certificate without a CN authenticates no one, once too.
  const b = connection("other");
  assert.equal((await auth.authenticate(b.req))?.name, "other");
  const c = connection(undefined);
  assert.equal(await auth.authenticate(c.req), undefined);
  assert.equal(await auth.authenticate(c.req), undefined);
  assert.deepEqual([b.reads(), c.reads()], [1, 1]);
});

test("a certificate's subject is read from its one-line-per-name text, and fully decoded only when escaped", () => {
  const cases: [string, ReturnType<typeof subjectOfText>][] = [
    ["CN=system:metrics-server", { CN: ["system:metrics-server"] }],
    ["O=system:masters\nO=b\nCN=u", { O: ["system:masters", "b"], CN: ["u"] }],
    ["C=US\nCN=a=b", { CN: ["a=b"] }],
    ["O=x", { O: ["x"] }],
    // Escaped characters and multi-valued names are left to the full decoding.
    ["CN=a\\, b", undefined],
    ["O=a + CN=b", undefined],
    ["garbage", undefined],
  ];
  for (const [text, want] of cases) assert.deepEqual(subjectOfText(text), want, text);
});

test("a connection's user comes from the certificate's subject text without decoding the whole certificate", async () => {
  const auth = new KubeletAuth({
    request: () => Promise.reject(new Error("no review expected")),
    clock: new FakeClock(0),
    log: pino({ level: "silent" }),
  });
  const user = async (subject: string, decoded: object): Promise<[unknown, number]> => {
    let decodings = 0;
    const socket = {
      authorized: true,
      getPeerX509Certificate: () => ({ subject }),
      getPeerCertificate: () => {
        decodings++;
        return { subject: decoded };
      },
    };
    const req = { socket, headers: {} } as unknown as IncomingMessage;
    return [await auth.authenticate(req), decodings];
  };
  assert.deepEqual(await user("O=g\nCN=system:metrics-server", {}), [
    { name: "system:metrics-server", groups: ["g", "system:authenticated"] },
    0,
  ]);
  assert.deepEqual(await user("CN=a\\, b", { CN: "a, b" }), [
    { name: "a, b", groups: ["system:authenticated"] },
    1,
  ]);
});

test("reviews are kept per user (name, groups), verb, subresource and node, as the spec they send", async () => {
  const sent: string[] = [];
  const auth = new KubeletAuth({
    request: <T>(req: { body?: unknown }): Promise<T> => {
      const spec = (
        req.body as { spec: { user: string; groups: string[]; resourceAttributes: Record<string, string> } }
      ).spec;
      const r = spec.resourceAttributes;
      sent.push(`${spec.user}[${spec.groups.join(",")}] ${r["verb"]} ${r["subresource"]} ${r["name"]}`);
      return Promise.resolve({ status: { allowed: r["subresource"] !== "pods" } } as T);
    },
    clock: new FakeClock(0),
    log: pino({ level: "silent" }),
  });
  const a = { name: "u", groups: ["g"] };
  const b = { name: "u", groups: ["h"] };
  const ask = (user: typeof a, verb: string, subresources: string[], node: string) =>
    auth.authorize(user, { verb, resource: "nodes", node, subresources });
  for (let i = 0; i < 2; i++) {
    assert.equal((await ask(a, "get", ["metrics"], "n-0")).kind, "allowed");
    assert.equal((await ask({ ...a }, "get", ["metrics"], "n-1")).kind, "allowed");
    assert.equal((await ask(b, "get", ["metrics"], "n-0")).kind, "allowed");
    assert.equal((await ask(a, "create", ["metrics"], "n-0")).kind, "allowed");
    // Denied for pods, allowed by proxy: both answers kept.
    assert.equal((await ask(a, "get", ["pods", "proxy"], "n-0")).kind, "allowed");
  }
  assert.deepEqual(sent, [
    "u[g] get metrics n-0",
    "u[g] get metrics n-1",
    "u[h] get metrics n-0",
    "u[g] create metrics n-0",
    "u[g] get pods n-0",
    "u[g] get proxy n-0",
  ]);
});
