/**
 * The per-node kubelet endpoints against a real control plane: each hollow node advertises its own
 * port (InternalDNS address and daemonEndpoints port) and answers for its own pods; callers are
 * authenticated and authorized as a kubelet does it (anonymous 401, a ServiceAccount without
 * nodes/proxy 403, with it 200); the API server's `pods/log` (what `kubectl logs` calls) reaches
 * it with its kubelet client certificate, for a plain read and for a follow that ends when the pod
 * is deleted; `kubectl exec` fails at once with the reason.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpsRequest } from "node:https";
import { adminClientFor, eventually, kubectlPath, run, testCluster } from "../harness.ts";
import { removeTestObjects, defaultServiceAccount } from "../engine-process.ts";
import { startEngine, type EngineProcess } from "../engine-process.ts";
import { mayUser } from "../../src/client/access-review.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { pickKubeletBlock } from "../../src/fleet/kubelet-ports.ts";

const FLEET = "it-kubelet";
const NS = `it-kubelet-${process.pid}`;

interface Node {
  metadata: { name: string };
  status?: {
    conditions?: { type: string; status: string }[];
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}
interface Pod {
  status?: { phase?: string };
}

/** One GET to a node's kubelet endpoint, as any pod of the cluster could send it. */
function kubeletGet(port: number, path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        rejectUnauthorized: false,
        agent: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
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

const READER = `it-kubelet-reader-${process.pid}`;

describe("the per-node kubelet endpoints on a real control plane", () => {
  let client: KubeClient;
  let engine: EngineProcess;
  let port = 0;
  const logPath = `/api/v1/namespaces/${NS}/pods/web/log`;

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    await defaultServiceAccount(client, NS);
    port = await pickKubeletBlock(2, []);
    engine = startEngine([
      "--kubeconfig",
      testCluster().kubeconfig,
      "--nodes",
      "2",
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
  });

  after(async () => {
    await engine?.stop();
    const file = join(tmpdir(), `hollow-node-it-kubelet-${process.pid}.log`);
    await writeFile(file, engine?.logs() ?? "");
    process.stderr.write(`engine log: ${file}\n`);
    for (const kind of ["clusterrolebindings", "clusterroles"]) {
      await client
        .request({ method: "DELETE", path: `/apis/rbac.authorization.k8s.io/v1/${kind}/${READER}` })
        .catch(() => undefined);
    }
    await removeTestObjects(client, NS, FLEET);
  });

  test("the nodes advertise their endpoints: InternalDNS 127.0.0.1, a port each, their own InternalIPs and Hostnames", async () => {
    await eventually("2 nodes Ready", 60_000, async () => {
      const nodes = (
        await client.get<{ items: Node[] }>("/api/v1/nodes", {
          labelSelector: `kubemark-cluster.io/fleet=${FLEET}`,
        })
      ).items;
      const ready = nodes.filter((n) =>
        n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return { done: ready.length === 2, status: `${ready.length}/2 Ready` };
    });
    const node = await client.get<Node>(`/api/v1/nodes/${FLEET}-0`);
    const other = await client.get<Node>(`/api/v1/nodes/${FLEET}-1`);
    const addr = (n: Node, type: string): string | undefined =>
      n.status?.addresses?.find((a) => a.type === type)?.address;
    assert.equal(addr(node, "InternalDNS"), "127.0.0.1");
    assert.equal(addr(node, "Hostname"), `${FLEET}-0`);
    assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, port);
    assert.equal(other.status?.daemonEndpoints?.kubeletEndpoint?.Port, port + 1);
    assert.notEqual(addr(node, "InternalIP"), addr(other, "InternalIP"));
  });

  test("pods/log of a pod on a hollow node returns its container's lines, with timestamps and tail on request", async () => {
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/pods`,
      body: {
        metadata: { name: "web" },
        spec: {
          nodeSelector: { "kubernetes.io/hostname": `${FLEET}-0` },
          initContainers: [{ name: "setup", image: "busybox" }],
          containers: [{ name: "app", image: "nginx:1.27" }],
        },
      },
    });
    await eventually("the pod Running", 60_000, async () => {
      const p = await client.get<Pod>(`/api/v1/namespaces/${NS}/pods/web`);
      return { done: p.status?.phase === "Running", status: p.status?.phase ?? "no phase" };
    });
    const started = `hollow container app of ${NS}/web started on node ${FLEET}-0 (image nginx:1.27); kubemark-cluster hollow nodes run no processes`;
    const text = await client.getText(logPath, { container: "app" });
    assert.equal(text, `init containers setup of ${NS}/web completed (exit code 0)\n${started}\n`);
    const tail = await client.getText(logPath, { container: "app", timestamps: true, tailLines: 1 });
    assert.match(tail, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ hollow container app of /);
    assert.equal(tail.split("\n").length, 2, "one line");
    const init = await client.getText(logPath, { container: "setup" });
    assert.match(init, /hollow init container setup completed \(exit code 0\)\n$/);
  });

  test("anonymous callers get 401; a ServiceAccount without nodes/proxy 403, with it its node's own pods", async () => {
    // The pod on the other node, so each node's /pods can be told apart.
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/pods`,
      body: {
        metadata: { name: "db" },
        spec: {
          nodeSelector: { "kubernetes.io/hostname": `${FLEET}-1` },
          containers: [{ name: "db", image: "postgres" }],
        },
      },
    });
    for (const p of [port, port + 1]) {
      for (const path of ["/pods", "/healthz", `/containerLogs/${NS}/web/app`]) {
        assert.deepEqual(await kubeletGet(p, path), { status: 401, body: "Unauthorized" }, `${p}${path}`);
      }
    }
    // reader is refused first; lister asks only once both are bound (a denial is kept 30 s).
    const tokenOf = async (sa: string): Promise<string> => {
      await client.request({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/serviceaccounts`,
        body: { metadata: { name: sa } },
      });
      const tr = await client.request<{ status: { token: string } }>({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/serviceaccounts/${sa}/token`,
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600 },
        },
      });
      return tr.status.token;
    };
    const token = await tokenOf("reader");
    const lister = await tokenOf("lister");
    const user = `system:serviceaccount:${NS}:reader`;
    assert.deepEqual(await kubeletGet(port + 1, "/healthz", token), {
      status: 403,
      body: `Forbidden (user=${user}, verb=get, resource=nodes, subresource(s)=[healthz proxy])\n`,
    });
    assert.equal((await kubeletGet(port, "/stats/summary", token)).status, 403);
    await client.request({
      method: "POST",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      body: {
        metadata: { name: READER },
        rules: [{ apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] }],
      },
    });
    await client.request({
      method: "POST",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      body: {
        metadata: { name: READER },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: READER },
        subjects: ["reader", "lister"].map((name) => ({ kind: "ServiceAccount", name, namespace: NS })),
      },
    });
    // The API server's RBAC follows the new binding within moments; a denial asked meanwhile
    // would be kept 30 s by the node, as by a kubelet.
    await eventually("the API server allows the binding", 30_000, async () => {
      const allowed = await mayUser(
        client,
        `system:serviceaccount:${NS}:lister`,
        ["system:serviceaccounts", `system:serviceaccounts:${NS}`, "system:authenticated"],
        { verb: "get", resource: "nodes", subresource: "proxy", name: `${FLEET}-0` },
      );
      return { done: allowed, status: "not yet" };
    });
    const podsOf = async (p: number): Promise<string[]> => {
      const r = await kubeletGet(p, "/pods", lister);
      assert.equal(r.status, 200, r.body);
      const list = JSON.parse(r.body) as { items: { metadata: { name: string } }[] };
      return list.items.map((i) => i.metadata.name).sort();
    };
    await eventually("each node's /pods lists its own pod", 30_000, async () => {
      const [a, b] = [await podsOf(port), await podsOf(port + 1)];
      return { done: a.join() === "web" && b.join() === "db", status: `${a.join()} | ${b.join()}` };
    });
    assert.equal(
      (await kubeletGet(port, "/pods", token)).status,
      200,
      "reader on the node it was not refused",
    );
    assert.equal(
      (await kubeletGet(port + 1, "/pods", token)).status,
      403,
      "reader's refusal of nodes/proxy on the other node is kept 30 s, as by a kubelet",
    );
    const logs = await kubeletGet(port, `/containerLogs/${NS}/web/app`, lister);
    assert.equal(logs.status, 200);
    assert.match(logs.body, /hollow container app of .* started on node /);
    assert.equal(
      (await kubeletGet(port + 1, `/containerLogs/${NS}/web/app`, lister)).status,
      404,
      "not its pod",
    );
  });

  test("kubectl exec through the API server fails at once: a hollow container has no runtime", async () => {
    const started = Date.now();
    const r = await run(
      kubectlPath(),
      [
        "--kubeconfig",
        testCluster().kubeconfig,
        "exec",
        "-n",
        NS,
        "web",
        "-c",
        "app",
        "--",
        "sh",
        "-c",
        "true",
      ],
      process.env,
      60_000,
    );
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(`kubectl exec answered in ${seconds} s: ${r.stderr.trim()}\n`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /hollow container; kubemark-cluster hollow nodes run no processes/);
    assert.ok(seconds < 30, `kubectl exec took ${seconds} s`);
  });

  test("a followed log stays open and ends when the pod is deleted", async () => {
    const followed = client.getText(logPath, { container: "app", follow: true }, 60_000);
    let settled = false;
    void followed.finally(() => (settled = true)).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(settled, false, "the follow is still open while the pod runs");
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}/pods/web` });
    const text = await followed;
    assert.match(text, /hollow container app of .* started on node /);
    assert.match(text, /hollow container app stopped: the pod is being deleted \(exit code 0\)\n$/);
  });
});
