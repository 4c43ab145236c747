import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Clock } from "../kernel/clock.ts";
import { KubemarkError, describeError } from "../kernel/errors.ts";
import { isDaemonAlive, startDaemon, stopDaemon, type DaemonRecord } from "../host/daemon.ts";
import { targetKubeconfig, type TargetCredentials } from "./objects.ts";
import type { ClusterLayout, ClusterRecord } from "../controlplane/cluster-state.ts";
import { caFingerprint, clusterChange, type ClusterIdentity } from "./cluster-identity.ts";
import { ENGINE_NODE_FLAGS, shardCount, shardNodes, type FleetSpec } from "./spec.ts";
import { csiEngineArgs } from "./storage-objects.ts";
import { pickKubeletBlock } from "./kubelet-ports.ts";
import { localProfilePath, writeLocalProfile } from "./fleet-profile.ts";

/** One running engine process of a local fleet. */
export interface LocalShard extends DaemonRecord {
  readonly shard: number;
  /** Nodes it was started with. */
  readonly nodes: number;
  /** Nodes per shard and fleet total it was started with (a change restarts it). */
  readonly nodesPerShard: number;
  readonly argsHash: string;
  /**
   * Base loopback port of its nodes' kubelet endpoints (node i on base + i: logs, /pods, stats);
   * kept across restarts while the shard size stays.
   */
  readonly kubeletPort?: number;
  /** When it was started (ms since the epoch): its nodes count as up once their Leases are newer. */
  readonly startedAt?: number;
}

/** What `fleet.json` in a local fleet's directory records. */
export interface LocalFleetRecord {
  readonly hostingServer: string;
  /** The cluster its processes talk to (absent in records of older versions). */
  readonly cluster?: ClusterIdentity;
  readonly spec: FleetSpec;
  readonly shards: LocalShard[];
}

/** Files of one local fleet: `<stateDir>/fleets/<namespace>-<hash of the hosting server>/`. */
export interface LocalFleetLayout {
  readonly dir: string;
  readonly record: string;
  readonly credentials: string;
  /** `--identity node`: the nodes' certificates and keys (0600), issued by the cluster the fleet was started for. */
  readonly certs: string;
  readonly nodeLogs: string;
  shardLog(i: number): string;
}

/** Where the local fleet of `namespace` in the cluster at `hostingServer` keeps its files. */
export function localFleetLayout(
  stateDir: string,
  hostingServer: string,
  namespace: string,
): LocalFleetLayout {
  const id = createHash("sha256").update(hostingServer).digest("hex").slice(0, 10);
  return fleetLayoutAt(join(fleetsDir(stateDir), `${namespace}-${id}`));
}

function fleetsDir(stateDir: string): string {
  return join(stateDir, "fleets");
}

function fleetLayoutAt(dir: string): LocalFleetLayout {
  return {
    dir,
    record: join(dir, "fleet.json"),
    credentials: join(dir, "credentials"),
    certs: join(dir, "certs"),
    nodeLogs: join(dir, "logs"),
    shardLog: (i) => join(dir, `shard-${i}.log`),
  };
}

/** Reads a local fleet's record, or undefined when there is none. */
export async function readLocalFleet(layout: LocalFleetLayout): Promise<LocalFleetRecord | undefined> {
  try {
    return JSON.parse(await readFile(layout.record, "utf8")) as LocalFleetRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new KubemarkError("STATE_DIR", `cannot read ${layout.record}: ${describeError(err)}`, {
      hint: `stop its processes by hand and remove ${layout.dir} if it is damaged`,
      cause: err,
    });
  }
}

async function writeLocalFleet(layout: LocalFleetLayout, rec: LocalFleetRecord): Promise<void> {
  const tmp = `${layout.record}.tmp`;
  await writeFile(tmp, JSON.stringify(rec, null, 2) + "\n");
  await rename(tmp, layout.record);
}

/** Writes the hollow nodes' credentials (token, CA, server) readable by this user only. */
export async function writeCredentials(layout: LocalFleetLayout, c: TargetCredentials): Promise<void> {
  await mkdir(layout.credentials, { recursive: true, mode: 0o700 });
  await chmod(layout.credentials, 0o700);
  for (const [name, text] of [
    ["token", c.token],
    ["ca.crt", c.caCrt],
    ["server", c.server],
  ] as const) {
    const file = join(layout.credentials, name);
    await writeFile(`${file}.tmp`, text, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }
}

/** Writes one file of secrets into the credentials directory, readable by this user only. */
async function writeSecretFile(layout: LocalFleetLayout, name: string, text: string): Promise<void> {
  await mkdir(layout.credentials, { recursive: true, mode: 0o700 });
  const file = join(layout.credentials, name);
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/** The engine's entry point next to this module (source in a checkout, compiled in the package). */
function engineEntry(): string {
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  return fileURLToPath(new URL(`../cli/hollow-node/main.${ext}`, import.meta.url));
}

/**
 * hollow-node arguments of shard `i`: an in-cluster pod's, with its slice of the fleet spelled
 * out, so scaling restarts only the shards whose slice changes.
 */
export function shardArgs(
  spec: FleetSpec,
  layout: LocalFleetLayout,
  i: number,
  kubeletPort?: number,
): string[] {
  return [
    `--credentials-dir=${layout.credentials}`,
    `--first-index=${i * spec.nodesPerShard}`,
    `--nodes=${shardNodes(spec, i)}`,
    `--name-prefix=${spec.namePrefix}`,
    `--fleet=${spec.fleet}`,
    `--traffic=${spec.traffic}`,
    ...(spec.proxy ? [] : ["--no-proxy"]),
    ...(spec.kubeletVersion ? [`--kubelet-version=${spec.kubeletVersion}`] : []),
    ...csiEngineArgs(spec),
    `--log-dir=${layout.nodeLogs}`,
    "--stats-interval=60",
    // The API server reaches its nodes' kubelet endpoints here (kubectl logs, metrics-server).
    ...(kubeletPort ? ["--kubelet-address=127.0.0.1", `--kubelet-port=${kubeletPort}`] : []),
    // The fleet's profile, copied into its directory: a changed profile is a new file, so new args.
    ...(spec.profile ? [`--profile=${localProfilePath(layout.dir, spec.profile)}`] : []),
    ...(spec.identity === "node" ? nodeIdentityArgs(layout) : []),
  ];
}

/** `--identity node`: the bootstrap kubeconfig `reconcileLocal` writes, certificates kept 0600 in the fleet's directory. */
function nodeIdentityArgs(layout: LocalFleetLayout): string[] {
  return [
    "--identity=node",
    `--bootstrap-kubeconfig=${join(layout.credentials, BOOTSTRAP_KUBECONFIG)}`,
    `--cert-dir=${layout.certs}`,
  ];
}

/** The bootstrap kubeconfig's file name in a local fleet's credentials directory (0600). */
export const BOOTSTRAP_KUBECONFIG = "bootstrap.kubeconfig";

function hashArgs(args: readonly string[]): string {
  return createHash("sha256").update(args.join("\n")).digest("hex").slice(0, 16);
}

/** The `argsHash` shard `i` is recorded with: a running shard with another one is restarted. */
export function shardArgsHash(
  spec: FleetSpec,
  layout: LocalFleetLayout,
  i: number,
  kubeletPort: number,
): string {
  return hashArgs(shardArgs(spec, layout, i, kubeletPort));
}

/** What reconciling a local fleet did. */
export interface LocalChange {
  readonly started: number[];
  readonly restarted: number[];
  readonly stopped: number[];
  /** Shards that ran for another cluster (one that answered at the same address before) and were replaced. */
  readonly replaced: number[];
  /** How the cluster differs from the one the replaced processes were started for. */
  readonly clusterChange?: string | undefined;
}

/** The cluster a local fleet's processes were started for (older records: the CA they were given). */
export async function recordedCluster(
  layout: LocalFleetLayout,
  rec: LocalFleetRecord,
): Promise<ClusterIdentity> {
  if (rec.cluster) return rec.cluster;
  const ca = await readFile(join(layout.credentials, "ca.crt")).catch(() => undefined);
  return { caFingerprint: caFingerprint(ca) };
}

/** The cluster a fleet's processes run for, and what changed if it is not `current` (else undefined). */
export async function localClusterChange(
  layout: LocalFleetLayout,
  rec: LocalFleetRecord,
  current: ClusterIdentity,
): Promise<string | undefined> {
  return clusterChange(await recordedCluster(layout, rec), current);
}

/**
 * Makes the running processes match `spec` for the cluster `target.cluster`: replaces every
 * process started for another cluster (one that answered at the same address before), starts
 * missing shards, restarts those whose flags changed (a shard that grows or shrinks, a new kubelet
 * version), stops those past the end, and waits until stopped ones have exited (so their Nodes can
 * be removed without being re-registered). Writes the credentials the processes read.
 */
export async function reconcileLocal(
  layout: LocalFleetLayout,
  hostingServer: string,
  spec: FleetSpec,
  clock: Clock,
  target: {
    readonly cluster: ClusterIdentity;
    readonly credentials?: TargetCredentials | undefined;
    /** `--identity node`: the bootstrap token's kubeconfig is written 0600 beside the credentials. */
    readonly bootstrap?: TargetCredentials | undefined;
  },
): Promise<LocalChange> {
  await mkdir(layout.dir, { recursive: true });
  await mkdir(layout.nodeLogs, { recursive: true });
  await writeLocalProfile(layout.dir, spec.profile);
  const prev = await readLocalFleet(layout);
  // Before the credentials are overwritten: an older record names its cluster only by them.
  const moved = prev ? await localClusterChange(layout, prev, target.cluster) : undefined;
  const running = new Map<number, LocalShard>();
  for (const s of prev?.shards ?? []) if (isDaemonAlive(s)) running.set(s.shard, s);
  const change: LocalChange = { started: [], restarted: [], stopped: [], replaced: [], clusterChange: moved };
  if (moved) {
    // They read the old cluster's CA and token at start: no reuse, whatever their flags.
    for (const [i, s] of running) {
      await stopDaemon(s, clock);
      change.replaced.push(i);
    }
    running.clear();
  }
  // Certificates issued by another cluster's CA: kept, the new processes would present them (the
  // kubelet re-uses a stored certificate until it expires) and the new API server refuses them.
  if (moved) await rm(layout.certs, { recursive: true, force: true });
  if (target.credentials) await writeCredentials(layout, target.credentials);
  if (target.bootstrap)
    await writeSecretFile(layout, BOOTSTRAP_KUBECONFIG, targetKubeconfig(target.bootstrap));
  const want = shardCount(spec);
  const next: LocalShard[] = [];
  const save = (): Promise<void> =>
    writeLocalFleet(layout, {
      hostingServer,
      cluster: target.cluster,
      spec,
      shards: [...next, ...running.values()].sort((a, b) => a.shard - b.shard),
    });
  for (const [i, s] of running) {
    if (i >= want) {
      await stopDaemon(s, clock);
      running.delete(i);
      change.stopped.push(i);
    }
  }
  await save();
  // Each shard's block of kubelet ports (one per node, kubelet-ports.ts); a shard keeps its block
  // while its size stays, so a running shard is one of prev's listening on its recorded ports.
  const size = spec.nodesPerShard;
  const kept = (i: number): number | undefined => {
    const s = prev?.shards.find((x) => x.shard === i);
    return s?.kubeletPort && s.nodesPerShard === size ? s.kubeletPort : undefined;
  };
  const blocks: Array<[number, number]> = [];
  for (let i = 0; i < want; i++) {
    const base = kept(i);
    if (base !== undefined) blocks.push([base, base + size - 1]);
  }
  for (let i = 0; i < want; i++) {
    const cur = running.get(i);
    let kubeletPort = kept(i);
    if (kubeletPort === undefined) {
      kubeletPort = await pickKubeletBlock(size, blocks);
      blocks.push([kubeletPort, kubeletPort + size - 1]);
    }
    const args = shardArgs(spec, layout, i, kubeletPort);
    const argsHash = hashArgs(args);
    if (cur && cur.argsHash === argsHash) {
      running.delete(i);
      next.push(cur);
      continue;
    }
    if (cur) {
      await stopDaemon(cur, clock);
      running.delete(i);
      change.restarted.push(i);
    } else if (!change.replaced.includes(i)) {
      change.started.push(i);
    }
    const startedAt = clock.now();
    const rec = await startDaemon({
      file: process.execPath,
      args: [...ENGINE_NODE_FLAGS, engineEntry(), ...args],
      logFile: layout.shardLog(i),
    });
    next.push({
      ...rec,
      shard: i,
      nodes: shardNodes(spec, i),
      nodesPerShard: spec.nodesPerShard,
      argsHash,
      kubeletPort,
      startedAt,
    });
    await save();
  }
  return change;
}

/** Shards of a local fleet that are not running (crashed or killed). */
export function deadShards(rec: LocalFleetRecord): LocalShard[] {
  return rec.shards.filter((s) => !isDaemonAlive(s));
}

/** Stops every process of a local fleet and removes its directory. Returns how many were running. */
export async function removeLocal(layout: LocalFleetLayout, clock: Clock): Promise<number> {
  const rec = await readLocalFleet(layout);
  let stopped = 0;
  for (const s of rec?.shards ?? []) if (await stopDaemon(s, clock)) stopped++;
  await rm(layout.dir, { recursive: true, force: true });
  return stopped;
}

/**
 * `down`'s part: stops every local fleet whose processes talk to the local cluster being removed,
 * and removes its directory, so no engine keeps retrying a cluster that is gone (for a later
 * cluster at the same address to adopt). A fleet is the cluster's when it was started with the
 * cluster's CA; a fleet whose record names no CA, when it talks to or is recorded in the
 * cluster's address. Returns how many fleets and running processes there were.
 */
export async function removeLocalFleetsOf(
  stateDir: string,
  cluster: Pick<ClusterLayout, "pki">,
  rec: Pick<ClusterRecord, "ports">,
  clock: Clock,
): Promise<{ fleets: number; processes: number }> {
  const ca = caFingerprint(await readFile(join(cluster.pki, "ca.crt")).catch(() => undefined));
  const port = rec.ports.apiserver;
  const servers = new Set([`https://127.0.0.1:${port}`, `https://localhost:${port}`]);
  const out = { fleets: 0, processes: 0 };
  const dirs = await readdir(fleetsDir(stateDir), { withFileTypes: true }).catch(() => []);
  for (const d of dirs) {
    if (!d.isDirectory()) continue;
    const layout = fleetLayoutAt(join(fleetsDir(stateDir), d.name));
    const fleet = await readLocalFleet(layout).catch(() => undefined);
    if (!fleet) continue;
    const recorded = (await recordedCluster(layout, fleet)).caFingerprint;
    const ours =
      recorded !== undefined && ca !== undefined
        ? recorded === ca
        : servers.has(fleet.spec.targetServer) || servers.has(fleet.hostingServer);
    if (!ours) continue;
    out.fleets++;
    out.processes += await removeLocal(layout, clock);
  }
  return out;
}

/** The last lines of a shard's log (for error messages). */
export async function logTail(file: string, lines = 5): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
