/** The rows bench/engine-scale.ts measures and writes to its JSON (their fields are its format). */
import type { Lateness } from "./metrics.ts";

/** The local control plane's process ids, when the cluster is one of ours. */
export interface ControlPlane {
  readonly apiserver: number;
  readonly etcd: number;
}

/** One engine process at one size: registration, an idle window, and optionally a soak and pods. */
export interface Row {
  nodes: number;
  traffic: string;
  leaseContentType: string;
  identity: string;
  /** The hollow CSI driver the engine ran (`--csi-driver`), "" = none. */
  csiDriver?: string;
  proxy: boolean;
  registerSeconds: number;
  /** Seconds from the engine's start until every one of its Nodes was Ready (a Node watch saw it). */
  readySeconds?: number | null;
  /** The engine's "registration pacing" log line (peak and final window, cuts, the window's trace). */
  pacing?: object | null;
  /** Lease renewals from the engine's start until every Node was Ready (start-up). */
  startupLateness?: Lateness;
  /** Longest gap between a Lease's renewTimes seen during start-up (over 40 s: a missed lease). */
  startupGapMaxSeconds?: number;
  rssMB: number;
  cpuSecondsPerMinute: number;
  watches: number | null;
  staleLeases: number;
  lateRenewals: number;
  leaseLatenessP99Seconds: number | null;
  leaseLatencyP99Seconds: number | null;
  renewals: number;
  podsRunning?: number;
  rssPerPodKB?: number;
  /** Lease renewals while the pods started (Deployment created -> all ready): a pod burst. */
  burstLateness?: Lateness & { seconds: number };
  /** `--soak`: the engine's RSS (MB) at each minute, and its growth after the first 10 minutes. */
  soak?: { rssMB: number[]; growthAfter10MinPercent: number | null; staleLeasesAtEnd: number };
  /** Where the RSS per pod went: V8 heap in use, V8 heap reserved, memory outside the V8 heap. */
  perPodKB?: { heapUsed: number; heapTotal: number; external: number };
  /** Cores used over the window by the engine, kube-apiserver and etcd (null: not a local cluster). */
  engineCores: number;
  apiserverCores: number | null;
  etcdCores: number | null;
  /** The API server's own p99 (s) for Lease PUTs over the window (its request-duration histogram). */
  serverLeasePutP99Seconds: number | null;
  /**
   * Seen by a Lease watcher over the window: gaps between a Lease's renewTimes (p50, p99, max; nearest-rank
   * quantiles of the samples)...
   */
  renewGapSeconds: { p50: number | null; p99: number | null; max: number | null; samples: number };
  /** ...and how long after its renewTime a renewal reached the watcher (p99, nearest rank). */
  renewVisibleP99Seconds: number | null;
  /** Lease PUTs in the window that did not answer 200 (conflicts, timeouts as code 0, 5xx). */
  leasePutFailures: number;
  /** Watches that failed and were retried in the window (not the 5-10 minute re-opens). */
  watchErrors: number;
  /** Share of the machine's CPU time the hypervisor took during the window (VM steal). */
  stealPercent: number;
  /** `hollow-node --connections` as asked (null: the engine's default for its identity). */
  connections?: string | null;
  /** The engine's established TCP connections to the API server at the end of the window (`ss -tnp`). */
  engineConnections?: number | null;
  /**
   * The API server's own figures from its /metrics: goroutines and RSS at the end of the window,
   * cores used over it (null: /metrics not readable).
   */
  apiserver?: { goroutines: number; rssMB: number; cores: number } | null;
  /** `uptime`'s 1-minute load average at the end of the window (others' work on a shared machine). */
  load1?: number;
}

/** A row with its per-node figures above the 1-node baseline. */
export interface TableRow extends Row {
  rssPerNodeKB: number;
  mCpuPerNode: number;
  /** The API server's figures per node above the 1-node run's (null: not measured). */
  apiserverPerNode?: { rssKB: number; mCpu: number; goroutines: number } | null;
  /** The engine's connections to the API server per node above the 1-node run's (null: not counted). */
  connectionsPerNode?: number | null;
}

/** The results JSON. */
export interface EngineScaleResult {
  when: string;
  command: string;
  baseline: Row;
  rows: TableRow[];
}
