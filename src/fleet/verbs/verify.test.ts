import { test } from "node:test";
import assert from "node:assert/strict";
import { KubemarkError } from "../../kernel/errors.ts";
import { nodeLeasePath, nodePath } from "../../kernel/k8s.ts";
import { fakeFleet, registerNode, type FakeFleet } from "../testdata/fake-fleet.ts";
import { createFleet } from "./create.ts";
import { leaseFreshness, verifyFleet } from "./verify.ts";

/** A fake cluster with a healthy fleet of 3 Ready nodes, 1 engine unit. */
async function healthyFleet(): Promise<FakeFleet> {
  const f = fakeFleet();
  await createFleet(f.session, { verb: "create", nodes: 3, wait: true, timeoutMs: 60_000, stallMs: 30_000 });
  return f;
}

test("verify: each fault is one problem naming the nodes, with the command that fixes it", async (t) => {
  const cases: Array<{
    name: string;
    fault: (f: FakeFleet) => void;
    problems: string[];
    fixes: string[];
    counts?: Partial<{
      registered: number;
      ready: number;
      unbacked: string[];
      stale: string[];
      missing: string[];
    }>;
  }> = [
    { name: "a healthy fleet has no problems", fault: () => {}, problems: [], fixes: [] },
    {
      name: "a Lease older than its duration is stale",
      fault: (f) => registerNode(f.store, "kubemark", "hollow-node-1", { renewedAt: f.clock.now() - 60_000 }),
      problems: ["1 Leases not renewed within their duration (hollow-node-1)"],
      fixes: ["see 'kubemark-cluster list -o wide' and 'kubemark-cluster logs'"],
      counts: { stale: ["hollow-node-1"] },
    },
    {
      name: "a node without a Lease",
      fault: (f) => f.store.objects.delete(nodeLeasePath("hollow-node-2")),
      problems: ["1 nodes without a Lease (hollow-node-2)"],
      fixes: ["see 'kubemark-cluster list -o wide' and 'kubemark-cluster logs'"],
      counts: { missing: ["hollow-node-2"] },
    },
    {
      name: "a NotReady node",
      fault: (f) =>
        registerNode(f.store, "kubemark", "hollow-node-0", { ready: false, renewedAt: f.clock.now() }),
      problems: ["1 nodes NotReady (hollow-node-0)"],
      fixes: ["see 'kubemark-cluster list -o wide' and 'kubemark-cluster logs'"],
      counts: { ready: 2 },
    },
    {
      name: "a fleet Node past the desired count is unbacked (its Lease is not judged)",
      fault: (f) => registerNode(f.store, "kubemark", "hollow-node-9"),
      problems: ["1 fleet Nodes past the desired count (hollow-node-9)"],
      fixes: ["see 'kubemark-cluster list -o wide' and 'kubemark-cluster logs'"],
      counts: { unbacked: ["hollow-node-9"] },
    },
    {
      name: "a node that never registered",
      fault: (f) => f.store.objects.delete(nodePath("hollow-node-2")),
      problems: ["1 of 3 nodes not registered"],
      fixes: ["see 'kubemark-cluster list -o wide' and 'kubemark-cluster logs'"],
      counts: { registered: 2, ready: 2 },
    },
    {
      name: "an engine unit not running: the runtime's words and its fix",
      fault: (f) => f.runtimes["in-cluster"].running.clear(),
      problems: ["1 of 1 engine units not running: unit 0 stopped"],
      fixes: ["restart the units"],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const f = await healthyFleet();
      c.fault(f);
      const r = await verifyFleet(f.session);
      assert.deepEqual(r.problems, c.problems);
      assert.deepEqual(r.fixes, c.fixes);
      assert.equal(r.healthy, c.problems.length === 0);
      assert.equal(r.registered, c.counts?.registered ?? 3);
      assert.equal(r.ready, c.counts?.ready ?? 3);
      assert.deepEqual(r.unbacked, c.counts?.unbacked ?? []);
      assert.deepEqual(r.staleLeases, c.counts?.stale ?? []);
      assert.deepEqual(r.missingLeases, c.counts?.missing ?? []);
      assert.equal(r.mode, "in-cluster");
    });
  }
});

test("verify without a fleet: names what still runs for it in any runtime, else how to create one", async () => {
  const f = fakeFleet();
  await assert.rejects(
    verifyFleet(f.session),
    (err: unknown) =>
      err instanceof KubemarkError &&
      err.code === "NOT_FOUND" &&
      err.message === "no hollow-node fleet in namespace kubemark of https://127.0.0.1:6443" &&
      /kubemark-cluster create/.test(err.hint ?? ""),
  );
  f.runtimes.local.stray = {
    description: "1 local engine process recorded for that namespace and address runs (pid 42)",
    nodes: 7,
  };
  await assert.rejects(verifyFleet(f.session), (err: unknown) => {
    assert.ok(err instanceof KubemarkError);
    assert.equal(
      err.message,
      "no hollow-node fleet in namespace kubemark of https://127.0.0.1:6443, yet 1 local engine process recorded for that namespace and address runs (pid 42)",
    );
    assert.equal(
      err.hint,
      "stop them with 'kubemark-cluster cleanup', or replace them with 'kubemark-cluster create 7'",
    );
    return true;
  });
});

test("leaseFreshness: missing when never renewed, stale past its own duration, unbacked Nodes skipped", () => {
  const now = Date.parse("2026-01-01T00:01:00Z");
  const at = (s: number): string => new Date(now - s * 1000).toISOString();
  const nodes = ["a", "b", "c", "d", "e", "x"].map((name) => ({
    name,
    ready: true,
    version: "",
    created: "",
  }));
  const leases = [
    { metadata: { name: "a" }, spec: { renewTime: at(10), leaseDurationSeconds: 40 } },
    { metadata: { name: "b" }, spec: { renewTime: at(41), leaseDurationSeconds: 40 } },
    { metadata: { name: "c" }, spec: { renewTime: at(41), leaseDurationSeconds: 60 } },
    { metadata: { name: "d" }, spec: {} },
    { metadata: { name: "x" }, spec: { renewTime: at(600) } },
  ];
  assert.deepEqual(leaseFreshness({ nodes, extra: ["x"] }, leases, now), {
    stale: ["b"],
    missing: ["d", "e"],
  });
});
