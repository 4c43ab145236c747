import { test } from "node:test";
import assert from "node:assert/strict";
import { FLEET_LABEL } from "../../kernel/k8s.ts";
import { objectPath } from "../apply.ts";
import { fakeFleet, nodeNames, registerNode } from "../testdata/fake-fleet.ts";
import { cleanupFleet, type CleanupResult } from "./cleanup.ts";
import { createFleet } from "./create.ts";

const create = { verb: "create" as const, wait: true, timeoutMs: 60_000, stallMs: 30_000 };

test("cleanup stops every runtime's workload and removes only the fleet's Nodes, then nothing the second time", async () => {
  const f = fakeFleet();
  await createFleet(f.session, { ...create, nodes: 3 });
  f.runtimes.local.running.set(0, 0); // a workload left by a local fleet of the same name
  registerNode(f.store, "kubemark", "real-node", { labels: {} });
  registerNode(f.store, "kubemark", "hollow-node-8", {
    labels: { [FLEET_LABEL]: "other", "hollow-node": "true" },
  });
  registerNode(f.store, "kubemark", "hollow-node-9", { labels: { [FLEET_LABEL]: "kubemark" } });
  const r = await cleanupFleet(f.session, { all: false });
  assert.equal(r.nodes, 3);
  assert.equal(r.processes, 2, "the local runtime's unit and the in-cluster one");
  assert.deepEqual(f.runtimes.local.calls, ["remove"]);
  assert.deepEqual(f.runtimes["in-cluster"].calls.at(-1), "remove");
  assert.deepEqual(
    nodeNames(f.store),
    ["hollow-node-8", "hollow-node-9", "real-node"],
    "Nodes it did not make stay",
  );
  assert.ok(r.objects.includes("configmap/hollow-node-fleet -n kubemark"));
  assert.ok(r.objects.includes("clusterrole/kubemark-cluster:hollow-node:kubemark"));
  assert.deepEqual(r.namespaces, []);
  assert.ok(f.store.has(objectPath("Namespace", "kubemark")), "the namespace stays without --all");
  const again = await cleanupFleet(f.session, { all: false });
  assert.deepEqual(again, {
    nodes: 0,
    processes: 0,
    objects: [],
    namespaces: [],
    keptNamespaces: [],
    terminatingNamespaces: [],
    storage: {
      drivers: [],
      storageClasses: [],
      attachments: 0,
      volumes: 0,
      claimsDeleted: 0,
      claimsLeft: [],
    },
    bootstrap: { tokens: 0, csrs: 0, bindings: false },
  });
});

test("cleanup --all deletes the namespace only when kubemark-cluster created it", async (t) => {
  const cases = [
    { name: "made by create", labels: undefined, deleted: ["kubemark (cluster)"], kept: [] },
    { name: "the user's own", labels: {}, deleted: [], kept: ["kubemark (cluster)"] },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const f = fakeFleet();
      if (c.labels)
        f.store.put(objectPath("Namespace", "kubemark"), {
          metadata: { name: "kubemark", labels: c.labels },
        });
      await createFleet(f.session, { ...create, nodes: 1 });
      const r = await cleanupFleet(f.session, { all: true });
      assert.deepEqual(r.namespaces, c.deleted);
      assert.deepEqual(r.keptNamespaces, c.kept);
      assert.equal(f.store.has(objectPath("Namespace", "kubemark")), c.deleted.length === 0);
    });
  }
});

test("cleanup --all waits for its namespace to be deleted; one still held after the wait is a warning naming what holds it", async (t) => {
  const cases = [
    { name: "deleted by the namespace controller after 4 s", goneAfterMs: 4_000 },
    { name: "held by a finalizer", goneAfterMs: undefined },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const f = fakeFleet();
      await createFleet(f.session, { ...create, nodes: 1 });
      // An earlier cleanup deleted it; the namespace controller is still at work.
      const path = objectPath("Namespace", "kubemark");
      const ns = f.store.objects.get(path)!;
      f.store.put(path, {
        ...ns,
        metadata: { ...ns.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" },
        status: {
          conditions: [
            {
              type: "NamespaceFinalizersRemaining",
              status: "True",
              message:
                "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
            },
          ],
        },
      });
      const out: { result?: CleanupResult } = {};
      void cleanupFleet(f.session, { all: true }).then((r) => {
        out.result = r;
      });
      await f.clock.advance(c.goneAfterMs ?? 60_000);
      assert.equal(out.result, undefined, "cleanup still waits");
      assert.ok(f.events.some((e) => e.kind === "step" && /waiting for namespace kubemark/.test(e.message)));
      if (c.goneAfterMs) f.store.objects.delete(path);
      for (let i = 0; i < 70 && !out.result; i++) await f.clock.advance(1_000);
      const result = out.result as CleanupResult | undefined; // set by the cleanup meanwhile
      assert.ok(result, "cleanup returned");
      const warnings = f.events.filter((e) => e.kind === "warning");
      if (c.goneAfterMs) {
        assert.deepEqual(result.terminatingNamespaces, []);
        assert.deepEqual(warnings, []);
      } else {
        assert.deepEqual(result.terminatingNamespaces, [
          {
            namespace: "kubemark (cluster)",
            seconds: 120,
            holders:
              "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
          },
        ]);
        assert.match(
          warnings.map((w) => w.message).join("\n"),
          /namespace kubemark \(cluster\) is still being deleted after 120 s: Some content .*example\.com\/hold/,
        );
      }
    });
  }
});
