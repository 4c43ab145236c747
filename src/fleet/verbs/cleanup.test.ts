import { test } from "node:test";
import assert from "node:assert/strict";
import { FLEET_LABEL } from "../../kernel/k8s.ts";
import { objectPath } from "../apply.ts";
import { fakeFleet, nodeNames, registerNode } from "../testdata/fake-fleet.ts";
import { cleanupFleet } from "./cleanup.ts";
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
