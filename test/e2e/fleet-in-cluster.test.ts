/**
 * `kubemark-cluster` fleet verbs in in-cluster mode, run as a user would against the real local
 * control plane (issue: CLI): the objects pass a server dry run and the pod template, run on this
 * machine as a kubelet would, registers its nodes with least privilege; two clusters (the
 * workload in one, the Nodes in the other).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../src/client/kube-client.ts";
import { loadClusterAccess } from "../../src/client/kubeconfig.ts";
import { NO_RETRY } from "../../src/client/retry.ts";
import { adminClientFor, cli, eventually, kubectlPath, run, testCluster } from "../harness.ts";
import {
  anonymousKubeletGet,
  fleetNodes,
  leaseNames,
  nodeAddress,
  ok,
  readyCount,
  runPodOn,
} from "../fleet-checks.ts";
import { POD_IP, materialisePod, type StatefulSetObj } from "../pod-template.ts";

test("in-cluster mode: objects pass a server dry run; the pod template, run here, registers and runs its nodes", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-pods";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  const root = await mkdtemp(join(tmpdir(), "hollow-pod-"));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    ok(await cli(["setup", ...scope]), "setup");
    const dry = await cli([
      "create",
      "25",
      "--in-cluster",
      "--nodes-per-pod",
      "10",
      "--dry-run=server",
      ...scope,
    ]);
    ok(dry, "server dry run");
    assert.match(dry.stdout, /accepted by the API server/);
    await assert.rejects(
      client.get(`/apis/apps/v1/namespaces/${ns}/statefulsets/hollow-node`),
      /not ?found/i,
    );

    const create = await cli([
      "create",
      "25",
      "--in-cluster",
      "--nodes-per-pod",
      "10",
      "--no-wait",
      ...scope,
    ]);
    ok(create, "create --in-cluster --no-wait");
    // The local control plane runs the Node authorizer: node identities by default.
    assert.match(create.stderr, /identity: node \(the API server runs the Node authorizer\)/);
    const sts = await client.get<StatefulSetObj>(`/apis/apps/v1/namespaces/${ns}/statefulsets/hollow-node`);
    assert.equal(sts.spec.replicas, 3, "25 nodes at 10 per pod: 3 pods");
    assert.equal(sts.spec.template.spec.securityContext.runAsNonRoot, true);

    // Pod hollow-node-2 runs the last shard: nodes 20..24.
    const pod = await materialisePod(client, ns, sts, "hollow-node-2", root);
    const [cmd, ...args] = pod.argv;
    assert.equal(cmd, "node", "the stock Node.js image's node runs the engine");
    child = spawn(process.execPath, args, {
      cwd: pod.cwd,
      env: { PATH: process.env["PATH"] ?? "", ...pod.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stderr?.on("data", (b: Buffer) => (out += b.toString()));
    await eventually("the pod's 5 nodes Ready", 60_000, async () => {
      const ready = readyCount(await fleetNodes(client, ns));
      return { done: ready === 5, status: `${ready} Ready; engine says: ${out.slice(-300)}` };
    });
    const names = (await fleetNodes(client, ns)).map((n) => n.metadata.name).sort();
    assert.deepEqual(names, [
      "hollow-node-20",
      "hollow-node-21",
      "hollow-node-22",
      "hollow-node-23",
      "hollow-node-24",
    ]);
    // A kubelet posts Ready status and takes its Lease independently: the Lease may come a moment later.
    await eventually("a Lease for each of the pod's nodes", 30_000, async () => {
      const leases = await leaseNames(client, "hollow-node-2");
      const missing = names.filter((n) => !leases.includes(n));
      return { done: missing.length === 0, status: `missing ${missing.join(", ")}` };
    });
    // Each node serves its kubelet API on the pod's IP, port 10250 + its index in the pod, and
    // reports that IP as its InternalIP (no InternalDNS: it is the same address); no credentials, 401.
    const served = (await fleetNodes(client, ns)).sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    assert.deepEqual(
      served.map((n) => [
        nodeAddress(n, "InternalIP"),
        nodeAddress(n, "InternalDNS"),
        n.status?.daemonEndpoints?.kubeletEndpoint?.Port,
      ]),
      [0, 1, 2, 3, 4].map((i) => [POD_IP, undefined, 10250 + i]),
    );
    const anonymous = await anonymousKubeletGet(served[2]!);
    assert.deepEqual(
      anonymous,
      { status: 401, subjectAltName: `IP Address:${POD_IP}` },
      "401, certificate made in-process for the pod IP",
    );
    // ... and runs a pod bound to one of them.
    await runPodOn(client, ns, "work", "hollow-node-22");
    // kubectl logs goes through the API server to hollow-node-22's endpoint (its InternalIP:10252).
    const logs = await run(kubectlPath(), ["--kubeconfig", c.kubeconfig, "logs", "-n", ns, "work"]);
    ok(logs, "kubectl logs work");
    assert.match(logs.stdout, /started on node hollow-node-22/);

    // The ServiceAccount's token may do what a kubelet does, and nothing a kubelet may not.
    const token = await client.request<{ status: { token: string } }>({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/serviceaccounts/hollow-node/token`,
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 600 },
      },
    });
    const admin = await loadClusterAccess({ kubeconfig: c.kubeconfig, env: process.env });
    const sa = new KubeClient(
      {
        server: admin.server,
        ca: admin.ca,
        insecureSkipTLSVerify: false,
        authorization: () => Promise.resolve(`Bearer ${token.status.token}`),
        source: "hollow-node ServiceAccount",
      },
      { retry: NO_RETRY },
    );
    try {
      await sa.get("/api/v1/nodes", { limit: 1 });
      for (const path of [
        "/api/v1/secrets",
        `/api/v1/namespaces/${ns}/secrets`,
        "/apis/apps/v1/deployments",
      ]) {
        await assert.rejects(
          sa.get(path),
          (err: Error) => /forbidden/i.test(err.message),
          `${path} is refused`,
        );
      }
      await assert.rejects(
        sa.request({ method: "DELETE", path: "/api/v1/namespaces/default" }),
        (err: Error) => /forbidden/i.test(err.message),
      );
    } finally {
      await sa.close();
    }
  } finally {
    child?.kill("SIGTERM");
    await cli(["cleanup", "--all", ...scope]);
    await rm(root, { recursive: true, force: true });
    await client.close();
  }
  const gone = await adminClientFor();
  try {
    assert.deepEqual(await fleetNodes(gone, ns), [], "cleanup removed the pod's Nodes");
    await assert.rejects(
      gone.get(`/apis/rbac.authorization.k8s.io/v1/clusterroles/kubemark-cluster:hollow-node:${ns}`),
      /not ?found/i,
    );
  } finally {
    await gone.close();
  }
});

test("two clusters: the workload's objects land in the hosting cluster, the Nodes in the target", async () => {
  const c = testCluster();
  const up = await cli(["up", "--name", "it-target"]);
  ok(up, "up it-target");
  const targetKubeconfig = join(c.stateDir, "clusters", "it-target", "kubeconfig");
  const host = await adminClientFor();
  const target = await adminClientFor(targetKubeconfig);
  const ns = "fleet-two";
  const scope = ["--kubeconfig", c.kubeconfig, "--target-kubeconfig", targetKubeconfig, "-n", ns];
  try {
    const create = await cli(["create", "5", ...scope], { KUBEMARK_VERSION: "v1.31.4" });
    ok(create, "two-cluster create");
    const nodes = await fleetNodes(target, ns);
    assert.equal(readyCount(nodes), 5, "the Nodes are in the target");
    for (const n of nodes) {
      const v = (n as { status?: { nodeInfo?: { kubeletVersion?: string } } }).status?.nodeInfo
        ?.kubeletVersion;
      assert.equal(v, "v1.31.4", "KUBEMARK_VERSION picks the simulated kubelet version, no image involved");
    }
    assert.deepEqual(await fleetNodes(host, ns), [], "no Node in the hosting cluster");
    const secret = await host.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/secrets/hollow-node-target`,
    );
    assert.ok(secret.data["kubelet.kubeconfig"], "the hosting cluster holds the target kubeconfig Secret");
    assert.ok(
      !create.stdout.includes(Buffer.from(secret.data["token"] ?? "", "base64").toString()),
      "the token is never printed",
    );
    await host.get(`/api/v1/namespaces/${ns}/configmaps/hollow-node-fleet`);
    await target.get(`/api/v1/namespaces/${ns}/serviceaccounts/hollow-node`);
    await assert.rejects(
      host.get(`/apis/rbac.authorization.k8s.io/v1/clusterroles/kubemark-cluster:hollow-node:${ns}`),
      /not ?found/i,
    );
    ok(await cli(["verify", ...scope]), "verify");
    ok(await cli(["cleanup", "--all", ...scope]), "cleanup");
    assert.deepEqual(await fleetNodes(target, ns), []);
  } finally {
    await cli(["cleanup", "--all", ...scope]);
    await host.close();
    await target.close();
    await cli(["down", "--name", "it-target"]);
  }
});
