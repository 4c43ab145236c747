/** The rows `bench/compare.ts` measures and writes to compare.json (their fields are its format). */
import type { KubeClient } from "../../src/client/kube-client.ts";
import type { FlowRate } from "../lib/apiserver-metrics.ts";

/** A system under comparison. */
export type SystemName = "hollow-node" | "kubemark" | "kwok";

/** Every system, in the order of `--systems`' default. */
export const SYSTEM_NAMES: readonly SystemName[] = ["hollow-node", "kubemark", "kwok"];

/** One cost measurement: idle nodes of one system at one size. */
export interface CostRow {
  system: SystemName;
  nodes: number;
  readySeconds: number | null;
  rssMB: number;
  rssPerNodeKB: number;
  cpuSecondsPerNodeMinute: number;
  mCpuPerNode: number;
  missedLeases: number;
  apiserverCpuCores: number;
  etcdCpuCores: number;
  apiserverRssMB: number;
  /** What the system's nodes cost the API server (per node over a baseline taken before it started), and APF's flows. */
  apiserver?: ApiserverCost;
  note?: string;
}

/**
 * The API server with a system's `n` nodes against itself just before they started: memory and
 * goroutines per node at the end of the idle window, CPU per node over it (less the baseline's),
 * and the requests APF dispatched in it by flow schema (kubelets': `system-nodes`).
 */
export interface ApiserverCost {
  baselineRssMB: number;
  rssPerNodeKB: number;
  /** Go heap in use per node (shrinks when a previous system's objects are collected; RSS does not). */
  heapPerNodeKB: number | null;
  baselineGoroutines: number;
  goroutines: number;
  goroutinesPerNode: number;
  baselineCores: number;
  mCpuPerNode: number;
  flows: FlowRate[];
}

/** Who a system's requests were made as, from the audit log of the 10-node run (`--identity node`). */
export interface IdentityRow {
  system: SystemName;
  /** Distinct `system:node:<name>` users among the system's requests. */
  nodeUsers: number;
  /** The system's kubelet requests (user agent without "proxy"), and how many of them a node user made. */
  kubeletRequests: number;
  kubeletRequestsAsNode: number;
  /** CertificateSigningRequests created (by bootstrap users, `system:bootstrap:<id>`, for this system's nodes' names). */
  csrsCreated: number;
}

/** A cost row for a size that was not measured, saying why. */
export function notMeasured(
  system: SystemName,
  nodes: number,
  note: string,
  readySeconds: number | null = null,
): CostRow {
  return {
    system,
    nodes,
    readySeconds,
    rssMB: 0,
    rssPerNodeKB: 0,
    cpuSecondsPerNodeMinute: 0,
    mCpuPerNode: 0,
    missedLeases: 0,
    apiserverCpuCores: 0,
    etcdCpuCores: 0,
    apiserverRssMB: 0,
    note,
  };
}

/** One pod-phase measurement. */
export interface PodRow {
  system: SystemName;
  nodes: number;
  pods: number;
  running: number;
  latencyP50Seconds: number | null;
  latencyP99Seconds: number | null;
  throughputPerSecond: number | null;
  distinctPodIPs: number;
  jobWithInitCompleted: boolean;
}

/** Requests of one (user agent, verb, resource) row in the three phases of a 10-node run. */
export interface FidelityRow {
  system: SystemName;
  userAgent: string;
  verb: string;
  resource: string;
  /** Per node, from start until all Ready and settled (registration). */
  registrationPerNode: number;
  /** Per node per minute while idle. */
  idlePerNodeMinute: number;
  /** Per pod, while pods were created, run and deleted. */
  perPod: number;
}

/** Everything measured, as it goes into compare.json. */
export interface Results {
  cost: CostRow[];
  pods: PodRow[];
  fidelity: FidelityRow[];
  /** With `--identity node`: who each system's requests were made as (10-node run). */
  identity?: IdentityRow[];
  /**
   * Whether each system's cost rows were measured on a control plane of its own (with
   * `--identity node`), so the API server's RSS per node is over a fresh process for each.
   */
  controlPlanePerSystem?: boolean;
}

/** The control plane a phase runs on: its process ids and its audit log. */
export interface ControlPlane {
  apiserver: number;
  etcd: number;
  auditLog: string;
}

/** compare.json: when, how and where it ran, the rows, and the scale-out summary. */
export interface CompareResult extends Results {
  when: string;
  command: string;
  machine: string;
  minutes: number;
  scaleOut: string;
}

/** A system under test, started with N nodes. */
export interface Running {
  pids(): number[];
  /** Path of the system's log file (read on failures). */
  logs(): string;
  stop(): Promise<void>;
}

/** A control plane the systems run against, and how each of them reaches it. */
export interface CompareContext {
  kubeconfig: string;
  /** Each system's own kubeconfig: a client certificate `bench-<system>` (system:masters), so the
   * audit log tells the systems apart even when they run at once (kubemark's kubelet calls itself
   * hollow-kubelet, as ours does). */
  kubeconfigFor: Record<SystemName, string>;
  client: KubeClient;
  bins: { kubemark: string; kwok: string; stages: string };
  workDir: string;
  /**
   * With `--identity node`: hollow-node's bootstrap kubeconfig (a bootstrap token, 0600), and a
   * kubeconfig per kubemark node with a client certificate of its own (system:node:<name>).
   */
  nodeIdentity?: {
    bootstrapKubeconfig: string;
    kubemarkKubeconfig(name: string): Promise<string>;
  };
}
