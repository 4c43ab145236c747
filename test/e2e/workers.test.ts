/**
 * Real hollow-node pods (issue: real worker nodes): a local cluster with a real kubelet on
 * containerd (`up --workers 1`) runs the in-cluster fleet for real, from the stock-image default
 * and from the built image; a second cluster (the harness's) is the target of a two-cluster fleet;
 * `down` leaves nothing of the worker behind. Skipped, with the reason, where this machine cannot
 * run containers as root.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  adminClientFor,
  cli,
  eventually,
  kubectlPath,
  run,
  testCluster,
  type RunResult,
} from "../harness.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { mountsUnder, pidsInCgroup, pidsWithArg } from "../../src/workers/host.ts";
import { workerSkipReason as skipReason } from "../real-workers.ts";
import { NODE_BRIDGE, hollowNodeImageTag } from "../../src/workers/workers.ts";
import { PACKAGE_VERSION } from "../../src/kernel/version.ts";

const CLUSTER = "it-workers";
const WORKER = `${CLUSTER}-worker-0`;
const CGROUP = `/kubemark-cluster-${CLUSTER}-w0`;

interface Pod {
  metadata: { name: string; uid: string };
  spec: {
    nodeName?: string;
    hostNetwork?: boolean;
    volumes?: { hostPath?: unknown }[];
    containers: {
      image: string;
      securityContext?: { privileged?: boolean; allowPrivilegeEscalation?: boolean };
    }[];
  };
  status: { phase?: string };
}
interface NodeObj {
  metadata: { name: string; uid: string };
  status?: { conditions?: { type: string; status: string }[] };
}

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

const ready = (n: NodeObj): boolean =>
  n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

async function fleetNodes(c: KubeClient, fleet: string): Promise<NodeObj[]> {
  return (
    await c.get<{ items: NodeObj[] }>("/api/v1/nodes", {
      labelSelector: `kubemark-cluster.io/fleet=${fleet},hollow-node=true`,
    })
  ).items;
}

async function pods(c: KubeClient, ns: string): Promise<Pod[]> {
  return (
    await c.get<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: "name=hollow-node" })
  ).items;
}

/** The engine processes of the worker's pods, with their uid, effective capabilities and RSS. */
async function engineProcesses(): Promise<{ pid: number; uid: number; capEff: string; rssKiB: number }[]> {
  const out = [];
  for (const pid of await pidsInCgroup(CGROUP)) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!/start\.mjs|hollow-node\.mjs/.test(cmd)) continue;
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
    const field = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, "m").exec(status)?.[1] ?? "";
    out.push({
      pid,
      uid: Number(field("Uid").split(/\s+/)[0]),
      capEff: field("CapEff"),
      rssKiB: Number(field("VmRSS").split(/\s+/)[0]),
    });
  }
  return out;
}

test("real workers: hollow-node pods run on a real kubelet, in one cluster and into another; down leaves nothing", async (t) => {
  const reason = await skipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  const it = testCluster();
  const netnsBefore = (await readdir("/run/netns").catch(() => [])).length;
  const runContainerdBefore = await stat("/run/containerd").then(
    () => true,
    () => false,
  );
  const started = Date.now();
  const up = await cli(["up", "--name", CLUSTER, "--workers", "1", "--timeout", "300"], {}, 900_000);
  ok(up, "up --workers 1");
  t.diagnostic(
    `up --workers 1: ${((Date.now() - started) / 1000).toFixed(1)} s; ${up.stdout
      .split("\n")
      .filter((l) => /workers Ready|image loaded/.test(l))
      .join("; ")}`,
  );
  const kubeconfig = join(it.stateDir, "clusters", CLUSTER, "kubeconfig");
  const host = await adminClientFor(kubeconfig);
  const target = await adminClientFor(it.kubeconfig);
  const kubectl = (...args: string[]): Promise<RunResult> =>
    run(kubectlPath(), ["--kubeconfig", kubeconfig, ...args]);
  const scope = ["--kubeconfig", kubeconfig];
  try {
    const worker = await host.get<NodeObj>(`/api/v1/nodes/${WORKER}`);
    assert.ok(ready(worker), "the worker Node is Ready");

    // --- one cluster: the default (stock node:24 image + engine ConfigMap), 4 pods of 50 nodes.
    let t0 = Date.now();
    const create = await cli(["create", "200", "--nodes-per-pod", "50", ...scope], {}, 600_000);
    ok(create, "create 200 --nodes-per-pod 50");
    t.diagnostic(`create 200 (4 pods) Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    let running = await pods(host, "kubemark");
    assert.equal(running.length, 4);
    for (const p of running) {
      assert.equal(p.status.phase, "Running", p.metadata.name);
      assert.equal(p.spec.nodeName, WORKER, `${p.metadata.name} runs on the real worker`);
      assert.ok(!p.spec.hostNetwork, "no host network");
      assert.ok(!(p.spec.volumes ?? []).some((v) => v.hostPath), "no host mounts");
      const sc = p.spec.containers[0]!.securityContext ?? {};
      assert.ok(!sc.privileged && sc.allowPrivilegeEscalation === false, "unprivileged");
    }
    assert.equal((await fleetNodes(host, "kubemark")).filter(ready).length, 200);
    const starts = (
      await host.get<{
        items: {
          metadata: { creationTimestamp: string };
          status: { containerStatuses?: { state?: { running?: { startedAt?: string } } }[] };
        }[];
      }>("/api/v1/namespaces/kubemark/pods", { labelSelector: "name=hollow-node" })
    ).items.map(
      (p) =>
        (Date.parse(p.status.containerStatuses?.[0]?.state?.running?.startedAt ?? "") -
          Date.parse(p.metadata.creationTimestamp)) /
        1000,
    );
    t.diagnostic(
      `hollow-node pod created -> container started: ${starts.sort((a, b) => a - b).join(", ")} s`,
    );
    const procs = await engineProcesses();
    assert.equal(procs.length, 4, "one engine process per pod on this machine");
    for (const p of procs) {
      assert.equal(p.uid, 1000, "the engine runs as uid 1000");
      assert.equal(p.capEff, "0000000000000000", "with no capabilities");
    }
    const rss = procs.reduce((a, p) => a + p.rssKiB, 0);
    t.diagnostic(
      `hollow-node pods: ${(rss / 1024).toFixed(0)} MiB RSS for 200 nodes = ${(rss / 200).toFixed(0)} KiB per simulated node (${(rss / 4 / 1024).toFixed(0)} MiB per 50-node pod)`,
    );
    // The seed's troubleshooting command: the API server reaches the real kubelet for the logs.
    // Each pod logs "nodes registered" once its 50 nodes are in; a pod may still be registering.
    let logs = await kubectl("logs", "-n", "kubemark", "-l", "name=hollow-node", "--tail=200");
    for (let i = 0; i < 30 && (logs.stdout.match(/"msg":"nodes registered"/g)?.length ?? 0) < 4; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      logs = await kubectl("logs", "-n", "kubemark", "-l", "name=hollow-node", "--tail=200");
    }
    ok(logs, "kubectl logs -l name=hollow-node");
    assert.equal(logs.stdout.match(/"msg":"nodes registered"/g)?.length, 4, logs.stdout.slice(0, 2000));

    t0 = Date.now();
    ok(await cli(["scale", "100", ...scope], {}, 300_000), "scale 100");
    running = await pods(host, "kubemark");
    assert.deepEqual(running.map((p) => p.metadata.name).sort(), ["hollow-node-0", "hollow-node-1"]);
    const before = await fleetNodes(host, "kubemark");
    assert.equal(before.length, 100, "exactly 100 hollow Nodes after scale 100");
    assert.equal(before.filter(ready).length, 100);
    const leases = (
      await host.get<{ items: { metadata: { name: string } }[] }>(
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
      )
    ).items.filter((l) => l.metadata.name.startsWith("hollow-node-"));
    assert.equal(leases.length, 100, "and 100 Leases");
    t.diagnostic(`scale 200 -> 100: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // Deleting a pod: the StatefulSet brings it back and it re-adopts the same Nodes.
    const old = running.find((p) => p.metadata.name === "hollow-node-1")!;
    ok(await kubectl("delete", "pod", "-n", "kubemark", "hollow-node-1"), "delete pod");
    await eventually("hollow-node-1 to run again and its Nodes to be Ready", 120_000, async () => {
      const p = (await pods(host, "kubemark")).find((x) => x.metadata.name === "hollow-node-1");
      const nodes = await fleetNodes(host, "kubemark");
      return {
        done:
          p?.metadata.uid !== old.metadata.uid &&
          p?.status.phase === "Running" &&
          nodes.filter(ready).length === 100,
        status: `pod ${p?.status.phase ?? "absent"}, ${nodes.filter(ready).length}/${nodes.length} Ready`,
      };
    });
    const after = await fleetNodes(host, "kubemark");
    assert.deepEqual(
      after.map((n) => `${n.metadata.name}/${n.metadata.uid}`).sort(),
      before.map((n) => `${n.metadata.name}/${n.metadata.uid}`).sort(),
      "the same Node objects, no duplicates",
    );
    ok(await cli(["verify", ...scope]), "verify");

    // --- the built image (engine inside, as the Dockerfile lays it out).
    const image = hollowNodeImageTag(PACKAGE_VERSION);
    ok(
      await cli(
        ["create", "20", "-n", "img", "--image", image, "--nodes-per-pod", "10", ...scope],
        {},
        300_000,
      ),
      "create --image",
    );
    const imgPods = await pods(host, "img");
    assert.equal(imgPods.length, 2);
    assert.ok(imgPods.every((p) => p.spec.containers[0]!.image === image && p.status.phase === "Running"));
    assert.equal((await fleetNodes(host, "img")).filter(ready).length, 20);
    ok(await cli(["cleanup", "--all", "-n", "img", ...scope]), "cleanup img");

    ok(await cli(["cleanup", ...scope]), "cleanup");
    assert.deepEqual(await fleetNodes(host, "kubemark"), [], "cleanup leaves no hollow Node");
    await eventually("the hollow-node pods to be gone", 60_000, async () => {
      const left = await pods(host, "kubemark");
      return { done: left.length === 0, status: `${left.length} pods` };
    });

    // --- two clusters: pods here, Nodes in the harness's cluster.
    const two = [...scope, "--target-kubeconfig", it.kubeconfig, "-n", "two"];
    const create2 = await cli(["create", "30", "--nodes-per-pod", "15", ...two], {}, 300_000);
    ok(create2, "two-cluster create");
    assert.equal((await pods(host, "two")).filter((p) => p.status.phase === "Running").length, 2);
    assert.equal((await fleetNodes(target, "two")).filter(ready).length, 30, "the Nodes are in the target");
    assert.deepEqual(await fleetNodes(host, "two"), [], "none in the hosting cluster");
    const secret = await host.get<{ data: Record<string, string> }>(
      "/api/v1/namespaces/two/secrets/hollow-node-target",
    );
    const token = Buffer.from(secret.data["token"]!, "base64").toString();
    const podLogs = await kubectl("logs", "-n", "two", "-l", "name=hollow-node", "--tail=-1");
    ok(podLogs, "logs of the two-cluster pods");
    const workerDir = join(it.stateDir, "clusters", CLUSTER, "workers", "w0");
    const kubeletLog = await readFile(join(workerDir, "kubelet.log"), "utf8");
    const containerdLog = await readFile(join(workerDir, "containerd.log"), "utf8");
    for (const [what, text] of [
      ["create's output", create2.stdout + create2.stderr],
      ["the pods' logs", podLogs.stdout],
      ["the kubelet's log", kubeletLog],
      ["containerd's log", containerdLog],
    ] as const) {
      assert.ok(!text.includes(token), `the target's token appears in ${what}`);
    }
    ok(await cli(["cleanup", "--all", ...two]), "two-cluster cleanup");
    assert.deepEqual(await fleetNodes(target, "two"), []);
  } finally {
    await host.close();
    await target.close();
    await cli(["cleanup", "--all", ...scope]);
  }

  // --- down: nothing of the worker is left on this machine.
  const stateDir = join(it.stateDir, "clusters", CLUSTER);
  ok(await cli(["down", "--name", CLUSTER]), "down");
  assert.deepEqual(await pidsWithArg(join(stateDir, "workers")), [], "no process of the worker");
  assert.equal((await pidsInCgroup(CGROUP)).size, 0, "no pod process");
  assert.deepEqual(await mountsUnder(stateDir), [], "no mount");
  assert.equal((await readdir("/run/netns").catch(() => [])).length, netnsBefore, "no pod network namespace");
  await assert.rejects(stat(`/sys/class/net/${NODE_BRIDGE}`), "no bridge");
  const links = await readdir("/sys/class/net");
  assert.ok(
    !links.some((l) => l.startsWith("kmcbr") || l.startsWith("veth")),
    `no pod bridge or veth: ${links.join(" ")}`,
  );
  await assert.rejects(stat(`/sys/fs/cgroup/memory${CGROUP}`), "no cgroup");
  if (!runContainerdBefore) await assert.rejects(stat("/run/containerd"), "nothing under /run/containerd");
  await assert.rejects(stat(stateDir), "the cluster's directory is gone");
});
