/**
 * Why a fleet's nodes are not coming up, from the workload's side: pure functions of what the
 * runtime found (pods, processes), so each message is tested without a cluster.
 */

/** A workload pod (in-cluster fleets), as far as the diagnosis reads it. */
export interface PodItem {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    containerStatuses?: Array<{
      ready?: boolean;
      restartCount?: number;
      state?: {
        waiting?: { reason?: string; message?: string };
        terminated?: { reason?: string; exitCode?: number };
        running?: { startedAt?: string };
      };
    }>;
  };
}

/** One line on what a pod is doing (for stalls and `list`). */
export function podState(p: PodItem): string {
  if (p.metadata.deletionTimestamp) return "Terminating";
  const c = p.status?.containerStatuses?.[0];
  const waiting = c?.state?.waiting;
  if (waiting?.reason) return waiting.reason;
  const term = c?.state?.terminated;
  if (term) return `${term.reason ?? "Terminated"} (exit ${term.exitCode ?? "?"})`;
  if (p.status?.phase === "Pending") {
    const sched = p.status.conditions?.find((x) => x.type === "PodScheduled" && x.status === "False");
    if (sched) return `Pending: ${sched.reason ?? ""} ${sched.message ?? ""}`.trim();
  }
  return p.status?.phase ?? "Unknown";
}

/** What is wrong with an in-cluster fleet's pods (undefined when all run). */
export function diagnosePods(pods: readonly PodItem[]): string | undefined {
  const bad = pods.filter((p) => podState(p) !== "Running");
  if (bad.length === 0) return pods.length === 0 ? "the StatefulSet has no pods yet" : undefined;
  return `pods not running: ${bad
    .slice(0, 3)
    .map((p) => `${p.metadata.name} ${podState(p)}`)
    .join("; ")}${bad.length > 3 ? ` and ${bad.length - 3} more` : ""}`;
}

/** What a local fleet's runtime found on this machine. */
export interface LocalFindings {
  /** Whether any engine processes are recorded. */
  readonly recorded: boolean;
  /** How the cluster differs from the one its processes were started for (undefined: the same). */
  readonly moved: string | undefined;
  /** The target API server address. */
  readonly server: string;
  /** The first process that exited: its shard, pid, log file and the log's last lines. */
  readonly exited?: { shard: number; pid: number; log: string; tail: string } | undefined;
}

/** What is wrong with a local fleet's processes (undefined when all run for the right cluster). */
export function diagnoseLocal(f: LocalFindings): string | undefined {
  if (!f.recorded) return "no local engine processes are recorded";
  if (f.moved) return `its engine processes were started for another cluster at ${f.server} (${f.moved})`;
  if (!f.exited) return undefined;
  return `engine process ${f.exited.shard} (pid ${f.exited.pid}) exited; its log ${f.exited.log} ends with:\n${f.exited.tail}`;
}
