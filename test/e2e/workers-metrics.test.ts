/**
 * metrics-server scrapes a real kubelet and in-cluster hollow nodes (issue 19): a local cluster with
 * a real worker (`up --workers 1 --metrics-server`) lists the worker in `kubectl top nodes`, so the
 * worker's kubelet serves /metrics/resource to metrics-server's client certificate (x509 against
 * the cluster CA, authorized by SubjectAccessReview on nodes/metrics). Then an in-cluster fleet
 * runs on that worker as in a user's cluster: each engine pod serves its nodes' kubelet API on its
 * pod IP (the nodes' InternalIP), so metrics-server lists the hollow nodes too, `kubectl logs`
 * reaches a hollow node through the API server, and a request without credentials gets 401.
 * The fleet runs with node identities (create's default where the Node authorizer runs): its
 * ServiceAccount is bootstrap-only for the kubelets, and the audit log (`up --audit`) shows a
 * node's own user watching its pod's Secret and ConfigMap and creating its TokenRequests
 * (workers-identity-checks.ts, issue 20).
 * Skipped, with the reason, where this machine cannot run containers as root.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { adminClientFor, cli, eventually, kubectlPath, run, testCluster } from "../harness.ts";
import { anonymousKubeletGet, fleetNodes, nodeAddress, ok, readyCount, runPodOn } from "../fleet-checks.ts";
import { workerSkipReason as skipReason } from "../real-workers.ts";
import { checkNodeIdentityFleet } from "../workers-identity-checks.ts";

const CLUSTER = "it-wmetrics";
const WORKER = `${CLUSTER}-worker-0`;

/** `kubectl top nodes` rows by node name: [cpu, memory]. */
function topRows(out: string): Map<string, [string, string]> {
  const rows = new Map<string, [string, string]>();
  for (const line of out.trim().split("\n")) {
    const [name, cpu, , mem] = line.trim().split(/\s+/);
    if (name && cpu && mem) rows.set(name, [cpu, mem]);
  }
  return rows;
}

test("up --workers 1 --metrics-server: kubectl top nodes lists the real worker, then an in-cluster fleet's hollow nodes", async (t) => {
  const reason = await skipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  const kubeconfig = join(testCluster().stateDir, "clusters", CLUSTER, "kubeconfig");
  try {
    const t0 = Date.now();
    const up = await cli(
      ["up", "--name", CLUSTER, "--workers", "1", "--metrics-server", "--audit", "--timeout", "300"],
      {},
      900_000,
    );
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    assert.match(
      up.stdout,
      /metrics-server: pid \d+ on 127\.0\.0\.1:\d+, v1beta1\.metrics\.k8s\.io Available/,
    );
    const auditLog = /^audit log: (.+)$/m.exec(up.stdout)?.[1];
    assert.ok(auditLog, `up --audit names its audit log:\n${up.stdout}`);
    t.diagnostic(`up --workers 1 --metrics-server --audit: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const t1 = Date.now();
    const top = await eventually(`kubectl top nodes to list ${WORKER}`, 120_000, async () => {
      const r = await run(kubectlPath(), ["--kubeconfig", kubeconfig, "top", "nodes", "--no-headers"]);
      return { done: r.code === 0 && r.stdout.includes(WORKER), status: r.code === 0 ? r.stdout : r.stderr };
    });
    t.diagnostic(`kubectl top nodes after ${((Date.now() - t1) / 1000).toFixed(1)} s: ${top.status.trim()}`);
    const [cpu, mem] = topRows(top.status).get(WORKER) ?? [];
    assert.match(cpu ?? "", /^\d+m$/, top.status);
    assert.match(mem ?? "", /^\d+Mi$/, top.status);

    await inClusterFleet(t, kubeconfig, auditLog);
  } finally {
    const down = await cli(["down", "--name", CLUSTER]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopped .*metrics-server/);
  }
});

/**
 * An in-cluster fleet on the real worker (4 nodes, 2 per pod): the nodes report their pod's IP as
 * InternalIP and ports 10250 and 10251; this machine reaches them there (401 without credentials,
 * the certificate made in the pod for its IP: the stock image has no openssl); metrics-server
 * lists them in `kubectl top nodes`; `kubectl logs` of a pod on one goes through the API server;
 * then the node identity checks (workers-identity-checks.ts).
 */
async function inClusterFleet(t: TestContext, kubeconfig: string, auditLog: string): Promise<void> {
  const scope = ["--kubeconfig", kubeconfig];
  const admin = await adminClientFor(kubeconfig);
  try {
    const t0 = Date.now();
    const created = await cli(["create", "4", "--in-cluster", "--nodes-per-pod", "2", ...scope], {}, 600_000);
    ok(created, "create");
    t.diagnostic(
      `create 4 --in-cluster --nodes-per-pod 2: Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const pods = (
      await admin.get<{ items: { metadata: { name: string }; status: { podIP?: string } }[] }>(
        "/api/v1/namespaces/kubemark/pods",
        { labelSelector: "name=hollow-node" },
      )
    ).items;
    const podIP = new Map(pods.map((p) => [p.metadata.name, p.status.podIP ?? ""]));
    const nodes = (await fleetNodes(admin, "kubemark")).sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    assert.equal(readyCount(nodes), 4);
    // hollow-node-0 and -1 run in pod hollow-node-0, -2 and -3 in hollow-node-1.
    assert.deepEqual(
      nodes.map((n) => [
        n.metadata.name,
        nodeAddress(n, "InternalIP"),
        nodeAddress(n, "InternalDNS"),
        n.status?.daemonEndpoints?.kubeletEndpoint?.Port,
      ]),
      [0, 1, 2, 3].map((i) => [
        `hollow-node-${i}`,
        podIP.get(`hollow-node-${Math.floor(i / 2)}`),
        undefined,
        10250 + (i % 2),
      ]),
      "each node's InternalIP is its pod's IP, its port 10250 + its index in the pod",
    );
    for (const n of nodes) {
      const anonymous = await anonymousKubeletGet(n);
      assert.deepEqual(
        anonymous,
        { status: 401, subjectAltName: `IP Address:${nodeAddress(n, "InternalIP")}` },
        `${n.metadata.name}: no credentials, 401, from the certificate made in the pod`,
      );
    }

    const t1 = Date.now();
    const top = await eventually(
      "kubectl top nodes to list the 4 hollow nodes with values",
      180_000,
      async () => {
        const r = await run(kubectlPath(), ["--kubeconfig", kubeconfig, "top", "nodes", "--no-headers"]);
        const rows = topRows(r.stdout);
        // A node metrics-server has no values for yet is listed as <unknown>.
        const listed = nodes.filter((n) => /^\d+m$/.test(rows.get(n.metadata.name)?.[0] ?? "")).length;
        return { done: r.code === 0 && listed === 4, status: r.code === 0 ? r.stdout : r.stderr };
      },
    );
    t.diagnostic(
      `hollow nodes in kubectl top nodes after ${((Date.now() - t1) / 1000).toFixed(1)} s:\n${top.status.trim()}`,
    );
    const rows = topRows(top.status);
    for (const n of nodes) {
      const [cpu, mem] = rows.get(n.metadata.name) ?? [];
      assert.match(cpu ?? "", /^[1-9]\d*m$/, `${n.metadata.name}: ${top.status}`);
      assert.match(mem ?? "", /^[1-9]\d*Mi$/, `${n.metadata.name}: ${top.status}`);
    }

    await runPodOn(admin, "default", "on-hollow", "hollow-node-3");
    const logs = await run(kubectlPath(), ["--kubeconfig", kubeconfig, "logs", "-n", "default", "on-hollow"]);
    ok(logs, "kubectl logs of a pod on a hollow node");
    assert.match(logs.stdout, /started on node hollow-node-3/);
    t.diagnostic(`kubectl logs on-hollow: ${logs.stdout.trim()}`);

    const t2 = Date.now();
    await checkNodeIdentityFleet(t, {
      admin,
      kubeconfig,
      auditLog,
      namespace: "kubemark",
      fleet: "kubemark",
      createStderr: created.stderr,
      node: "hollow-node-2",
    });
    t.diagnostic(`node identity checks: ${((Date.now() - t2) / 1000).toFixed(1)} s`);
  } finally {
    await admin
      .request({ method: "DELETE", path: "/api/v1/namespaces/default/pods/on-hollow" })
      .catch(() => undefined);
    await admin.close();
    await cli(["cleanup", "--all", ...scope], {}, 300_000);
  }
}
