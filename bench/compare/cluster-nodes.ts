/** What the comparison asks the API server about a system's nodes: how many are Ready, which missed a heartbeat; and their removal. */
import type { KubeClient } from "../../src/client/kube-client.ts";
import { forEachLimit } from "../../src/kernel/concurrency.ts";
import { NODES_PATH, nodeLeasePath, nodePath } from "../../src/kernel/k8s.ts";
import { listStaleLeases } from "../lib/stale-leases.ts";
import { LABEL, LEASE_SECONDS } from "./launchers.ts";
import type { SystemName } from "./types.ts";

interface NodeItem {
  metadata: { name: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** How many of the system's Nodes are Ready. */
export async function readyNodes(client: KubeClient, system: SystemName): Promise<number> {
  const list = await client.get<{ items: NodeItem[] }>(NODES_PATH, {
    labelSelector: `${LABEL}=${system}`,
  });
  return list.items.filter((n) =>
    n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  ).length;
}

/** Leases of the system's nodes older than their duration (missed heartbeats), by name. */
export async function staleLeases(client: KubeClient, prefix: string): Promise<string[]> {
  return listStaleLeases(client, `${prefix}-`, LEASE_SECONDS * 1000);
}

/** Deletes the system's Nodes and their Leases (best effort). */
export async function removeNodes(client: KubeClient, system: SystemName): Promise<void> {
  const list = await client.get<{ items: NodeItem[] }>(NODES_PATH, {
    labelSelector: `${LABEL}=${system}`,
  });
  await forEachLimit(list.items, 32, async (n) => {
    await client.request({ method: "DELETE", path: nodePath(n.metadata.name) }).catch(() => undefined);
    await client.request({ method: "DELETE", path: nodeLeasePath(n.metadata.name) }).catch(() => undefined);
  });
}
