import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { pino } from "pino";
import { FakeClock } from "../../kernel/clock.ts";
import { KubeletAuth } from "./kubelet-auth.ts";

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
