/** What the comparison asks the API server about a system's nodes: how many are Ready, which missed a heartbeat; and their removal. */
import type { KubeClient } from "../../src/client/kube-client.ts";
import { NODE_CENSUS } from "../../src/client/protobuf-types.ts";
import { Watcher, type Versioned, type WatchClient } from "../../src/engine/watcher.ts";
import { WatchedMap } from "../../src/fleet/fleet-watch.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { forEachLimit } from "../../src/kernel/concurrency.ts";
import { NODES_PATH, nodeLeasePath, nodePath } from "../../src/kernel/k8s.ts";
import { listStaleLeases } from "../lib/stale-leases.ts";
import { LABEL, LEASE_SECONDS } from "./launchers.ts";
import type { SystemName } from "./types.ts";

interface NodeItem {
  metadata: { name: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** When a system's Nodes were first all Ready, from a watch. */
export interface ReadyNodeCount {
  /** When `target` Nodes were first Ready at once (Date.now()), or undefined while they have not been. */
  readyAt(): number | undefined;
  stop(): void;
}

const isReady = (n: NodeItem): boolean =>
  n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

/**
 * Counts the system's Ready Nodes from one Node watch (protobuf, the fields the count reads), as
 * `create` waits, and notes the moment `target` of them are first Ready. A list of every Node each
 * second was itself load on the API server that is registering them, the more so the larger each
 * Node is (a kubelet's status against KWOK's), and read the time to the next second only.
 */
export function watchReadyNodes(client: WatchClient, system: SystemName, target: number): ReadyNodeCount {
  const nodes = new WatchedMap<boolean>();
  let ready = 0;
  let at: number | undefined;
  const counted = (): void => {
    if (at === undefined && ready >= target) at = Date.now();
  };
  const watcher = new Watcher<NodeItem & Versioned>(
    client,
    NODES_PATH,
    { labelSelector: `${LABEL}=${system}` },
    {
      onEvent: (type, n) => {
        const name = n.metadata.name;
        const was = nodes.get(name) === true;
        const now = type !== "DELETED" && isReady(n);
        if (type === "DELETED") nodes.delete(name);
        else nodes.set(name, now);
        if (nodes.synced && was !== now) {
          ready += now ? 1 : -1;
          counted();
        }
      },
      onRelistStart: () => nodes.relistStart(),
      onSynced: () => {
        nodes.relistEnd();
        ready = 0;
        for (const r of nodes.values()) if (r) ready++;
        counted();
      },
    },
    { clock: realClock, random: Math.random, watchList: { enabled: true } },
    NODE_CENSUS,
  );
  watcher.start();
  return { readyAt: () => at, stop: () => watcher.stop() };
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
