/** The fleet's Nodes and their Leases as the target cluster has them. */
import { FLEET_LABEL, NODES_PATH, NODE_LEASES_PATH, nodeLeasePath, nodePath } from "../kernel/k8s.ts";
import { forEachLimit } from "../kernel/concurrency.ts";
import { deleteObject } from "./apply.ts";
import type { FleetContext } from "./context.ts";
import { HOLLOW_LABEL, nodeIndex, type FleetSpec } from "./spec.ts";

/** Fleet Nodes as the target has them. */
export interface NodeCensus {
  /** Nodes of the fleet with an index below the desired count. */
  readonly registered: number;
  readonly ready: number;
  readonly notReady: string[];
  /** Fleet Nodes past the desired count (no longer backed). */
  readonly extra: string[];
  readonly nodes: Array<{ name: string; ready: boolean; version: string; created: string }>;
}

/** A Node as the census reads it. */
export interface NodeItem {
  metadata: { name: string; creationTimestamp?: string };
  status?: { conditions?: Array<{ type: string; status: string }>; nodeInfo?: { kubeletVersion?: string } };
}

/** A node's Lease as the census reads it. */
export interface LeaseItem {
  metadata: { name: string };
  spec?: { renewTime?: string; leaseDurationSeconds?: number };
}

/** The fleet's Nodes in the target: its ownership label and `hollow-node=true`, nothing else. */
export async function fleetNodes(s: FleetContext): Promise<NodeItem[]> {
  const list = await s.target.client.get<{ items: NodeItem[] }>(NODES_PATH, {
    labelSelector: `${FLEET_LABEL}=${s.fleet},${HOLLOW_LABEL}=true`,
  });
  return list.items;
}

/** Every node Lease in the target. */
export async function nodeLeases(s: FleetContext): Promise<LeaseItem[]> {
  return (await s.target.client.get<{ items: LeaseItem[] }>(NODE_LEASES_PATH)).items;
}

/** Counts the fleet's Nodes against its desired count and name prefix. */
export function countNodes(
  items: readonly NodeItem[],
  spec: Pick<FleetSpec, "nodes" | "namePrefix">,
): NodeCensus {
  let registered = 0;
  let ready = 0;
  const notReady: string[] = [];
  const extra: string[] = [];
  const nodes: NodeCensus["nodes"] = [];
  for (const n of items) {
    const isReady = n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
    const idx = nodeIndex(n.metadata.name, spec.namePrefix);
    nodes.push({
      name: n.metadata.name,
      ready: isReady,
      version: n.status?.nodeInfo?.kubeletVersion ?? "",
      created: n.metadata.creationTimestamp ?? "",
    });
    if (idx === undefined || idx >= spec.nodes) {
      extra.push(n.metadata.name);
      continue;
    }
    registered++;
    if (isReady) ready++;
    else notReady.push(n.metadata.name);
  }
  nodes.sort((a, b) => (nodeIndex(a.name, spec.namePrefix) ?? 0) - (nodeIndex(b.name, spec.namePrefix) ?? 0));
  return { registered, ready, notReady, extra, nodes };
}

/** Counts the fleet's Nodes in the target (by its ownership label and `hollow-node=true`). */
export async function nodeCensus(
  s: FleetContext,
  spec: Pick<FleetSpec, "nodes" | "namePrefix">,
): Promise<NodeCensus> {
  return countNodes(await fleetNodes(s), spec);
}

/** Deletes Nodes (and their Leases) that the fleet no longer backs; returns how many Nodes went. */
export async function removeNodes(s: FleetContext, names: readonly string[]): Promise<number> {
  let removed = 0;
  await forEachLimit(names, 16, async (name) => {
    if (await deleteObject(s.target.client, nodePath(name))) removed++;
    await deleteObject(s.target.client, nodeLeasePath(name));
  });
  return removed;
}
