import { test } from "node:test";
import assert from "node:assert/strict";
import { KubemarkError } from "../../kernel/errors.ts";
import { objectPath } from "../apply.ts";
import { FLEET_CONFIGMAP } from "../objects.ts";
import { fakeFleet, nodeNames, registerNode, type FakeFleet } from "../testdata/fake-fleet.ts";
import { createFleet, type CreateOptions } from "./create.ts";

const waitOpts = { wait: true, timeoutMs: 60_000, stallMs: 30_000 };

function opts(verb: "create" | "scale", nodes: number): CreateOptions {
  return { verb, nodes, ...waitOpts };
}

/** A fake cluster with a fleet of `nodes` already Ready (its events and calls cleared). */
async function withFleet(nodes: number | undefined): Promise<FakeFleet> {
  const f = fakeFleet();
  if (nodes !== undefined) await createFleet(f.session, opts("create", nodes));
  f.events.length = 0;
  f.runtimes["in-cluster"].calls.length = 0;
  return f;
}

const names = (...i: number[]): string[] => i.map((n) => `hollow-node-${n}`).sort();

test("create and scale: what the runtime is asked to do, and which Nodes are left", async (t) => {
  const cases: Array<{
    name: string;
    before: number | undefined;
    verb: "create" | "scale";
    nodes: number;
    prepare?: (f: FakeFleet) => void;
    action: string;
    removedNodes: number;
    calls: string[];
    left: string[];
  }> = [
    {
      name: "create on an empty cluster starts the workload and waits for every node",
      before: undefined,
      verb: "create",
      nodes: 3,
      action: "created",
      removedNodes: 0,
      calls: ["apply 3"],
      left: names(0, 1, 2),
    },
    {
      name: "scale down deletes the Nodes no engine backs any more",
      before: 5,
      verb: "scale",
      nodes: 2,
      action: "scaled",
      removedNodes: 3,
      calls: ["apply 2 (from 5)"],
      left: names(0, 1),
    },
    {
      name: "scale up keeps the Nodes there are",
      before: 2,
      verb: "scale",
      nodes: 4,
      action: "scaled",
      removedNodes: 0,
      calls: ["apply 4 (from 2)"],
      left: names(0, 1, 2, 3),
    },
    {
      name: "the same count with every node Ready and a healthy workload changes nothing",
      before: 3,
      verb: "scale",
      nodes: 3,
      action: "unchanged",
      removedNodes: 0,
      calls: [],
      left: names(0, 1, 2),
    },
    {
      name: "the same count with an unhealthy workload applies it again",
      before: 3,
      verb: "create",
      nodes: 3,
      prepare: (f) => (f.runtimes["in-cluster"].diagnosis = "unit 0 exited"),
      action: "updated",
      removedNodes: 0,
      calls: ["apply 3 (from 3)"],
      left: names(0, 1, 2),
    },
    {
      name: "a fleet Node past the count (left behind earlier) is removed at the same count",
      before: 3,
      verb: "scale",
      nodes: 3,
      prepare: (f) => registerNode(f.store, "kubemark", "hollow-node-7"),
      action: "updated",
      removedNodes: 1,
      calls: ["apply 3 (from 3)"],
      left: names(0, 1, 2),
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const f = await withFleet(c.before);
      c.prepare?.(f);
      const r = await createFleet(f.session, opts(c.verb, c.nodes));
      assert.equal(r.action, c.action);
      assert.equal(r.ready, c.nodes);
      assert.equal(r.removedNodes, c.removedNodes);
      assert.deepEqual(f.runtimes["in-cluster"].calls, c.calls);
      assert.deepEqual(f.runtimes.local.calls, [], "the other runtime is not asked");
      assert.deepEqual(nodeNames(f.store), c.left);
    });
  }
});

test("create reports what it does as events: the plan, progress toward Ready, the end of the wait", async () => {
  const f = await withFleet(undefined);
  await createFleet(f.session, opts("create", 3));
  assert.deepEqual(f.events, [
    {
      kind: "step",
      message:
        "identity: shared (the API server runs no Node authorizer): every hollow kubelet uses the fleet's ServiceAccount",
    },
    {
      kind: "step",
      message:
        "creating fleet kubemark: 3 hollow nodes (in-cluster, 500 per unit) into https://127.0.0.1:6443",
    },
    { kind: "nodes-ready", ready: 3, desired: 3, registered: 3, seconds: 0 },
    { kind: "wait-ended" },
  ]);
  const down = await withFleet(3);
  await createFleet(down.session, opts("scale", 1));
  assert.deepEqual(
    down.events.filter((e) => e.kind === "step").map((e) => e.message),
    [
      "scaling fleet kubemark: 3 -> 1 nodes (in-cluster)",
      "  removed 2 Nodes (and their Leases) no longer backed",
    ],
  );
});

test("a kubelet newer than the API server is refused before the Node authorizer is asked or anything is said", async () => {
  // The CLI's one-line error must be the first line: the identity line came before it (e2e fleet-bad-input).
  const f = await withFleet(undefined);
  await assert.rejects(
    createFleet(f.session, { ...opts("create", 2), kubeletVersion: "v9.99.0" }),
    (err: unknown) => err instanceof KubemarkError && /newer than the API server's/.test(err.message),
  );
  assert.deepEqual(f.events, []);
  assert.ok(!f.store.requests.some((r) => r.endsWith("/subjectaccessreviews")), f.store.requests.join("\n"));
  assert.deepEqual(f.runtimes["in-cluster"].calls, []);
});

test("scale without a fleet fails before anything runs, and names the command that creates one", async () => {
  const f = await withFleet(undefined);
  await assert.rejects(createFleet(f.session, opts("scale", 3)), (err: unknown) => {
    assert.ok(err instanceof KubemarkError);
    assert.equal(err.code, "NOT_FOUND");
    assert.match(err.hint ?? "", /kubemark-cluster create 3/);
    return true;
  });
  assert.deepEqual(f.runtimes["in-cluster"].calls, []);
});

test("a runtime whose diagnosis is final stops the wait at once and keeps the fleet for the same command to resume", async () => {
  const f = await withFleet(undefined);
  const rt = f.runtimes.local;
  rt.registers = false;
  rt.diagnosisIsFinal = true;
  rt.diagnosis = "unit 0 exited";
  await assert.rejects(
    createFleet(f.session, { ...opts("create", 2), mode: "local" }),
    (err: unknown) =>
      err instanceof KubemarkError &&
      err.code === "START_FAILED" &&
      /0\/2 nodes Ready: unit 0 exited/.test(err.message),
  );
  assert.deepEqual(rt.calls, ["apply 2"], "not undone");
  assert.ok(f.store.has(objectPath("ConfigMap", FLEET_CONFIGMAP, "kubemark")), "the fleet stays recorded");
});

test("a new fleet whose workload fails to start is undone in every runtime", async () => {
  const f = await withFleet(undefined);
  f.runtimes["in-cluster"].failApply = new Error("image pull refused");
  await assert.rejects(createFleet(f.session, opts("create", 2)), /image pull refused/);
  assert.deepEqual(f.runtimes["in-cluster"].calls, ["apply 2", "remove"]);
  assert.deepEqual(f.runtimes.local.calls, ["remove"]);
  assert.equal(f.store.has(objectPath("ConfigMap", FLEET_CONFIGMAP, "kubemark")), false);
  assert.ok(f.events.some((e) => e.kind === "step" && e.message === "  undoing the half-made fleet"));
});

test("a dry run asks the runtime for its objects and changes nothing", async () => {
  const f = await withFleet(undefined);
  const r = await createFleet(f.session, { ...opts("create", 2), dryRun: "client" });
  assert.equal(r.action, "dry-run");
  assert.deepEqual(
    r.objects?.map((o) => `${o.kind}/${o.metadata.name}`),
    [
      "Namespace/kubemark",
      "ServiceAccount/hollow-node",
      "ClusterRole/kubemark-cluster:hollow-node:kubemark",
      "ClusterRoleBinding/kubemark-cluster:hollow-node:kubemark",
      "Role/kubemark-cluster:hollow-node:kubemark",
      "RoleBinding/kubemark-cluster:hollow-node:kubemark",
      "ClusterRoleBinding/kubemark-cluster:hollow-node:kubemark:auth-delegator",
      "RoleBinding/kubemark-cluster:hollow-node:kubemark",
      "Role/kubemark-cluster:hollow-node:kubemark",
      "RoleBinding/kubemark-cluster:hollow-node:kubemark",
      "CSIDriver/hollow.csi.kubemark-cluster.io",
      "StorageClass/hollow-csi",
    ],
  );
  assert.deepEqual(
    r.objects?.filter((o) => o.kind === "Role").map((o) => o.metadata.namespace),
    ["kube-node-lease", "kubemark"],
    "node Leases, and the CSI controller's election Lease in the fleet's namespace",
  );
  assert.deepEqual(
    r.objects?.filter((o) => o.kind === "RoleBinding").map((o) => o.metadata.namespace),
    ["kube-node-lease", "kube-system", "kubemark"],
    "the kubelet endpoints' client CA is read in kube-system (extension-apiserver-authentication-reader)",
  );
  assert.deepEqual(f.runtimes["in-cluster"].calls, []);
  assert.equal(f.store.objects.size, 0);
});

test("no new Ready node for the stall timeout gives up with the count and the workload's side", async () => {
  const f = await withFleet(undefined);
  const rt = f.runtimes["in-cluster"];
  rt.registers = false;
  rt.diagnosis = "pods not running: hollow-node-0 ImagePullBackOff";
  const run = createFleet(f.session, { ...opts("create", 2), stallMs: 10_000 });
  const failed = assert.rejects(
    run,
    (err: unknown) =>
      err instanceof KubemarkError &&
      err.code === "TIMEOUT" &&
      err.message ===
        "no progress for 10s at 0/2 nodes Ready: pods not running: hollow-node-0 ImagePullBackOff",
  );
  await f.clock.advance(12_000);
  await failed;
  assert.deepEqual(rt.calls, ["apply 2"], "a timeout keeps the fleet: the same command resumes");
  assert.equal(f.events.at(-1)?.kind, "wait-ended");
});
