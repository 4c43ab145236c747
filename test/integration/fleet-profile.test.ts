/**
 * A fleet profile's behaviour models against a real control plane (#17, #19): two shapes with
 * their own `usage:` and `pods:` give their nodes different `/stats/summary` and
 * `/metrics/resource` figures (read from each node's kubelet endpoint as a scraper does, with a
 * token bound to system:kubelet-api-admin) and different pod start-up latency; `--usage-defaults`
 * fills what the profile leaves out, and a pod's annotation wins over its node's shape.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpsRequest } from "node:https";
import { adminClientFor, eventually } from "../harness.ts";
import {
  defaultServiceAccount,
  fleetNodesReady,
  removeTestObjects,
  startFleetEngine,
  type EngineProcess,
} from "../engine-process.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { pickKubeletBlock } from "../../src/fleet/kubelet-ports.ts";

const FLEET = "it-profile";
const NS = `it-profile-${process.pid}`;
const GI = 2 ** 30;
const SCRAPER = `it-profile-scraper-${process.pid}`;

/** One GET to a node's kubelet endpoint with a bearer token. */
function kubeletGet(port: number, path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        rejectUnauthorized: false,
        agent: false,
        headers: { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = "";
        res.on("data", (b: Buffer) => (body += b.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

// Node 0 is "cool", node 1 "hot" (weights 1/1 alternate, the first shape first).
const PROFILE = `
usage: {memory: 20%}
shapes:
  - name: cool
    usage: {cpu: 10%}
    pods: {sandbox-latency: 0}
  - name: hot
    cpu: "4"
    memory: 16Gi
    usage: {cpu: 90%, memory: 80%, system-cpu: 400m}
    pods: {sandbox-latency: 3s}
`;

interface Pod {
  metadata: { creationTimestamp: string };
  status?: { phase?: string; containerStatuses?: { state?: { running?: { startedAt?: string } } }[] };
}
interface Summary {
  node: { cpu: { usageNanoCores: number } };
  pods: {
    podRef: { name: string };
    containers: { name: string; cpu: { usageNanoCores: number }; memory: { workingSetBytes: number } }[];
  }[];
}

describe("a fleet profile's usage and pod models on a real control plane", () => {
  let client: KubeClient;
  let engine: EngineProcess;
  let dir = "";
  let port = 0;

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    await defaultServiceAccount(client, NS);
    dir = await mkdtemp(join(tmpdir(), "it-profile-"));
    const profile = join(dir, "fleet.yaml");
    await writeFile(profile, PROFILE);
    port = await pickKubeletBlock(2, []);
    engine = startFleetEngine({ nodes: 2, fleet: FLEET }, [
      "--profile",
      profile,
      // The profile's cpu wins over the flag's; noise 0 comes from the flag alone.
      "--usage-defaults",
      "cpu=50%,noise=0%",
      "--kubelet-port",
      String(port),
      "--delete-nodes-on-exit",
    ]);
    await fleetNodesReady(client, FLEET, 2);
  });

  after(async () => {
    await engine?.stop();
    const file = join(tmpdir(), `hollow-node-it-profile-${process.pid}.log`);
    await writeFile(file, engine?.logs() ?? "");
    process.stderr.write(`engine log: ${file}\n`);
    await client
      .request({
        method: "DELETE",
        path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${SCRAPER}`,
      })
      .catch(() => undefined);
    await removeTestObjects(client, NS, FLEET);
    await rm(dir, { recursive: true, force: true });
  });

  /** Creates a pod on `node` and returns how long (ms, seen by polling) it took to be Running. */
  async function runPod(
    name: string,
    node: number,
    annotations: Record<string, string> = {},
  ): Promise<number> {
    const created = Date.now();
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/pods`,
      body: {
        metadata: { name, annotations },
        spec: {
          nodeSelector: { "kubernetes.io/hostname": `${FLEET}-${node}` },
          containers: [
            { name: "app", image: "nginx:1.27", resources: { requests: { cpu: "500m", memory: "1Gi" } } },
          ],
        },
      },
    });
    let running = 0;
    await eventually(`${name} Running`, 60_000, async () => {
      const p = await client.get<Pod>(`/api/v1/namespaces/${NS}/pods/${name}`);
      if (p.status?.phase === "Running" && running === 0) running = Date.now();
      return { done: running > 0, status: p.status?.phase ?? "no phase" };
    });
    return running - created;
  }

  test("the nodes carry their shapes", async () => {
    for (const [i, shape] of [
      [0, "cool"],
      [1, "hot"],
    ] as const) {
      const n = await client.get<{ metadata: { labels: Record<string, string> } }>(
        `/api/v1/nodes/${FLEET}-${i}`,
      );
      assert.equal(n.metadata.labels["kubemark-cluster.io/shape"], shape);
    }
  });

  test("pods start after their shape's sandbox latency; a pod's annotation wins over its node's shape", async () => {
    const cool = await runPod("cool-web", 0);
    const hot = await runPod("hot-web", 1);
    const fast = await runPod("hot-fast", 1, { "kubemark-cluster.io/sandbox-latency": "0" });
    process.stderr.write(
      `created -> Running seen: cool ${cool} ms, hot ${hot} ms, hot annotated 0 ${fast} ms\n`,
    );
    assert.ok(hot >= 3000, `the hot shape's pod took ${hot} ms (its sandbox latency is 3 s)`);
    assert.ok(cool < 2500, `the cool shape's pod took ${cool} ms (its sandbox latency is 0)`);
    assert.ok(fast < 2500, `the annotated pod took ${fast} ms (annotation 0 over the shape's 3 s)`);
    // The status says so too: the container started 3 s or more after the pod was created.
    const startedAfter = async (pod: string): Promise<number> => {
      const p = await client.get<Pod>(`/api/v1/namespaces/${NS}/pods/${pod}`);
      const at = p.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? "";
      return (Date.parse(at) - Date.parse(p.metadata.creationTimestamp)) / 1000;
    };
    const hotStart = await startedAfter("hot-web");
    assert.ok(hotStart >= 3, `hot-web's container started ${hotStart} s after creation`);
    const coolStart = await startedAfter("cool-web");
    assert.ok(coolStart <= 2, `cool-web's container started ${coolStart} s after creation`);
  });

  test("/stats/summary and /metrics/resource serve each node's shape's usage model", async () => {
    // A scraper's token (the built-in system:kubelet-api-admin: nodes/stats, nodes/metrics, ...).
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/serviceaccounts`,
      body: { metadata: { name: "scraper" } },
    });
    await client.request({
      method: "POST",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      body: {
        metadata: { name: SCRAPER },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "system:kubelet-api-admin",
        },
        subjects: [{ kind: "ServiceAccount", name: "scraper", namespace: NS }],
      },
    });
    const token = (
      await client.request<{ status: { token: string } }>({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/serviceaccounts/scraper/token`,
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600 },
        },
      })
    ).status.token;
    const get = async (node: number, path: string): Promise<string> => {
      const r = await kubeletGet(port + node, path, token);
      assert.equal(r.status, 200, `${path} on node ${node}: ${r.body}`);
      return r.body;
    };
    const summary = async (node: number): Promise<Summary> =>
      JSON.parse(await get(node, "/stats/summary")) as Summary;
    const app = (s: Summary, pod: string): Summary["pods"][number]["containers"][number] => {
      const c = s.pods.find((p) => p.podRef.name === pod)?.containers.find((x) => x.name === "app");
      assert.ok(c, `${pod}'s container in the summary`);
      return c;
    };
    const near = (got: number, want: number, what: string): void =>
      assert.ok(Math.abs(got - want) <= want * 0.01, `${what}: ${got}, want ${want}`);
    const cool = await summary(0);
    const hot = await summary(1);
    // cool: cpu 10% (the shape's, over the flag's 50%) of 500m; memory 20% (the profile's) of 1 GiB.
    near(app(cool, "cool-web").cpu.usageNanoCores, 50e6, "cool cpu");
    near(app(cool, "cool-web").memory.workingSetBytes, 0.2 * GI, "cool memory");
    // hot: the shape's 90% and 80%; its node's own overhead 400m over the default 100m.
    near(app(hot, "hot-web").cpu.usageNanoCores, 450e6, "hot cpu");
    near(app(hot, "hot-web").memory.workingSetBytes, 0.8 * GI, "hot memory");
    near(cool.node.cpu.usageNanoCores, 100e6 + 50e6, "cool node cpu");
    near(hot.node.cpu.usageNanoCores, 400e6 + 2 * 450e6, "hot node cpu (two pods)");
    const resource = await get(1, "/metrics/resource");
    const line = resource
      .split("\n")
      .find((l) => l.startsWith("container_memory_working_set_bytes{") && l.includes('pod="hot-web"'));
    assert.ok(line, resource);
    near(Number(line.split(" ")[1]), 0.8 * GI, "hot memory in /metrics/resource");
  });
});
