/**
 * The kubelet API of an in-cluster fleet registered into another cluster (issue 19): the engine
 * pod runs in the hosting cluster, its Nodes are in the target, so it is the target's API server
 * (`kubectl logs`) and the target's metrics-server (`kubectl top`) that dial the hollow nodes at
 * their InternalIP, the engine pod's IP in the hosting cluster. The pod template is run on this
 * machine as a kubelet would run it (test/pod-template.ts): both clusters are local, so the pod's
 * IP is loopback and the route from the target to it exists, as on one machine with `up --workers`.
 * What this checks that one cluster cannot: the nodes trust the target's client CA (its API
 * server's kubelet client certificate is let in, the hosting cluster's is refused with 401), and
 * their reviews go to the target, where metrics-server's identity is bound.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminClientFor, cli, eventually, kubectlPath, run, testCluster } from "../harness.ts";
import { fleetNodes, nodeAddress, ok, readyCount, runPodOn, type NodeObj } from "../fleet-checks.ts";
import { POD_IP, materialisePod, type StatefulSetObj } from "../pod-template.ts";

const TARGET = "it-target-api";
const NS = "fleet-two-api";

/** A GET of a node's `/pods` with a client certificate: the HTTP status. */
async function getWithCertificate(node: NodeObj, pkiDir: string): Promise<number> {
  const host = nodeAddress(node, "InternalIP");
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  assert.ok(host && port, `${node.metadata.name} reports an InternalIP and a kubelet port`);
  const cert = await readFile(join(pkiDir, "apiserver-kubelet-client.crt"));
  const key = await readFile(join(pkiDir, "apiserver-kubelet-client.key"));
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: "/pods", cert, key, rejectUnauthorized: false, agent: false, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from https://${host}:${port}/pods in 10 s`)));
    req.on("error", reject);
    req.end();
  });
}

test("two clusters, in-cluster fleet: the target's API server and metrics-server reach the hollow nodes on the engine pod's IP; the hosting cluster's API server is refused", async () => {
  const c = testCluster();
  ok(await cli(["up", "--name", TARGET, "--metrics-server"]), `up ${TARGET} --metrics-server`);
  const targetDir = join(c.stateDir, "clusters", TARGET);
  const targetKubeconfig = join(targetDir, "kubeconfig");
  const host = await adminClientFor();
  const target = await adminClientFor(targetKubeconfig);
  const scope = ["--kubeconfig", c.kubeconfig, "--target-kubeconfig", targetKubeconfig, "-n", NS];
  const root = await mkdtemp(join(tmpdir(), "hollow-pod-two-"));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    ok(await cli(["setup", ...scope]), "setup");
    const create = await cli(["create", "3", "--in-cluster", "--nodes-per-pod", "3", "--no-wait", ...scope]);
    ok(create, "create --in-cluster --target-kubeconfig --no-wait");
    const sts = await host.get<StatefulSetObj>(`/apis/apps/v1/namespaces/${NS}/statefulsets/hollow-node`);
    const pod = await materialisePod(host, NS, sts, "hollow-node-0", root);
    const [cmd, ...args] = pod.argv;
    assert.equal(cmd, "node");
    child = spawn(process.execPath, args, {
      cwd: pod.cwd,
      env: { PATH: process.env["PATH"] ?? "", ...pod.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stderr?.on("data", (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    await eventually("the pod's 3 nodes Ready in the target", 90_000, async () => {
      const ready = readyCount(await fleetNodes(target, NS));
      return { done: ready === 3, status: `${ready} Ready; engine says: ${out.slice(-300)}` };
    });
    assert.deepEqual(await fleetNodes(host, NS), [], "no Node in the hosting cluster");
    const nodes = (await fleetNodes(target, NS)).sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    assert.deepEqual(
      nodes.map((n) => [nodeAddress(n, "InternalIP"), n.status?.daemonEndpoints?.kubeletEndpoint?.Port]),
      [0, 1, 2].map((i) => [POD_IP, 10250 + i]),
      "each node at the engine pod's IP, port 10250 + its index",
    );

    // The nodes trust the target's client CA, not the hosting cluster's.
    assert.equal(
      await getWithCertificate(nodes[1]!, join(c.stateDir, "clusters", c.name, "pki")),
      401,
      "the hosting cluster's API server's kubelet client certificate is not the target's: 401",
    );
    assert.equal(
      await getWithCertificate(nodes[1]!, join(targetDir, "pki")),
      200,
      "the target's API server's kubelet client certificate: 200",
    );

    // kubectl logs through the target's API server reaches the node on the pod's IP.
    const node = nodes[1]!.metadata.name;
    await runPodOn(target, NS, "work", node);
    const logs = await run(kubectlPath(), ["--kubeconfig", targetKubeconfig, "logs", "-n", NS, "work"]);
    ok(logs, "kubectl logs work (target)");
    assert.match(logs.stdout, new RegExp(`started on node ${node}`));

    // The target's metrics-server scrapes every node (its reviews made in the target).
    await eventually("kubectl top nodes in the target lists the fleet's 3 nodes", 120_000, async () => {
      const top = await run(kubectlPath(), [
        "--kubeconfig",
        targetKubeconfig,
        "top",
        "nodes",
        "--no-headers",
      ]);
      const listed = nodes.filter((n) => top.stdout.includes(`${n.metadata.name} `)).length;
      return { done: listed === 3, status: `${listed} of 3 listed; ${top.stderr.trim().slice(-200)}` };
    });
  } finally {
    child?.kill("SIGTERM");
    await cli(["cleanup", "--all", ...scope]);
    await rm(root, { recursive: true, force: true });
    await host.close();
    await target.close();
    await cli(["down", "--name", TARGET]);
  }
});
