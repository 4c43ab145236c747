/**
 * The real metrics-server on the local control plane (issue 19): `up --metrics-server` builds and
 * runs it, the API aggregation layer serves its APIService, `kubectl get --raw` reaches it through
 * the API server, a later `up` keeps it, `status` shows it, and `up` restarts it after a kill -9.
 * The first run builds metrics-server with Go (minutes) unless `build --with metrics-server` did.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { adminClientFor, cli, eventually, kubectlPath, run, testCluster, testRecord } from "../harness.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { KubeApiError } from "../../src/client/api-error.ts";
import { isDaemonAlive } from "../../src/host/daemon.ts";
import { pickKubeletBlock } from "../../src/fleet/kubelet-ports.ts";
import { defaultServiceAccount, fleetNodesReady, startEngine } from "../engine-process.ts";

const FLEET = "it-metrics";
const NS = `it-metrics-${process.pid}`;
const NODES = 3;

interface UpJson {
  metricsServer?: {
    pid: number | null;
    port: number | null;
    running: boolean;
    available: boolean;
    detail: string;
  };
}

describe("metrics-server on the local control plane", () => {
  let client: KubeClient;
  const name = (): string => testCluster().name;
  const kubectl = (...args: string[]): ReturnType<typeof run> =>
    run(kubectlPath(), ["--kubeconfig", testCluster().kubeconfig, ...args]);

  before(async () => {
    client = await adminClientFor();
  });
  after(async () => {
    await client.close();
  });

  test("up --metrics-server: metrics-server runs and v1beta1.metrics.k8s.io is Available", async () => {
    const t0 = Date.now();
    const r = await cli(["up", "--name", name(), "--metrics-server", "-o", "json"], {}, 900_000);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as UpJson;
    process.stderr.write(`up --metrics-server: ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    assert.ok(info.metricsServer, r.stdout);
    assert.equal(info.metricsServer.running, true);
    assert.equal(info.metricsServer.available, true, info.metricsServer.detail);
    const get = await kubectl("get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "json");
    assert.equal(get.code, 0, get.stderr);
    const svc = JSON.parse(get.stdout) as { spec: { insecureSkipTLSVerify?: boolean; caBundle?: string } };
    assert.notEqual(svc.spec.insecureSkipTLSVerify, true, "the serving certificate is verified");
    assert.ok(svc.spec.caBundle);
  });

  test("the API server proxies metrics.k8s.io to it: node metrics list (empty with no kubelet to scrape)", async () => {
    const r = await kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes");
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { kind: string; items: unknown[] };
    assert.equal(list.kind, "NodeMetricsList");
    assert.ok(Array.isArray(list.items));
    const pods = await kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods");
    assert.equal(pods.code, 0, pods.stderr);
    assert.equal((JSON.parse(pods.stdout) as { kind: string }).kind, "PodMetricsList");
  });

  test("the aggregation layer: the API server publishes the front-proxy CA and names for extension servers", async () => {
    const cm = await client.get<{ data: Record<string, string> }>(
      "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication",
    );
    assert.match(cm.data["requestheader-client-ca-file"] ?? "", /BEGIN CERTIFICATE/);
    assert.equal(cm.data["requestheader-allowed-names"], '["front-proxy-client"]');
    assert.equal(cm.data["requestheader-username-headers"], '["X-Remote-User"]');
  });

  test("metrics-server's identity may read kubelets' metrics and nodes, and nothing more", async () => {
    // `can-i get nodes/metrics` would ask for the Node named "metrics": subresources are a flag.
    for (const [verb, resource, sub, want] of [
      ["get", "nodes", "metrics", "yes"],
      ["list", "nodes", "", "yes"],
      ["watch", "pods", "", "yes"],
      ["create", "subjectaccessreviews.authorization.k8s.io", "", "yes"],
      ["get", "nodes", "proxy", "no"],
      ["get", "nodes", "log", "no"],
      ["list", "secrets", "", "no"],
    ] as const) {
      const args = ["auth", "can-i", verb, resource, "--as", "system:metrics-server"];
      const r = await kubectl(...args, ...(sub ? ["--subresource", sub] : []));
      assert.equal(r.stdout.trim(), want, `${verb} ${resource}/${sub}: ${r.stdout}${r.stderr}`);
    }
  });

  test("Endpoints refuse the loopback address (why the aggregator reaches it by an ExternalName Service)", async () => {
    const err = await client
      .request({
        method: "POST",
        path: "/api/v1/namespaces/default/endpoints",
        query: { dryRun: "All" },
        body: {
          apiVersion: "v1",
          kind: "Endpoints",
          metadata: { name: "loopback-probe" },
          subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "https", port: 4443 }] }],
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof KubeApiError, String(err));
    assert.equal(err.status, 422);
    assert.match(err.message, /loopback/);
  });

  test("kubectl top: every hollow node with its modelled usage, and a pod's annotated CPU", async () => {
    const port = await pickKubeletBlock(NODES, []);
    let stoppedAtSigterm: boolean | undefined;
    const engine = startEngine([
      "--kubeconfig",
      testCluster().kubeconfig,
      "--nodes",
      String(NODES),
      "--name-prefix",
      FLEET,
      "--fleet",
      FLEET,
      "--kubelet-port",
      String(port),
      "--stats-interval",
      "0",
      "--delete-nodes-on-exit",
    ]);
    try {
      await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
      await defaultServiceAccount(client, NS);
      await fleetNodesReady(client, FLEET, NODES);
      await client.request({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/pods`,
        body: {
          metadata: { name: "busy", annotations: { "kubemark-cluster.io/cpu-usage": "250m" } },
          spec: {
            nodeName: `${FLEET}-0`,
            containers: [
              { name: "c", image: "busybox", resources: { requests: { cpu: "500m", memory: "64Mi" } } },
            ],
          },
        },
      });
      const t0 = Date.now();
      // metrics-server keeps a node once it has two scrapes of it (15 s apart).
      const top = await eventually(
        `kubectl top nodes to list the ${NODES} hollow nodes`,
        120_000,
        async () => {
          const r = await kubectl("top", "nodes", "--no-headers");
          const rows = r.stdout.split("\n").filter((l) => l.startsWith(FLEET));
          return { done: r.code === 0 && rows.length === NODES, status: r.code === 0 ? r.stdout : r.stderr };
        },
      );
      process.stderr.write(
        `kubectl top nodes after ${((Date.now() - t0) / 1000).toFixed(1)}s:\n${top.status}\n`,
      );
      for (const row of top.status.split("\n").filter((l) => l.startsWith(FLEET))) {
        // NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%: a node's usage is its modelled overhead at least.
        const [, cpu, , mem] = row.trim().split(/\s+/);
        assert.match(cpu ?? "", /^\d+m$/, row);
        assert.ok(Number.parseInt(cpu!, 10) > 0, row);
        assert.match(mem ?? "", /^\d+Mi$/, row);
        assert.ok(Number.parseInt(mem!, 10) > 0, row);
      }
      const pod = await eventually("kubectl top pods to list the annotated pod", 120_000, async () => {
        const r = await kubectl("top", "pods", "-n", NS, "--no-headers");
        return {
          done: r.code === 0 && r.stdout.startsWith("busy"),
          status: r.code === 0 ? r.stdout : r.stderr,
        };
      });
      const [, cpu] = pod.status.trim().split(/\s+/);
      assert.ok(
        Math.abs(Number.parseInt(cpu ?? "", 10) - 250) <= 5,
        `annotated 250m, top says ${pod.status}`,
      );
    } finally {
      // metrics-server keeps its connections to every node's endpoint open: the engine still
      // stops at SIGTERM (it hung here before its endpoints closed them).
      const t0 = Date.now();
      const exit = await Promise.race([
        engine.stop(),
        new Promise<"hung">((r) => setTimeout(() => r("hung"), 30_000).unref()),
      ]);
      if (exit === "hung") engine.child.kill("SIGKILL");
      process.stderr.write(
        `engine exit after SIGTERM: ${exit} in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`,
      );
      stoppedAtSigterm = exit !== "hung";
      await client.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}` }).catch(() => undefined);
      await client
        .request({
          method: "DELETE",
          path: "/api/v1/nodes",
          query: { labelSelector: `kubemark-cluster.io/fleet=${FLEET}` },
        })
        .catch(() => undefined);
    }
    assert.equal(
      stoppedAtSigterm,
      true,
      "the engine exits within 30 s of SIGTERM while metrics-server scrapes it",
    );
  });

  test("an HPA (CPU 50 %) scales a Deployment on hollow nodes from 2 to 6 when its pods' usage annotation rises, and back to 2 when it falls", async () => {
    const fleet = "it-hpa";
    const ns = `it-hpa-${process.pid}`;
    const hpaNodes = 4;
    const port = await pickKubeletBlock(hpaNodes, []);
    const engine = startEngine([
      "--kubeconfig",
      testCluster().kubeconfig,
      "--nodes",
      String(hpaNodes),
      "--name-prefix",
      fleet,
      "--fleet",
      fleet,
      "--kubelet-port",
      String(port),
      "--stats-interval",
      "0",
      "--delete-nodes-on-exit",
    ]);
    const deployment = `/apis/apps/v1/namespaces/${ns}/deployments/web`;
    // The pods' modelled CPU: a share of their 100m request, as the annotation says.
    const usage = (cpu: string): Promise<unknown> =>
      client.request({
        method: "PATCH",
        path: deployment,
        patchType: "merge",
        body: { spec: { template: { metadata: { annotations: { "kubemark-cluster.io/cpu-usage": cpu } } } } },
      });
    const replicas = async (): Promise<{ spec: number; status: string }> => {
      const h = await client.get<{
        status?: { desiredReplicas?: number; currentMetrics?: unknown[] };
      }>(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/web`);
      const d = await client.get<{ spec: { replicas: number }; status?: { readyReplicas?: number } }>(
        deployment,
      );
      return {
        spec: d.spec.replicas,
        status: `deployment ${d.spec.replicas} (${d.status?.readyReplicas ?? 0} ready), hpa ${JSON.stringify(h.status)}`,
      };
    };
    try {
      await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns } } });
      await defaultServiceAccount(client, ns);
      await fleetNodesReady(client, fleet, hpaNodes);
      await client.request({
        method: "POST",
        path: `/apis/apps/v1/namespaces/${ns}/deployments`,
        body: {
          metadata: { name: "web" },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: "web" } },
            template: {
              metadata: { labels: { app: "web" }, annotations: { "kubemark-cluster.io/cpu-usage": "40m" } },
              spec: {
                nodeSelector: { "kubemark-cluster.io/fleet": fleet },
                tolerations: [{ operator: "Exists" }],
                containers: [{ name: "app", image: "nginx", resources: { requests: { cpu: "100m" } } }],
              },
            },
          },
        },
      });
      await client.request({
        method: "POST",
        path: `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`,
        body: {
          metadata: { name: "web" },
          spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
            minReplicas: 2,
            maxReplicas: 6,
            metrics: [
              {
                type: "Resource",
                resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
              },
            ],
            // No stabilization window: the test sees each decision as the HPA makes it.
            behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
          },
        },
      });
      const t0 = Date.now();
      // 40 % of the request under a 50 % target: the HPA reads it and keeps 2.
      await eventually("the HPA to read the pods' 40 % and keep 2 replicas", 180_000, async () => {
        const r = await replicas();
        return { done: r.spec === 2 && /"averageUtilization":4\d/.test(r.status), status: r.status };
      });
      await usage("150m");
      const up = await eventually(
        "the HPA to scale the Deployment to 6 (150 % of a 50 % target)",
        300_000,
        async () => {
          const r = await replicas();
          return { done: r.spec === 6, status: r.status };
        },
      );
      process.stderr.write(`HPA up to 6 after ${((Date.now() - t0) / 1000).toFixed(1)}s: ${up.status}\n`);
      const t1 = Date.now();
      await usage("20m");
      const down = await eventually("the HPA to scale the Deployment back to 2 (20 %)", 300_000, async () => {
        const r = await replicas();
        return { done: r.spec === 2, status: r.status };
      });
      process.stderr.write(`HPA down to 2 after ${((Date.now() - t1) / 1000).toFixed(1)}s: ${down.status}\n`);
    } finally {
      await engine.stop();
      await client.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` }).catch(() => undefined);
      await client
        .request({
          method: "DELETE",
          path: "/api/v1/nodes",
          query: { labelSelector: `kubemark-cluster.io/fleet=${fleet}` },
        })
        .catch(() => undefined);
    }
  });

  test("a later up without the flag keeps it; status shows it; kill -9 and up restarts it", async () => {
    const before = (await testRecord()).metricsServer?.process;
    assert.ok(before && isDaemonAlive(before));
    const again = await cli(["up", "--name", name(), "-o", "json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as UpJson).metricsServer?.pid, before.pid, "kept running");
    const status = await cli(["status", "--name", name()]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      status.stdout,
      new RegExp(
        `metrics-server: pid ${before.pid} on 127\\.0\\.0\\.1:\\d+, v1beta1\\.metrics\\.k8s\\.io Available`,
      ),
    );

    process.kill(before.pid, "SIGKILL");
    await eventually("metrics-server to exit", 10_000, () =>
      Promise.resolve({ done: !isDaemonAlive(before), status: "alive" }),
    );
    const sick = await cli(["status", "--name", name()]);
    assert.notEqual(sick.code, 0, "status is not healthy without metrics-server");
    assert.match(sick.stdout, /metrics-server: NOT running/);
    const t0 = Date.now();
    const up = await cli(["up", "--name", name(), "-o", "json"]);
    assert.equal(up.code, 0, up.stderr);
    const ms = (JSON.parse(up.stdout) as UpJson).metricsServer;
    process.stderr.write(`metrics-server back after kill -9: ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    assert.ok(ms?.running && ms.available, JSON.stringify(ms));
    assert.notEqual(ms.pid, before.pid);
  });
});
