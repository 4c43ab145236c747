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
    for (const [verb, resource, want] of [
      ["get", "nodes/metrics", "yes"],
      ["list", "nodes", "yes"],
      ["watch", "pods", "yes"],
      ["create", "subjectaccessreviews.authorization.k8s.io", "yes"],
      ["get", "nodes/proxy", "no"],
      ["list", "secrets", "no"],
    ] as const) {
      const r = await kubectl("auth", "can-i", verb, resource, "--as", "system:metrics-server");
      assert.equal(r.stdout.trim(), want, `${verb} ${resource}: ${r.stdout}${r.stderr}`);
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
