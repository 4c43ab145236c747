/**
 * Starts a local cluster's real workers (`up --workers N`): their images, per worker containerd,
 * node credentials and a kubelet, the pod network once the Node has a podCIDR, and the relay to
 * the API server at the Service address; then waits until every worker Node is Ready.
 */
import { readFileSync } from "node:fs";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubemarkError, describeError } from "../kernel/errors.ts";
import { isDaemonAlive, startDaemon } from "../host/daemon.ts";
import { issueCert } from "../host/pki.ts";
import { lastLines, runCommand } from "../host/run-command.ts";
import { waitUntil } from "../kernel/wait.ts";
import { renderKubeconfig, writeKubeconfig } from "../controlplane/kubeconfig-file.ts";
import { SERVICE_IP, clusterLayout, listClusterNames } from "../controlplane/cluster-state.ts";
import {
  readWorkers,
  workerInfos,
  workerLayout,
  writeWorkers,
  type StartWorkersOptions,
  type WorkerImages,
  type WorkerInfo,
  type WorkerLayout,
  type WorkerRecord,
} from "../controlplane/worker-records.ts";
import { PREBUILT_ENGINE_PATH } from "../fleet/spec.ts";
import { engineBundleSource } from "../fleet/bundle.ts";
import { cniConflist, containerdToml, kubeletConfigYaml } from "./config-files.ts";
import { ensureBridge, ensureCgroup, ensureWorkerPrerequisites } from "./host.ts";
import { hollowNodeImage, nodeBaseImage, pauseImage, PAUSE_IMAGE, type ImageTar } from "./image.ts";
import {
  NODE_BRIDGE,
  NODE_NETWORK,
  WORKER_LABEL,
  bridgeName,
  hollowNodeImageTag,
  workerIP,
  workerName,
} from "./workers.ts";

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
