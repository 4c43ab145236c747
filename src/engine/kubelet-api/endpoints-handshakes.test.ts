import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { Agent, request } from "node:https";
import { pino } from "pino";
import type { KubeRequest } from "../../client/kube-client.ts";
import { FakeClock } from "../../kernel/clock.ts";
import { pickFreePorts } from "../../host/ports.ts";
import { KubeletEndpoints } from "./endpoints.ts";
import { KubeletAuth } from "./kubelet-auth.ts";
import type { NodeApiView } from "./node-view.ts";

const NODES = 20;
const clock = new FakeClock(0);
const views: NodeApiView[] = Array.from({ length: NODES }, (_, i) => ({
  name: `n-${i}`,
  cpuCapacityMilli: 1000,
  memoryCapacityBytes: 2 ** 30,
  startedAtMs: 0,
  usagePods: () => [],
  podInfo: () => undefined,
  listPods: () => [],
}));
/** Every token is user "scraper", allowed everything. */
const api = <T>(req: KubeRequest): Promise<T> =>
  Promise.resolve(
    (req.path.endsWith("/tokenreviews")
      ? { status: { authenticated: true, user: { username: "scraper", groups: [] } } }
      : { status: { allowed: true } }) as T,
  );
const log = pino({ level: "silent" });
let base = 0;
let endpoints: KubeletEndpoints;

before(async () => {
  const ports = await pickFreePorts(1);
  base = ports[0]!;
  endpoints = new KubeletEndpoints(
    { node: (i) => views[i], auth: new KubeletAuth({ request: api, clock, log }), clock, log },
    // One handshake at a time: a connection's handshake must end for the next to start.
    { address: "127.0.0.1", basePort: base, count: NODES, handshakes: 1 },
  );
  await endpoints.start();
});
after(() => endpoints.stop());

/** GET /healthz on node `i` over a keep-alive connection (it stays open after the answer). */
function healthz(i: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: base + i, path: "/healthz", agent, headers: { authorization: "Bearer t" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test(
  "new connections' handshakes take turns: every node answers while connections stay open",
  { timeout: 20_000 },
  async () => {
    const agents = views.map(() => new Agent({ keepAlive: true, rejectUnauthorized: false }));
    try {
      const codes = await Promise.all(views.map((_, i) => healthz(i, agents[i]!)));
      assert.deepEqual(
        codes,
        views.map(() => 200),
      );
      // And again on the same connections (no handshake).
      assert.deepEqual(await Promise.all(views.map((_, i) => healthz(i, agents[i]!))), codes);
    } finally {
      for (const a of agents) a.destroy();
    }
  },
);

test(
  "a client that never finishes its handshake holds the turn at most 10 s",
  { timeout: 20_000 },
  async () => {
    const silent: Socket = connect({ host: "127.0.0.1", port: base });
    while (endpoints.handshakes.running === 0) await new Promise((r) => setTimeout(r, 5));
    const agent = new Agent({ keepAlive: true, rejectUnauthorized: false });
    try {
      await clock.advance(10_000);
      assert.equal(await healthz(1, agent), 200);
    } finally {
      silent.destroy();
      agent.destroy();
    }
  },
);
