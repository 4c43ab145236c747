/**
 * The shared kubelet endpoint against a real control plane: hollow nodes advertise it (InternalDNS
 * address and daemonEndpoints port), and the API server's `pods/log` (what `kubectl logs` calls)
 * reaches it, for a plain read and for a follow that ends when the pod is deleted.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminClientFor, eventually, testCluster } from "../harness.ts";
import { removeTestObjects, defaultServiceAccount } from "../engine-process.ts";
import { startEngine, type EngineProcess } from "../engine-process.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { pickFreePorts } from "../../src/host/ports.ts";

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

describe("the shared kubelet endpoint on a real control plane", () => {
  let client: KubeClient;
  let engine: EngineProcess;
  let port = 0;
  const logPath = `/api/v1/namespaces/${NS}/pods/web/log`;

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    await defaultServiceAccount(client, NS);
    [port] = (await pickFreePorts(1)) as [number];
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
    await removeTestObjects(client, NS, FLEET);
  });

  test("the nodes advertise the endpoint: InternalDNS 127.0.0.1, the port, their own InternalIPs and Hostnames", async () => {
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
