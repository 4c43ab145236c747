/**
 * The local control plane against its own promises (issue: foundation): it answers as the chosen
 * release, its controllers and scheduler act on Nodes, and etcd answers only the API server.
 * `up`, `status` and `down` as a user runs them are in test/e2e/cluster-cli.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { Agent, request } from "undici";
import { adminClientFor, eventually, kubectlPath, run, testCluster, testRecord } from "../harness.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { clusterLayout } from "../../src/controlplane/cluster-state.ts";
import { etcdTlsFiles } from "../../src/controlplane/etcd-tls.ts";

interface NodeObj {
  metadata: { name: string; uid: string };
  spec?: { podCIDR?: string; taints?: { key: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

test("kubectl with the written kubeconfig: /readyz is ok and /version is the chosen release", async () => {
  const c = testCluster();
  const ready = await run(kubectlPath(), ["--kubeconfig", c.kubeconfig, "get", "--raw", "/readyz"]);
  assert.equal(ready.code, 0, ready.stderr);
  assert.equal(ready.stdout.trim(), "ok");
  const version = await run(kubectlPath(), ["--kubeconfig", c.kubeconfig, "get", "--raw", "/version"]);
  assert.equal(version.code, 0, version.stderr);
  assert.equal((JSON.parse(version.stdout) as { gitVersion: string }).gitVersion, c.version);
  assert.equal(c.version, "v1.36.3");
});

/** A stand-in kubelet: registers a Node and keeps its Lease and Ready condition fresh. */
async function keepNodeAlive(client: KubeClient, name: string, signal: AbortSignal): Promise<void> {
  const now = (): string => new Date().toISOString();
  const node = await client.request<NodeObj>({
    method: "POST",
    path: "/api/v1/nodes",
    body: {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name, "kubemark-it": "true" } },
    },
  });
  await client.request({
    method: "POST",
    path: "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
    body: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name,
        ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: node.metadata.uid }],
      },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now().replace("Z", "000Z") },
    },
  });
  while (!signal.aborted) {
    const t = now();
    await client.request({
      method: "PATCH",
      path: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`,
      patchType: "merge",
      body: { spec: { renewTime: t.replace("Z", "000Z") } },
    });
    const cond = (type: string, status: string, reason: string) => ({
      type,
      status,
      reason,
      message: reason,
      lastHeartbeatTime: t,
      lastTransitionTime: t,
    });
    await client.request({
      method: "PATCH",
      path: `/api/v1/nodes/${name}/status`,
      patchType: "strategic",
      body: {
        status: {
          capacity: { cpu: "4", memory: "8Gi", pods: "110" },
          allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
          conditions: [
            cond("Ready", "True", "KubeletReady"),
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID"),
          ],
        },
      },
    });
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

test("a Node kept alive is untainted, gets a podCIDR and a scheduled pod; it goes NotReady when left", async () => {
  const client = await adminClientFor();
  const name = `it-node-${process.pid}`;
  const alive = new AbortController();
  const loop = keepNodeAlive(client, name, alive.signal);
  let loopError: Error | undefined;
  loop.catch((err: unknown) => (loopError = err instanceof Error ? err : new Error(String(err))));
  try {
    const node = await eventually("the node to be untainted with a podCIDR", 60_000, async () => {
      if (loopError) throw loopError;
      const n = await client.get<NodeObj>(`/api/v1/nodes/${name}`);
      const taints = n.spec?.taints?.map((t) => t.key) ?? [];
      return {
        done: !taints.includes("node.kubernetes.io/not-ready") && n.spec?.podCIDR !== undefined,
        status: `taints=${taints.join(",") || "none"} podCIDR=${n.spec?.podCIDR ?? "none"}`,
      };
    });
    assert.match(node.status, /taints=none podCIDR=10\.\d+\.\d+\.0\/24/);

    const ns = `it-sched-${process.pid}`;
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns } } });
    await client.request({
      method: "POST",
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              nodeSelector: { "kubernetes.io/hostname": name },
              containers: [{ name: "web", image: "registry.k8s.io/pause:3.10" }],
            },
          },
        },
      },
    });
    await eventually("the Deployment's pod to be bound to the node", 60_000, async () => {
      const pods = await client.get<{ items: { spec: { nodeName?: string } }[] }>(
        `/api/v1/namespaces/${ns}/pods`,
      );
      const bound = pods.items.filter((p) => p.spec.nodeName === name).length;
      return { done: bound === 1, status: `${pods.items.length} pods, ${bound} bound to ${name}` };
    });
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` });

    alive.abort();
    await loop.catch(() => undefined);
    await eventually("the node controller to mark the abandoned node not Ready", 150_000, async () => {
      const n = await client.get<NodeObj>(`/api/v1/nodes/${name}`);
      const ready = n.status?.conditions?.find((c) => c.type === "Ready")?.status;
      return { done: ready !== "True", status: `Ready=${ready}` };
    });
  } finally {
    alive.abort();
    await client.request({ method: "DELETE", path: `/api/v1/nodes/${name}` }).catch(() => undefined);
    await client.close();
  }
});

/** What etcd's key-range API answers over `url` with `dispatcher`: status and body, or the error. */
async function etcdRange(url: string, dispatcher?: Agent): Promise<string> {
  // Every key under /registry/secrets/ (base64 of the prefix and of its range end).
  const body = JSON.stringify({
    key: Buffer.from("/registry/secrets/").toString("base64"),
    range_end: Buffer.from("/registry/secrets0").toString("base64"),
    keys_only: true,
  });
  try {
    const res = await request(`${url}/v3/kv/range`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
      ...(dispatcher ? { dispatcher } : {}),
    });
    return `${res.statusCode} ${await res.body.text()}`;
  } catch (err) {
    return `refused: ${err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? ""} ${err.message}` : String(err)}`;
  } finally {
    await dispatcher?.close();
  }
}

test("etcd answers only the API server's client certificate; the control plane works through it", async () => {
  const c = testCluster();
  const rec = await testRecord();
  const layout = clusterLayout(c.stateDir, c.name);
  const tls = etcdTlsFiles(layout.pki);
  const port = rec.ports.etcdClient;
  const client = await adminClientFor();
  const ns = `it-etcd-${process.pid}`;
  try {
    // A Secret written through the API server lands in etcd (over TLS with its client certificate).
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns } } });
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/secrets`,
      body: { metadata: { name: "s" }, stringData: { password: "hunter2" } },
    });
    const read = await client.get<{ data: { password: string } }>(`/api/v1/namespaces/${ns}/secrets/s`);
    assert.equal(Buffer.from(read.data.password, "base64").toString(), "hunter2");

    const plain = await etcdRange(`http://127.0.0.1:${port}`);
    process.stderr.write(`etcd on ${port}: plain http -> ${plain.slice(0, 120)}\n`);
    assert.doesNotMatch(plain, /^200 /, `plain http must be refused, got: ${plain.slice(0, 200)}`);
    const ca = await readFile(tls.ca.certFile);
    const anonymous = await etcdRange(`https://127.0.0.1:${port}`, new Agent({ connect: { ca } }));
    const clusterCaCert = await etcdRange(
      `https://127.0.0.1:${port}`,
      new Agent({
        connect: {
          ca,
          cert: await readFile(join(layout.pki, "admin.crt")),
          key: await readFile(join(layout.pki, "admin.key")),
        },
      }),
    );
    const apiserver = await etcdRange(
      `https://127.0.0.1:${port}`,
      new Agent({
        connect: {
          ca,
          cert: await readFile(tls.apiserverClient.certFile),
          key: await readFile(tls.apiserverClient.keyFile),
        },
      }),
    );
    process.stderr.write(
      `  https without a certificate -> ${anonymous.slice(0, 120)}\n` +
        `  https with an admin certificate of the cluster CA -> ${clusterCaCert.slice(0, 120)}\n`,
    );
    for (const [what, answer] of [
      ["plain http", plain],
      ["https without a client certificate", anonymous],
      ["https with a certificate of the cluster CA (system:masters)", clusterCaCert],
    ] as const) {
      assert.doesNotMatch(answer, /^200 /, `${what} must be refused, got: ${answer.slice(0, 200)}`);
      assert.doesNotMatch(answer, /"kvs"/, `${what} must read no key`);
    }
    // The same request with the API server's certificate reads the Secret's key: the port is etcd's.
    assert.match(apiserver, /^200 /);
    const kvs = (JSON.parse(apiserver.slice(4)) as { kvs?: { key: string }[] }).kvs ?? [];
    assert.ok(
      kvs.some((kv) => Buffer.from(kv.key, "base64").toString() === `/registry/secrets/${ns}/s`),
      "etcd holds the Secret",
    );

    // Every private key of the cluster is readable by its owner only.
    const keys = (await readdir(layout.pki, { recursive: true })).filter((f) => f.endsWith(".key"));
    assert.ok(keys.includes(relative(layout.pki, tls.ca.keyFile)), "etcd's CA key is among them");
    for (const k of keys) {
      assert.equal((await stat(join(layout.pki, k))).mode & 0o777, 0o600, `${k} is mode 0600`);
    }
  } finally {
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` }).catch(() => undefined);
    await client.close();
  }
});
