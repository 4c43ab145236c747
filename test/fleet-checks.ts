/** What the fleet verbs' end-to-end tests check: the CLI succeeded, a fleet's Nodes, Leases and engine processes. */
import assert from "node:assert/strict";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import type { KubeClient } from "../src/client/kube-client.ts";
import { processStartTicks } from "../src/host/daemon.ts";
import { cli, eventually, type RunResult } from "./harness.ts";

/** The parts of a Node the fleet tests read. */
export interface NodeObj {
  metadata: { name: string; labels?: Record<string, string> };
  status?: {
    conditions?: { type: string; status: string }[];
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

/** The label every Node of a fleet carries, spelled out as users see it. */
export const FLEET = "kubemark-cluster.io/fleet";

/** Fails with the command's output unless it exited 0. */
export function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/** The hollow Nodes of a fleet. */
export async function fleetNodes(client: KubeClient, fleet: string): Promise<NodeObj[]> {
  const list = await client.get<{ items: NodeObj[] }>("/api/v1/nodes", {
    labelSelector: `${FLEET}=${fleet},hollow-node=true`,
  });
  return list.items;
}

/** Names of the node Leases that start with `prefix`. */
export async function leaseNames(client: KubeClient, prefix: string): Promise<string[]> {
  const list = await client.get<{ items: { metadata: { name: string } }[] }>(
    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
  );
  return list.items.map((l) => l.metadata.name).filter((n) => n.startsWith(prefix));
}

/** A Node nobody backs, labelled like hollow nodes (or another fleet's): the CLI must never touch it. */
export async function foreignNode(
  client: KubeClient,
  name: string,
  labels: Record<string, string>,
): Promise<void> {
  await client.request({
    method: "POST",
    path: "/api/v1/nodes",
    body: { apiVersion: "v1", kind: "Node", metadata: { name, labels } },
  });
}

/** How many of `nodes` are Ready. */
export function readyCount(nodes: NodeObj[]): number {
  return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
    .length;
}

/** The pids of a fleet's local engine processes, as `list -o json` reports them. */
export async function enginePids(scope: string[]): Promise<number[]> {
  const r = await cli(["list", ...scope, "-o", "json"]);
  ok(r, "list -o json");
  return ((JSON.parse(r.stdout) as { processes?: { pid: number }[] }).processes ?? []).map((p) => p.pid);
}

/** True while the process runs (an exited one may linger as a zombie of whoever adopted it). */
export function alive(pid: number): boolean {
  return processStartTicks(pid) !== undefined;
}

/** A Node's address of `type` (InternalIP, InternalDNS, Hostname), if it reports one. */
export function nodeAddress(node: NodeObj, type: string): string | undefined {
  return node.status?.addresses?.find((a) => a.type === type)?.address;
}

/**
 * A GET with no credentials to a node's kubelet endpoint (its InternalIP and daemonEndpoints port,
 * where metrics-server dials it): the HTTP status and the serving certificate's subjectAltName.
 */
export function anonymousKubeletGet(
  node: NodeObj,
  path = "/pods",
): Promise<{ status: number; subjectAltName: string | undefined }> {
  const host = nodeAddress(node, "InternalIP");
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  assert.ok(host && port, `${node.metadata.name} reports an InternalIP and a kubelet port`);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerCertificate();
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, subjectAltName: cert.subjectaltname }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from https://${host}:${port}${path} in 10 s`)));
    req.on("error", reject);
    req.end();
  });
}

/** Creates pod `name` bound to node `node` (one container, image example.com/app:1) and waits until it runs. */
export async function runPodOn(client: KubeClient, ns: string, name: string, node: string): Promise<void> {
  await client.request({
    method: "POST",
    path: `/api/v1/namespaces/${ns}/pods`,
    body: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: { nodeName: node, containers: [{ name: "app", image: "example.com/app:1" }] },
    },
  });
  await eventually(`pod ${ns}/${name} Running on ${node}`, 60_000, async () => {
    const p = await client.get<{ status?: { phase?: string; podIP?: string } }>(
      `/api/v1/namespaces/${ns}/pods/${name}`,
    );
    return { done: p.status?.phase === "Running" && !!p.status.podIP, status: p.status?.phase ?? "none" };
  });
}
