/**
 * `kubemark-cluster` fleet verbs with local engine processes, run as a user would against the real
 * local control plane (issue: CLI): create, verify, scale and cleanup leave other Nodes alone;
 * kubelet version skew is refused or warned about; a namespace being deleted is waited for.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { adminClientFor, cli, eventually, testCluster } from "../harness.ts";
import { FLEET, fleetNodes, foreignNode, leaseNames, ok, readyCount } from "../fleet-checks.ts";

test("local mode: create 50, verify, scale 120, scale 20, cleanup twice; other Nodes survive", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-local";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  try {
    await foreignNode(client, "bystander-hollow", { "hollow-node": "true" });
    await foreignNode(client, "hollow-node-999", { "hollow-node": "true", [FLEET]: "someone-else" });

    const create = await cli(["create", "50", ...scope]);
    ok(create, "create 50");
    assert.match(create.stdout, /50\/50 hollow nodes Ready/);
    assert.match(create.stderr, /local/, "against the project's own control plane the engine runs locally");
    assert.match(create.stderr, /next: kubemark-cluster verify/);
    assert.equal(readyCount(await fleetNodes(client, ns)), 50);

    const again = await cli(["create", "50", ...scope]);
    ok(again, "create 50 again");
    assert.match(again.stdout, /nothing to do/);

    const verify = await cli(["verify", ...scope, "-o", "json"]);
    ok(verify, "verify");
    const report = JSON.parse(verify.stdout) as { healthy: boolean; ready: number; desired: number };
    assert.deepEqual([report.healthy, report.ready, report.desired], [true, 50, 50]);

    ok(await cli(["scale", "120", ...scope]), "scale 120");
    assert.equal(readyCount(await fleetNodes(client, ns)), 120);

    const down = await cli(["scale", "20", ...scope]);
    ok(down, "scale 20");
    const nodes = (await fleetNodes(client, ns)).map((n) => n.metadata.name).sort();
    assert.equal(nodes.length, 20, "exactly 20 hollow Nodes are left");
    assert.deepEqual(nodes, Array.from({ length: 20 }, (_, i) => `hollow-node-${i}`).sort());
    const leases = (await leaseNames(client, "hollow-node-")).filter((n) => n !== "hollow-node-999");
    assert.equal(leases.length, 20, `exactly 20 Leases are left, got ${leases.length}`);

    const list = await cli(["list", ...scope, "-o", "wide"]);
    ok(list, "list");
    assert.match(list.stdout, /hollow-node-19\s+Ready/);
    const logs = await cli(["logs", "hollow-node-3", ...scope]);
    ok(logs, "logs");
    assert.match(logs.stdout, /hollow-node-3/);

    // kubectl logs of a pod on a local-fleet node: the API server reaches the process's kubelet endpoint.
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/pods`,
      body: {
        metadata: { name: "logged" },
        spec: { nodeName: "hollow-node-3", containers: [{ name: "c", image: "nginx:1.27" }] },
      },
    });
    await eventually("pod logged Running", 60_000, async () => {
      const p = await client.get<{ status?: { phase?: string } }>(`/api/v1/namespaces/${ns}/pods/logged`);
      return { done: p.status?.phase === "Running", status: p.status?.phase ?? "none" };
    });
    const podLog = await client.getText(`/api/v1/namespaces/${ns}/pods/logged/log`);
    assert.match(podLog, new RegExp(`hollow container c of ${ns}/logged started on node hollow-node-3`));

    const clean = await cli(["cleanup", ...scope]);
    ok(clean, "cleanup");
    assert.match(clean.stdout, /removed 20 Nodes/);
    assert.deepEqual(await fleetNodes(client, ns), []);
    assert.deepEqual(
      (await leaseNames(client, "hollow-node-")).filter((n) => n !== "hollow-node-999"),
      [],
    );
    const twice = await cli(["cleanup", "--all", ...scope]);
    ok(twice, "second cleanup");
    for (const name of ["bystander-hollow", "hollow-node-999"]) {
      await client.get(`/api/v1/nodes/${name}`); // still there
    }
    const verifyGone = await cli(["verify", ...scope]);
    assert.notEqual(verifyGone.code, 0, "verify fails when there is no fleet");
  } finally {
    await cli(["cleanup", "--all", ...scope]);
    for (const name of ["bystander-hollow", "hollow-node-999"]) {
      await client.request({ method: "DELETE", path: `/api/v1/nodes/${name}` }).catch(() => undefined);
    }
    await client.close();
  }
});

test("version skew: kubelets newer than the API server only with --force, older than three minors with a warning", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-skew";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  try {
    const forced = await cli(["create", "2", "--kubelet-version", "v9.99.0", "--force", ...scope]);
    ok(forced, "create --force");
    assert.match(forced.stderr, /warning: kubelet version v9\.99\.0 is newer than the API server's/);
    const versions = (await fleetNodes(client, ns)).map(
      (n) => (n as { status?: { nodeInfo?: { kubeletVersion?: string } } }).status?.nodeInfo?.kubeletVersion,
    );
    assert.deepEqual(versions, ["v9.99.0", "v9.99.0"]);
    const old = await cli(["create", "2", "--kubelet-version", "v1.30.0", ...scope]);
    ok(old, "create with an old kubelet");
    assert.match(
      old.stderr,
      /warning: kubelet version v1\.30\.0 is \d+ minor versions older than the API server's/,
    );
  } finally {
    await cli(["cleanup", "--all", ...scope]);
    await client.close();
  }
});

test("cleanup --all returns when its namespace is gone; create waits for a namespace still being deleted", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-again";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  const nsPath = `/api/v1/namespaces/${ns}`;
  const held = `${nsPath}/configmaps/held`;
  try {
    ok(await cli(["create", "2", ...scope]), "create 2");
    ok(await cli(["cleanup", "--all", ...scope]), "cleanup --all");
    await assert.rejects(client.get(nsPath), /404/, "the namespace is gone when cleanup --all returns");
    ok(await cli(["create", "2", ...scope]), "create 2 right after cleanup --all");

    // A namespace someone deleted, held by a finalizer: create waits, and goes on once it is gone.
    await client.request({
      method: "POST",
      path: `${nsPath}/configmaps`,
      body: { metadata: { name: "held", finalizers: ["kubemark-cluster.io/test-hold"] } },
    });
    ok(await cli(["cleanup", ...scope]), "cleanup (the namespace stays)");
    await client.request({ method: "DELETE", path: nsPath });
    const created = cli(["create", "2", ...scope]);
    await eventually("the namespace controller says what holds it", 60_000, async () => {
      const n = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(nsPath);
      const holds = n.status?.conditions?.some(
        (x) => x.type === "NamespaceFinalizersRemaining" && x.status === "True",
      );
      return { done: holds === true, status: JSON.stringify(n.status?.conditions ?? []) };
    });
    await client.request({
      method: "PATCH",
      path: held,
      patchType: "merge",
      body: { metadata: { finalizers: null } },
    });
    const again = await created;
    ok(again, "create 2 into a namespace being deleted");
    assert.match(again.stderr, new RegExp(`namespace ${ns} is being deleted; waiting for it to go`));
    assert.equal(readyCount(await fleetNodes(client, ns)), 2);
  } finally {
    await client
      .request({
        method: "PATCH",
        path: held,
        patchType: "merge",
        body: { metadata: { finalizers: null } },
      })
      .catch(() => undefined);
    await cli(["cleanup", "--all", ...scope]);
    await client.close();
  }
});
