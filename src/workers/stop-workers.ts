/** Stops a local cluster's real workers and removes every trace of them from this machine. */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../kernel/clock.ts";
import { stopDaemon } from "../host/daemon.ts";
import type { ClusterLayout } from "../controlplane/cluster-state.ts";
import { readWorkers, workerLayout } from "../controlplane/worker-records.ts";
import {
  deleteLink,
  killAll,
  netnsFilesOf,
  pidsInCgroup,
  pidsWithArg,
  removeCgroup,
  removeEmptyDirs,
  removeLinksInto,
  removeNetns,
  unixSocketPathsOf,
  unmountUnder,
} from "./host.ts";
import { NODE_BRIDGE } from "./workers.ts";

/**
 * Stops every worker of a cluster and removes all of it: the kubelet, the pods' processes and
 * containerd shims, containerd, the pods' network namespaces, mounts under the worker's directory,
 * cgroups, the bridge, the relay, the kubelet's log links, and the directory itself.
 */
export async function stopWorkers(layout: ClusterLayout, clock: Clock): Promise<string[]> {
  const s = await readWorkers(layout);
  const stopped: string[] = [];
  if (s.relay) {
    if (await stopDaemon(s.relay, clock, 5_000)) stopped.push("relay");
  }
  for (const w of s.workers) {
    const l = workerLayout(layout.dir, w.index);
    if (w.kubelet && (await stopDaemon(w.kubelet, clock, 10_000))) stopped.push(`${w.name} kubelet`);
    const podPids = await pidsInCgroup(w.cgroupRoot);
    const netns = await netnsFilesOf(podPids);
    // containerd 1.6 puts its shims' sockets under /run/containerd/s whatever its state directory.
    const shimSockets = (await unixSocketPathsOf(await pidsWithArg(l.containerdSocket))).filter((p) =>
      p.startsWith("/run/containerd/"),
    );
    await killAll(
      async () => [...(await pidsInCgroup(w.cgroupRoot)), ...(await pidsWithArg(l.containerdSocket))],
      clock,
    );
    if (w.containerd && (await stopDaemon(w.containerd, clock, 10_000))) stopped.push(`${w.name} containerd`);
    await removeNetns(netns);
    for (const sock of shimSockets) await rm(sock, { force: true });
    await unmountUnder(l.dir);
    await removeCgroup(w.cgroupRoot);
    await deleteLink(w.bridge);
    await removeLinksInto("/var/log/containers", l.podLogsDir);
    await rm(l.dir, { recursive: true, force: true });
  }
  if (s.workers.length > 0) {
    await deleteLink(NODE_BRIDGE);
    await removeEmptyDirs(["/run/containerd/s", "/run/containerd"]);
  }
  await rm(join(layout.dir, "workers"), { recursive: true, force: true });
  return stopped;
}
