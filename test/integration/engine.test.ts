/**
 * The hollow-node engine against a real control plane (scheduler and controller-manager running):
 * 100 nodes become Ready and schedulable, run 300 pods with distinct IPs from their podCIDRs, run
 * init containers and Jobs, survive their own restart and the API server's, recreate a deleted
 * Lease, and make a kubelet's requests.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminClientFor, eventually, testCluster } from "../harness.ts";
import { removeTestObjects, defaultServiceAccount } from "../engine-process.ts";
import { startEngine, type EngineProcess } from "../engine-process.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { parseCidr } from "../../src/engine/ip-pool.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { clusterLayout, readRecord } from "../../src/controlplane/cluster-state.ts";
import { stopDaemon } from "../../src/host/daemon.ts";
import { upCluster } from "../../src/controlplane/local-cluster.ts";
import { resolvePaths } from "../../src/kernel/paths.ts";

const NODES = 100;
const FLEET = "it-engine";
const NS = `it-engine-${process.pid}`;

interface Node {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec?: { podCIDR?: string; taints?: { key: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}
interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    initContainerStatuses?: { state: { terminated?: { reason: string; exitCode: number } } }[];
  };
}

const ready = (n: Node): boolean => n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
const podReady = (p: Pod): boolean =>
  p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";

function ipInCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr, "cidr");
  const n = ip.split(".").reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  return n >>> (32 - c.prefix) === c.base >>> (32 - c.prefix);
}

describe("hollow-node engine on a real control plane", () => {
  let client: KubeClient;
  let engine: EngineProcess;
  const args = (): string[] => [
    "--kubeconfig",
    testCluster().kubeconfig,
    "--nodes",
    String(NODES),
    "--name-prefix",
    "it-hollow",
    "--fleet",
    FLEET,
    "--job-run-seconds",
    "3s",
    "--stats-interval",
    "0",
  ];

  const fleetNodes = async (): Promise<Node[]> =>
    (
      await client.get<{ items: Node[] }>("/api/v1/nodes", {
        labelSelector: `kubemark-cluster.io/fleet=${FLEET}`,
      })
    ).items;
  const pods = async (selector: string): Promise<Pod[]> =>
    (await client.get<{ items: Pod[] }>(`/api/v1/namespaces/${NS}/pods`, { labelSelector: selector })).items;

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    await defaultServiceAccount(client, NS);
    engine = startEngine(args());
  });

  after(async () => {
    await engine?.stop();
    await writeFile(join(tmpdir(), `hollow-node-it-${process.pid}.log`), engine?.logs() ?? "");
    process.stderr.write(`engine log: ${join(tmpdir(), `hollow-node-it-${process.pid}.log`)}\n`);
    await removeTestObjects(client, NS, FLEET);
  });

  test("100 hollow nodes become Ready and schedulable", async () => {
    await eventually(`${NODES} nodes Ready without the not-ready taint`, 120_000, async () => {
      const nodes = await fleetNodes();
      const good = nodes.filter(
        (n) => ready(n) && !n.spec?.taints?.some((t) => t.key === "node.kubernetes.io/not-ready"),
      );
      return {
        done: good.length === NODES,
        status: `${nodes.length} registered, ${good.length} Ready and untainted`,
      };
    });
    const nodes = await fleetNodes();
    assert.equal(new Set(nodes.map((n) => n.metadata.labels?.["kubernetes.io/hostname"])).size, NODES);
    assert.ok(nodes.every((n) => n.metadata.labels?.["hollow-node"] === "true"));
  });

  test("a Deployment of 300 pods (imagePullPolicy Never) runs with 300 distinct IPs inside the nodes' podCIDRs", async () => {
    await client.request({
      method: "POST",
      path: `/apis/apps/v1/namespaces/${NS}/deployments`,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 300,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
              containers: [
                { name: "web", image: "example.invalid/never-pulled:1", imagePullPolicy: "Never" },
              ],
            },
          },
        },
      },
    });
    await eventually("300 pods Running and Ready", 180_000, async () => {
      const all = await pods("app=web");
      const ok = all.filter((p) => p.status?.phase === "Running" && podReady(p));
      return { done: ok.length === 300, status: `${all.length} pods, ${ok.length} Running and Ready` };
    });
    const all = await pods("app=web");
    const cidrs = new Map((await fleetNodes()).map((n) => [n.metadata.name, n.spec?.podCIDR ?? ""]));
    const ips = all.map((p) => p.status?.podIP ?? "");
    assert.equal(new Set(ips).size, 300, "pod IPs are distinct");
    for (const p of all) {
      const cidr = cidrs.get(p.spec.nodeName ?? "");
      assert.ok(cidr, `pod ${p.metadata.name} is on a fleet node`);
      assert.ok(ipInCidr(p.status!.podIP!, cidr), `${p.status!.podIP} inside ${cidr}`);
    }
  });

  test("a pod with init containers reaches Running, and a Job with an init container completes", async () => {
    const spec = {
      nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
      initContainers: [
        { name: "init-a", image: "busybox" },
        { name: "init-b", image: "busybox" },
      ],
      containers: [{ name: "main", image: "busybox" }],
    };
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/pods`,
      body: { metadata: { name: "with-init", labels: { app: "init" } }, spec },
    });
    await client.request({
      method: "POST",
      path: `/apis/batch/v1/namespaces/${NS}/jobs`,
      body: {
        metadata: { name: "job" },
        spec: { completions: 2, parallelism: 2, template: { spec: { ...spec, restartPolicy: "Never" } } },
      },
    });
    await eventually("the init pod Running with its init containers Completed", 60_000, async () => {
      const [p] = await pods("app=init");
      const inits = p?.status?.initContainerStatuses ?? [];
      const done = inits.filter(
        (s) => s.state.terminated?.reason === "Completed" && s.state.terminated.exitCode === 0,
      );
      return {
        done: p?.status?.phase === "Running" && podReady(p) && done.length === 2,
        status: `${p?.status?.phase}, ${done.length}/2 init done`,
      };
    });
    await eventually("the Job to complete", 90_000, async () => {
      const job = await client.get<{
        status?: { succeeded?: number; conditions?: { type: string; status: string }[] };
      }>(`/apis/batch/v1/namespaces/${NS}/jobs/job`);
      const complete =
        job.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") ?? false;
      return { done: complete, status: `succeeded=${job.status?.succeeded ?? 0}` };
    });
  });

  test("scaling the Deployment to 0 removes every pod", async () => {
    await client.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${NS}/deployments/web/scale`,
      patchType: "merge",
      body: { spec: { replicas: 0 } },
    });
    await eventually("every web pod to be deleted", 120_000, async () => {
      const left = await pods("app=web");
      return { done: left.length === 0, status: `${left.length} pods left` };
    });
  });

  test("a deleted Lease is recreated", async () => {
    const name = "it-hollow-7";
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`;
    const old = await client.get<{ metadata: { uid: string } }>(path);
    await client.request({ method: "DELETE", path });
    await eventually("the Lease to come back", 30_000, async () => {
      const l = await client.get<{
        metadata: { uid: string; ownerReferences?: { kind: string }[] };
        spec: { holderIdentity: string };
      }>(path);
      return {
        done:
          l.metadata.uid !== old.metadata.uid &&
          l.spec.holderIdentity === name &&
          l.metadata.ownerReferences?.[0]?.kind === "Node",
        status: `uid ${l.metadata.uid}`,
      };
    });
  });

  test("the API server's audit log shows a kubelet's watches and requests for each node", async (t) => {
    const auditLog = testCluster().auditLog;
    if (!auditLog) {
      t.skip("the test cluster has no audit log");
      return;
    }
    const perNodeRequests = async (): Promise<Map<string, Set<string>>> => {
      const perNode = new Map<string, Set<string>>();
      for (const line of (await readFile(auditLog, "utf8")).split("\n")) {
        if (!line.includes("hollow-kubelet")) continue;
        const e = JSON.parse(line) as {
          verb: string;
          userAgent?: string;
          requestURI: string;
          objectRef?: { resource?: string; subresource?: string; name?: string };
        };
        const named = /^it-hollow-\d+$/.test(e.objectRef?.name ?? "") ? e.objectRef!.name! : "";
        const node = named || (/(nodeName|metadata\.name)%3D(it-hollow-\d+)/.exec(e.requestURI)?.[2] ?? "");
        if (!node) continue;
        const key = `${e.verb} ${e.objectRef?.resource ?? ""}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`;
        let set = perNode.get(node);
        if (!set) perNode.set(node, (set = new Set()));
        set.add(key);
      }
      return perNode;
    };
    // Requests that name the node (its own pods, Node, Lease, CSINode); shared watches name no node.
    const expected = [
      "watch pods",
      "watch nodes",
      "create nodes",
      "patch nodes/status",
      "update leases",
      "create csinodes",
      // The reads a registering kubelet makes (REFERENCE 4b).
      "get leases",
      "get csinodes",
      "get nodes",
    ];
    // A kubelet's start-up work (CSINode, reads of its Node) is spread over its first 20 s, so a
    // quick run of the tests before this one may reach here before every node has done it.
    const missing = (perNode: Map<string, Set<string>>): string[] =>
      [...perNode.entries()]
        .filter(([n]) => n !== "it-hollow-7")
        .flatMap(([n, kinds]) => expected.filter((k) => !kinds.has(k)).map((k) => `${n}: ${k}`));
    await eventually("every node's start-up requests in the audit log", 60_000, async () => {
      const m = missing(await perNodeRequests());
      return { done: m.length === 0, status: `${m.length} missing, e.g. ${m.slice(0, 3).join("; ")}` };
    });
    const perNode = await perNodeRequests();
    const sample = [...perNode.entries()].filter(([n]) => n !== "it-hollow-7");
    assert.ok(sample.length >= NODES - 1, `audit records for ${sample.length} nodes`);
    for (const [node, kinds] of sample) {
      for (const k of expected)
        assert.ok(kinds.has(k), `${node}: ${k} (has ${[...kinds].sort().join(", ")})`);
    }
    const all = (await readFile(auditLog, "utf8"))
      .split("\n")
      .filter((l) => l.includes('"userAgent":"hollow-kubelet"'));
    // A kubelet starts its informers (its Node's, its pods') before it registers: each node's
    // first watch of its Node and of its pods was received before its Node's creation.
    const first = new Map<string, string>();
    for (const line of all) {
      const e = JSON.parse(line) as {
        verb: string;
        requestURI: string;
        requestReceivedTimestamp: string;
        objectRef?: { resource?: string; name?: string };
      };
      const watched = /(nodeName|metadata\.name)%3D(it-hollow-\d+)/.exec(e.requestURI);
      const key =
        e.verb === "watch" && watched
          ? `watch ${e.objectRef?.resource} ${watched[2]}`
          : e.verb === "create" && e.objectRef?.resource === "nodes"
            ? `create nodes ${e.objectRef.name}`
            : undefined;
      const at = e.requestReceivedTimestamp;
      if (key && (!first.has(key) || at < first.get(key)!)) first.set(key, at);
    }
    for (const [node] of sample) {
      const created = first.get(`create nodes ${node}`);
      assert.ok(created, `${node}: its Node's creation is in the audit log`);
      for (const r of ["nodes", "pods"]) {
        const watched = first.get(`watch ${r} ${node}`);
        assert.ok(
          watched && watched < created,
          `${node}: watch ${r} at ${watched}, its Node created at ${created}`,
        );
      }
    }
    const count = (re: RegExp): number => all.filter((l) => re.test(l)).length;
    assert.ok(count(/"verb":"watch".*"resource":"services"/) >= NODES, "a services watch per node");
    assert.ok(
      count(/"verb":"watch".*"resource":"runtimeclasses"/) >= NODES,
      "a runtimeclasses watch per node",
    );
    assert.ok(count(/"verb":"watch".*"resource":"csidrivers"/) >= NODES, "a csidrivers watch per node");
    assert.ok(
      count(/"verb":"create".*"resource":"serviceaccounts".*"subresource":"token"/) >= 300,
      "a token per pod",
    );
    assert.ok(count(/"verb":"watch".*"resource":"configmaps"/) >= 1, "watches of referenced configmaps");
  });

  test("killing the engine makes its nodes NotReady; restarting brings the same nodes back without duplicates", async () => {
    const before = new Map((await fleetNodes()).map((n) => [n.metadata.name, n.metadata.uid]));
    await engine.stop("SIGKILL");
    await eventually("the controller-manager to mark every node not Ready", 150_000, async () => {
      const notReady = (await fleetNodes()).filter((n) => !ready(n)).length;
      return { done: notReady === NODES, status: `${notReady}/${NODES} not Ready` };
    });
    engine = startEngine(args());
    await eventually("every node Ready again", 90_000, async () => {
      const nodes = await fleetNodes();
      return {
        done: nodes.filter(ready).length === NODES,
        status: `${nodes.filter(ready).length}/${nodes.length} Ready`,
      };
    });
    const after = await fleetNodes();
    assert.equal(after.length, NODES, "no duplicates");
    for (const n of after)
      assert.equal(n.metadata.uid, before.get(n.metadata.name), `${n.metadata.name} is the same Node`);
  });

  test("restarting the API server and etcd under it loses no node", async () => {
    const c = testCluster();
    const paths = resolvePaths(process.env, { stateDir: c.stateDir });
    const layout = clusterLayout(c.stateDir, c.name);
    const rec = await readRecord(layout);
    assert.ok(rec);
    await stopDaemon(rec.processes["kube-apiserver"]!, realClock);
    await stopDaemon(rec.processes["etcd"]!, realClock);
    await new Promise((r) => setTimeout(r, 5_000));
    await upCluster({ paths, env: process.env, clock: realClock }, { name: c.name, timeoutMs: 120_000 });
    const back = Date.now();
    await client.close();
    client = await adminClientFor();
    await eventually("every node Ready within a minute of the server's return", 60_000, async () => {
      const nodes = await fleetNodes();
      return {
        done: nodes.length === NODES && nodes.every(ready),
        status: `${nodes.filter(ready).length}/${nodes.length} Ready`,
      };
    });
    assert.ok(Date.now() - back < 60_000);
    assert.equal(engine.child.exitCode, null, "the engine kept running");
  });

  test("SIGTERM with --delete-nodes-on-exit removes the fleet's Nodes and Leases", async () => {
    await engine.stop("SIGTERM");
    engine = startEngine([...args(), "--delete-nodes-on-exit"]);
    await eventually("the engine to report its nodes registered", 60_000, () =>
      Promise.resolve({ done: engine.logs().includes('"msg":"nodes registered"'), status: "starting" }),
    );
    assert.equal(await engine.stop("SIGTERM"), 0);
    assert.equal((await fleetNodes()).length, 0);
    const leases = await client.get<{ items: { metadata: { name: string } }[] }>(
      "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
    );
    assert.equal(leases.items.filter((l) => l.metadata.name.startsWith("it-hollow-")).length, 0);
  });
});
