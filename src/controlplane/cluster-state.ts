import { mkdir, readFile, readdir, writeFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { BadInputError, KubemarkError, describeError } from "../kernel/errors.ts";
import type { DaemonRecord } from "../host/daemon.ts";

/** The four processes of a local control plane, in start order. */
export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
/** One of {@link COMPONENTS}. */
export type Component = (typeof COMPONENTS)[number];

/** Loopback ports of one local cluster (chosen at first `up`, kept for its lifetime). */
export interface ClusterPorts {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
  readonly scheduler: number;
  /** metrics-server's secure port, chosen at the first `up --metrics-server`. */
  readonly metricsServer?: number;
}

/** The cluster runs metrics-server (`up --metrics-server`; later `up`s keep it). */
export interface MetricsServerRecord {
  /** Its process, absent when stopped. */
  readonly process?: DaemonRecord;
}

/** What `cluster.json` in a cluster's state directory records. */
export interface ClusterRecord {
  readonly name: string;
  readonly version: string;
  readonly ports: ClusterPorts;
  readonly audit: boolean;
  readonly loadTest: boolean;
  readonly serviceCIDR: string;
  readonly clusterCIDR: string;
  readonly createdAt: string;
  /** Running processes, by component (absent when stopped). */
  readonly processes: Partial<Record<Component, DaemonRecord>>;
  /** Present when the cluster runs metrics-server. */
  readonly metricsServer?: MetricsServerRecord;
}

/** Default name of the local cluster. */
export const DEFAULT_CLUSTER_NAME = "kubemark";

/** The `kubernetes` Service address of every local cluster (first address of 10.0.0.0/16). */
export const SERVICE_IP = "10.0.0.1";

/** ` --name NAME` for commands a message suggests, or nothing for the default cluster. */
export function nameFlag(name: string): string {
  return name === DEFAULT_CLUSTER_NAME ? "" : ` --name ${name}`;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** Validates a cluster name (it names a directory and a kubeconfig context). */
export function validateClusterName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new BadInputError(
      `--name must be lower-case letters, digits and '-' (at most 40), got "${name}"`,
      `for example --name ${DEFAULT_CLUSTER_NAME}-2`,
    );
  }
  return name;
}

/** Files and directories of one local cluster. */
export interface ClusterLayout {
  readonly dir: string;
  readonly record: string;
  readonly kubeconfig: string;
  readonly pki: string;
  readonly etcdData: string;
  readonly logs: string;
  readonly auditPolicy: string;
  readonly auditLog: string;
  log(component: Component): string;
}

/** Where the clusters live inside the state directory. */
export function clustersDir(stateDir: string): string {
  return join(stateDir, "clusters");
}

/** Paths of the cluster `name`. */
export function clusterLayout(stateDir: string, name: string): ClusterLayout {
  const dir = join(clustersDir(stateDir), name);
  const logs = join(dir, "logs");
  return {
    dir,
    record: join(dir, "cluster.json"),
    kubeconfig: join(dir, "kubeconfig"),
    pki: join(dir, "pki"),
    etcdData: join(dir, "etcd-data"),
    logs,
    auditPolicy: join(dir, "audit-policy.yaml"),
    auditLog: join(logs, "audit.log"),
    log: (c) => join(logs, `${c}.log`),
  };
}

/** Reads a cluster's record, or undefined if it has none. */
export async function readRecord(layout: ClusterLayout): Promise<ClusterRecord | undefined> {
  try {
    return JSON.parse(await readFile(layout.record, "utf8")) as ClusterRecord;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new KubemarkError("STATE_DIR", `cannot read ${layout.record}: ${describeError(err)}`, {
      hint: `remove ${layout.dir} if it is damaged`,
      cause: err,
    });
  }
}

/** Writes a record atomically (a crash never leaves half a file). */
export async function writeRecord(layout: ClusterLayout, rec: ClusterRecord): Promise<void> {
  const tmp = `${layout.record}.tmp`;
  await writeFile(tmp, JSON.stringify(rec, null, 2) + "\n");
  await rename(tmp, layout.record);
}

/** Names of every local cluster with a state directory. */
export async function listClusterNames(stateDir: string): Promise<string[]> {
  try {
    return (await readdir(clustersDir(stateDir), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/** Ensures the state directory exists and is writable, with an error naming the fix. */
export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // access(W_OK) says yes to root even on read-only mounts: write a probe file instead.
    const probe = join(dir, `.write-probe-${process.pid}`);
    await writeFile(probe, "");
    await rm(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new KubemarkError("STATE_DIR", `cannot write the state directory ${dir} (${code})`, {
      hint: "set KUBEMARK_STATE_DIR or pass --state-dir to a writable directory",
      cause: err,
    });
  }
}
