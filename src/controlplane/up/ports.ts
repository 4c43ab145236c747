/**
 * `up`'s ports step: a new cluster's five loopback ports (the API server on --port, else 6443 when
 * free, else any), never one another local cluster has claimed; a restarted component's recorded
 * ports must be free again.
 */
import { KubemarkError } from "../../kernel/errors.ts";
import { isPortFree, pickFreePorts } from "../../host/ports.ts";
import {
  clusterLayout,
  listClusterNames,
  readRecord,
  type ClusterPorts,
  type ClusterRecord,
  type Component,
} from "../cluster-state.ts";
import { portsOf } from "../health.ts";

/** Ports every other local cluster has claimed, so a new one never collides with them. */
async function portsClaimedByOthers(stateDir: string, name: string): Promise<Set<number>> {
  const out = new Set<number>();
  for (const other of await listClusterNames(stateDir)) {
    if (other === name) continue;
    const rec = await readRecord(clusterLayout(stateDir, other)).catch(() => undefined);
    if (rec) for (const v of Object.values(rec.ports) as number[]) out.add(v);
  }
  return out;
}

/** Chooses a new cluster's ports; `port` (--port) must be free. */
export async function pickClusterPorts(
  stateDir: string,
  name: string,
  port: number | undefined,
): Promise<ClusterPorts> {
  if (port !== undefined && !(await isPortFree(port))) {
    throw new KubemarkError("PORT_IN_USE", `port ${port} is already in use on 127.0.0.1`, {
      hint: "choose another with --port, or omit --port to pick a free one",
    });
  }
  const avoid = await portsClaimedByOthers(stateDir, name);
  const [apiserver] = port !== undefined ? [port] : await pickFreePorts(1, { preferred: [6443], avoid });
  avoid.add(apiserver!);
  const [etcdClient, etcdPeer, controllerManager, scheduler] = await pickFreePorts(4, { avoid });
  return {
    etcdClient: etcdClient!,
    etcdPeer: etcdPeer!,
    apiserver: apiserver!,
    controllerManager: controllerManager!,
    scheduler: scheduler!,
  };
}

/** A free port for metrics-server, claimed by no local cluster (this one's ports included). */
export async function pickMetricsServerPort(stateDir: string, rec: ClusterRecord): Promise<number> {
  const avoid = await portsClaimedByOthers(stateDir, rec.name);
  for (const v of Object.values(rec.ports) as number[]) avoid.add(v);
  const [port] = await pickFreePorts(1, { avoid });
  return port!;
}

/** Before a component of an existing cluster restarts: its recorded ports are free again. */
export async function checkRecordedPortsFree(rec: ClusterRecord, c: Component): Promise<void> {
  for (const port of portsOf(c, rec.ports)) {
    if (!(await isPortFree(port))) {
      throw new KubemarkError(
        "PORT_IN_USE",
        `port ${port} of cluster "${rec.name}" (${c}) is taken by another program`,
        {
          hint: `stop that program, or 'kubemark-cluster down --name ${rec.name}' and up again`,
        },
      );
    }
  }
}
