/**
 * Real worker nodes as the control plane sees them: their records (`workers/state.json` and each
 * worker's files), which `status` and the fleet verbs read and the workers layer writes, and the
 * interface through which `up` and `down` start and stop them. Starting and stopping is not here:
 * src/workers/, a layer above, implements {@link WorkerNodes} and the CLI passes it in.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../kernel/clock.ts";
import type { KubeClient } from "../client/kube-client.ts";
import { isDaemonAlive, type DaemonRecord } from "../host/daemon.ts";
import type { ClusterLayout, ClusterRecord } from "./cluster-state.ts";

/** One worker as recorded in the cluster's state. */
export interface WorkerRecord {
  readonly index: number;
  readonly name: string;
  readonly nodeIP: string;
  readonly bridge: string;
  readonly cgroupRoot: string;
  readonly containerd?: DaemonRecord | undefined;
  readonly kubelet?: DaemonRecord | undefined;
}

/** `workers/state.json` of a cluster. */
export interface WorkersState {
  readonly workers: readonly WorkerRecord[];
  readonly relay?: DaemonRecord | undefined;
}

/** A worker's state for `up` and `status`. */
export interface WorkerInfo {
  readonly name: string;
  readonly nodeIP: string;
  readonly running: boolean;
  readonly log: string;
}

/** Images loaded into every worker, and how big they are. */
export interface WorkerImages {
  readonly hollowNode: string;
  readonly images: readonly { readonly tags: readonly string[]; readonly bytes: number }[];
}

/** Files and directories of one worker. */
export interface WorkerLayout {
  readonly dir: string;
  readonly containerdConfig: string;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly containerdSocket: string;
  readonly cniConfDir: string;
  readonly cniIpamDir: string;
  readonly kubeletConfig: string;
  readonly kubeletKubeconfig: string;
  readonly kubeletRoot: string;
  readonly kubeletCertDir: string;
  readonly podLogsDir: string;
  readonly resolvConf: string;
  readonly containerdLog: string;
  readonly kubeletLog: string;
}

/** Layout of worker `index` inside a cluster's state directory. */
export function workerLayout(clusterDir: string, index: number): WorkerLayout {
  const dir = join(clusterDir, "workers", `w${index}`);
  return {
    dir,
    containerdConfig: join(dir, "containerd.toml"),
    containerdRoot: join(dir, "containerd", "root"),
    containerdState: join(dir, "containerd", "state"),
    containerdSocket: join(dir, "containerd", "containerd.sock"),
    cniConfDir: join(dir, "cni", "net.d"),
    cniIpamDir: join(dir, "cni", "ipam"),
    kubeletConfig: join(dir, "kubelet-config.yaml"),
    kubeletKubeconfig: join(dir, "kubelet.kubeconfig"),
    kubeletRoot: join(dir, "kubelet"),
    kubeletCertDir: join(dir, "kubelet-pki"),
    podLogsDir: join(dir, "pod-logs"),
    resolvConf: join(dir, "resolv.conf"),
    containerdLog: join(dir, "containerd.log"),
    kubeletLog: join(dir, "kubelet.log"),
  };
}

function statePath(layout: ClusterLayout): string {
  return join(layout.dir, "workers", "state.json");
}

/** Reads a cluster's workers, or none. */
export async function readWorkers(layout: ClusterLayout): Promise<WorkersState> {
  try {
    return JSON.parse(await readFile(statePath(layout), "utf8")) as WorkersState;
  } catch {
    return { workers: [] };
  }
}

/** Records a cluster's workers (atomically: a reader sees the old or the new state). */
export async function writeWorkers(layout: ClusterLayout, s: WorkersState): Promise<void> {
  await mkdir(join(layout.dir, "workers"), { recursive: true });
  const tmp = `${statePath(layout)}.tmp`;
  await writeFile(tmp, JSON.stringify(s, null, 2) + "\n");
  await rename(tmp, statePath(layout));
}

/** Each recorded worker and whether its processes run. */
export async function workerInfos(layout: ClusterLayout): Promise<WorkerInfo[]> {
  const s = await readWorkers(layout);
  return s.workers.map((w) => ({
    name: w.name,
    nodeIP: w.nodeIP,
    running: !!(w.kubelet && isDaemonAlive(w.kubelet) && w.containerd && isDaemonAlive(w.containerd)),
    log: workerLayout(layout.dir, w.index).kubeletLog,
  }));
}

/** What starting a cluster's workers needs. */
export interface StartWorkersOptions {
  readonly layout: ClusterLayout;
  readonly rec: ClusterRecord;
  readonly count: number;
  readonly admin: KubeClient;
  readonly kubeletBinary: string;
  readonly cacheDir: string;
  readonly stateDir: string;
  readonly packageVersion: string;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  readonly deadline: number;
  readonly onStep: (message: string) => void;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Real worker nodes of a local cluster, implemented by src/workers/ and passed in by the CLI (the
 * control plane does not import the layer above it).
 */
export interface WorkerNodes {
  /** Starts (or completes) `count` workers and waits until every worker Node is Ready; idempotent. */
  start(o: StartWorkersOptions): Promise<{ workers: WorkerInfo[]; images: WorkerImages }>;
  /** Stops every worker of a cluster and removes all of it; names what it stopped. */
  stop(layout: ClusterLayout, clock: Clock): Promise<string[]>;
}
