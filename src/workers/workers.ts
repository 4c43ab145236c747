/**
 * Real worker nodes of a local cluster (`up --workers N`): per worker a containerd, a kubelet of
 * the control plane's release, a bridge network for its pods, node credentials signed by the
 * cluster CA; for all of them a relay that makes the API server reachable at the `kubernetes`
 * Service address (REFERENCE 4d). `stopWorkers` undoes all of it.
 */
import { readFileSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Clock } from "../kernel/clock.ts";
import { KubemarkError, describeError } from "../kernel/errors.ts";
import type { KubeClient } from "../client/kube-client.ts";
import { isDaemonAlive, startDaemon, stopDaemon, type DaemonRecord } from "../host/daemon.ts";
import { issueCert } from "../host/pki.ts";
import { lastLines, runCommand } from "../host/run-command.ts";
import { waitUntil } from "../kernel/wait.ts";
import { renderKubeconfig, writeKubeconfig } from "../controlplane/kubeconfig-file.ts";
import {
  clusterLayout,
  listClusterNames,
  type ClusterLayout,
  type ClusterRecord,
} from "../controlplane/cluster-state.ts";
import { PREBUILT_ENGINE_PATH } from "../fleet/spec.ts";
import { engineBundleSource } from "../fleet/bundle.ts";
import {
  cniConflist,
  containerdToml,
  kubeletConfigYaml,
  workerLayout,
  type WorkerLayout,
} from "./config-files.ts";
import {
  deleteLink,
  ensureBridge,
  ensureCgroup,
  ensureWorkerPrerequisites,
  killAll,
  netnsFilesOf,
  pidsInCgroup,
  pidsWithArg,
  removeCgroup,
  removeLinksInto,
  removeEmptyDirs,
  removeNetns,
  unixSocketPathsOf,
  unmountUnder,
} from "./host.ts";
import {
  HOLLOW_NODE_REPOSITORY,
  hollowNodeImage,
  nodeBaseImage,
  pauseImage,
  PAUSE_IMAGE,
  type ImageTar,
} from "./image.ts";

/** The `kubernetes` Service address of every local cluster (first address of 10.0.0.0/16). */
export const SERVICE_IP = "10.0.0.1";
/** Workers' own addresses: 10.254.0.2, .3, ... (kubelets serve there). */
export const NODE_NETWORK = "10.254.0.0/24";
/** Port-less bridge holding the workers' addresses and the Service address. */
export const NODE_BRIDGE = "kmcnodes";
/** Label every real worker Node carries. */
export const WORKER_LABEL = "kubemark-cluster.io/worker";

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

/** The hollow-node image tag built for this package version. */
export function hollowNodeImageTag(version: string): string {
  return `${HOLLOW_NODE_REPOSITORY}:${version}`;
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

async function writeWorkers(layout: ClusterLayout, s: WorkersState): Promise<void> {
  await mkdir(join(layout.dir, "workers"), { recursive: true });
  const tmp = `${statePath(layout)}.tmp`;
  await writeFile(tmp, JSON.stringify(s, null, 2) + "\n");
  await rename(tmp, statePath(layout));
}

/** Name of a cluster's worker `i` (the Node name). */
export function workerName(cluster: string, i: number): string {
  return `${cluster}-worker-${i}`;
}

/** Worker `i`'s address in {@link NODE_NETWORK}. */
export function workerIP(i: number): string {
  return `10.254.0.${i + 2}`;
}

function bridgeName(i: number): string {
  return `kmcbr${i}`;
}

/** Options of {@link startWorkers}. */
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

async function ctr(l: WorkerLayout, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const r = await runCommand("ctr", ["-a", l.containerdSocket, "-n", "k8s.io", ...args], { timeoutMs });
  if (r.code !== 0) {
    throw new KubemarkError("START_FAILED", `ctr ${args.join(" ")} failed: ${lastLines(r.stderr, 3)}`);
  }
  return r.stdout;
}

/** Builds (or takes from the cache) the images the workers load. */
export async function buildWorkerImages(
  cacheDir: string,
  env: NodeJS.ProcessEnv,
  packageVersion: string,
): Promise<{ tars: ImageTar[]; hollowNode: string }> {
  await mkdir(cacheDir, { recursive: true });
  const tag = hollowNodeImageTag(packageVersion);
  const tars = [
    await pauseImage(cacheDir, env),
    await nodeBaseImage(cacheDir, process.execPath),
    await hollowNodeImage(cacheDir, process.execPath, await engineBundleSource(), tag, PREBUILT_ENGINE_PATH),
  ];
  return { tars, hollowNode: tag };
}

/** Refuses a second cluster with running workers (they would share addresses and the relay). */
async function assertNoOtherWorkers(stateDir: string, name: string): Promise<void> {
  for (const other of await listClusterNames(stateDir)) {
    if (other === name) continue;
    const s = await readWorkers(clusterLayout(stateDir, other));
    if (
      s.workers.some(
        (w) => (w.kubelet && isDaemonAlive(w.kubelet)) || (w.containerd && isDaemonAlive(w.containerd)),
      )
    ) {
      throw new KubemarkError("CONFLICT", `local cluster "${other}" already runs real workers`, {
        hint: `one local cluster at a time can have workers: 'kubemark-cluster down --name ${other}', or start this one without --workers`,
      });
    }
  }
}

// relay.ts in a checkout, relay.js in the compiled package.
const relayScript = fileURLToPath(
  new URL(`./relay.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url),
);

/**
 * Starts (or restarts) `count` workers and the relay, and waits until every worker Node is Ready.
 * Idempotent: running pieces are kept.
 */
export async function startWorkers(
  o: StartWorkersOptions,
): Promise<{ workers: WorkerInfo[]; images: WorkerImages }> {
  const { layout, rec, clock } = o;
  await ensureWorkerPrerequisites(o.env, o.onStep);
  await assertNoOtherWorkers(o.stateDir, rec.name);
  o.onStep("building the worker images (pause, node:24, hollow-node)");
  const { tars, hollowNode } = await buildWorkerImages(o.cacheDir, o.env, o.packageVersion);
  let state = await readWorkers(layout);
  const records: WorkerRecord[] = [];
  const ca = { certFile: join(layout.pki, "ca.crt"), keyFile: join(layout.pki, "ca.key") };
  const server = `https://127.0.0.1:${rec.ports.apiserver}`;
  const save = async (): Promise<void> => {
    state = {
      ...state,
      workers: [...records, ...state.workers.filter((w) => !records.some((r) => r.index === w.index))],
    };
    await writeWorkers(layout, state);
  };
  for (let i = 0; i < o.count; i++) {
    o.signal?.throwIfAborted();
    const l = workerLayout(layout.dir, i);
    const name = workerName(rec.name, i);
    const prev = state.workers.find((w) => w.index === i);
    let w: WorkerRecord = prev ?? {
      index: i,
      name,
      nodeIP: workerIP(i),
      bridge: bridgeName(i),
      cgroupRoot: `/kubemark-cluster-${rec.name}-w${i}`,
    };
    records.push(w);
    const update = async (next: WorkerRecord): Promise<void> => {
      w = next;
      records[records.length - 1] = w;
      await save();
    };
    await mkdir(l.dir, { recursive: true, mode: 0o700 });
    for (const d of [l.cniConfDir, l.cniIpamDir, l.kubeletRoot, l.kubeletCertDir, l.podLogsDir]) {
      await mkdir(d, { recursive: true });
    }
    // The workers' own addresses and the Service address live on a bridge without ports (this
    // kernel may lack dummy devices); each worker's pod bridge is the CNI plugin's, gateway only.
    o.onStep(`worker ${name}: address ${w.nodeIP} on ${NODE_BRIDGE}`);
    await ensureBridge(NODE_BRIDGE, [`${w.nodeIP}/32`, `${SERVICE_IP}/32`]);
    if (!(w.containerd && isDaemonAlive(w.containerd))) {
      await writeFile(l.containerdConfig, containerdToml(l, PAUSE_IMAGE));
      o.onStep(`worker ${name}: starting containerd`);
      const d = await startDaemon({
        file: "containerd",
        args: ["--config", l.containerdConfig],
        logFile: l.containerdLog,
        env: o.env,
      });
      await update({ ...w, containerd: d });
      await waitUntil(
        async () => {
          const r = await runCommand("ctr", ["-a", l.containerdSocket, "version"], { timeoutMs: 5_000 });
          return { done: r.code === 0, status: lastLines(r.stderr, 1) };
        },
        {
          what: `containerd of ${name} to answer`,
          timeoutMs: Math.max(5_000, o.deadline - clock.now()),
          intervalMs: 200,
          clock,
          failFast: () =>
            isDaemonAlive(d) ? undefined : `containerd exited: ${lastLines(safeRead(l.containerdLog), 5)}`,
        },
      );
    }
    o.onStep(`worker ${name}: loading ${tars.length} images`);
    for (const t of tars) await ctr(l, ["images", "import", t.file], 300_000);
    if (!(w.kubelet && isDaemonAlive(w.kubelet))) {
      await issueCert(join(layout.dir, "pki"), ca, {
        name: `worker-${i}`,
        commonName: `system:node:${name}`,
        organizations: ["system:nodes"],
        usage: "client",
      });
      await writeKubeconfig(
        l.kubeletKubeconfig,
        await renderKubeconfig({
          clusterName: `kubemark-${rec.name}`,
          userName: `system:node:${name}`,
          server,
          caFile: ca.certFile,
          certFile: join(layout.pki, `worker-${i}.crt`),
          keyFile: join(layout.pki, `worker-${i}.key`),
        }),
      );
      await copyFile("/etc/resolv.conf", l.resolvConf).catch(() => writeFile(l.resolvConf, ""));
      await writeFile(
        l.kubeletConfig,
        kubeletConfigYaml({ layout: l, nodeIP: w.nodeIP, caFile: ca.certFile, cgroupRoot: w.cgroupRoot }),
      );
      await ensureCgroup(w.cgroupRoot);
      o.onStep(`worker ${name}: starting the kubelet`);
      const d = await startDaemon({
        file: o.kubeletBinary,
        args: [
          `--config=${l.kubeletConfig}`,
          `--kubeconfig=${l.kubeletKubeconfig}`,
          `--root-dir=${l.kubeletRoot}`,
          `--cert-dir=${l.kubeletCertDir}`,
          `--hostname-override=${name}`,
          `--node-ip=${w.nodeIP}`,
          `--node-labels=${WORKER_LABEL}=true`,
          "--v=1",
        ],
        logFile: l.kubeletLog,
        env: o.env,
      });
      await update({ ...w, kubelet: d });
    }
    // The kubelet registers its Node; the controller-manager gives it a podCIDR, which becomes the
    // bridge network's range (the node stays NotReady until a CNI network exists).
    const kubelet = w.kubelet!;
    let podCIDR = "";
    await waitUntil(
      async () => {
        const node = await o.admin
          .get<{ spec?: { podCIDR?: string } }>(`/api/v1/nodes/${name}`)
          .catch(() => undefined);
        podCIDR = node?.spec?.podCIDR ?? "";
        return { done: podCIDR !== "", status: node ? "waiting for a podCIDR" : "not registered yet" };
      },
      {
        what: `worker ${name} to register`,
        timeoutMs: Math.max(5_000, o.deadline - clock.now()),
        intervalMs: 250,
        clock,
        failFast: () =>
          isDaemonAlive(kubelet) ? undefined : `the kubelet exited: ${lastLines(safeRead(l.kubeletLog), 8)}`,
      },
    );
    await writeFile(
      join(l.cniConfDir, "10-kubemark-cluster.conflist"),
      cniConflist(`kmc-${rec.name}-w${i}`, w.bridge, podCIDR, l.cniIpamDir),
    );
  }
  if (!(state.relay && isDaemonAlive(state.relay))) {
    o.onStep(`starting the API server relay on ${SERVICE_IP}`);
    const relay = await startDaemon({
      file: process.execPath,
      args: [
        relayScript,
        `--state-dir=${o.stateDir}`,
        `--cluster=${rec.name}`,
        `--listen=${SERVICE_IP}`,
        `--allow=${rec.clusterCIDR},${NODE_NETWORK},${SERVICE_IP}/32`,
      ],
      logFile: join(layout.dir, "workers", "relay.log"),
      env: o.env,
    });
    state = { ...state, relay };
    await writeWorkers(layout, state);
  }
  for (const w of records) {
    await waitUntil(
      async () => {
        const node = await o.admin.get<{
          status?: { conditions?: { type: string; status: string; message?: string }[] };
        }>(`/api/v1/nodes/${w.name}`);
        const ready = node.status?.conditions?.find((c) => c.type === "Ready");
        return { done: ready?.status === "True", status: ready?.message ?? "no Ready condition" };
      },
      {
        what: `worker ${w.name} to become Ready`,
        timeoutMs: Math.max(5_000, o.deadline - clock.now()),
        intervalMs: 250,
        clock,
        onPoll: (r) => o.onStep(`worker ${w.name}: ${r.status}`),
      },
    ).catch((err: unknown) => {
      throw new KubemarkError(
        "START_FAILED",
        `${describeError(err)}\nlast lines of ${workerLayout(layout.dir, w.index).kubeletLog}:\n${lastLines(safeRead(workerLayout(layout.dir, w.index).kubeletLog), 10)}`,
      );
    });
  }
  return {
    workers: await workerInfos(layout),
    images: { hollowNode, images: tars.map((t) => ({ tags: t.tags, bytes: t.bytes })) },
  };
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
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
