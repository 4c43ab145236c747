/** compare.md (also printed at the end): the cost, pod and fidelity tables, the ratios, and the scale-out summary. */
import { apiserverLines } from "./report-apiserver.ts";
import type { CompareResult, CostRow, SystemName } from "./types.ts";

/** A figure with `d` decimals, or "-" for none. */
export function fmt(x: number | null | undefined, d = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d);
}

/** a / b as "0.42x" (three decimals below 0.1), or "-" when either is missing or zero. */
export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (!a || !b) return "-";
  return `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}x`;
}

/**
 * Scale-out: the largest count one hollow-node process held with no missed lease, and whether
 * the engine or the control plane was the busier side at the largest size tried.
 */
export function scaleOutSummary(cost: readonly CostRow[]): string {
  const hn = cost.filter((r) => r.system === "hollow-node" && !r.note);
  const held = hn.filter((r) => r.missedLeases === 0).map((r) => r.nodes);
  const top = hn.at(-1);
  const engineCores = top ? (top.mCpuPerNode * top.nodes) / 1000 : 0;
  return top
    ? `One hollow-node process held up to ${Math.max(0, ...held)} nodes with no missed lease (largest tried: ${top.nodes}). At ${top.nodes} nodes the engine used ${engineCores.toFixed(2)} of its one core, the API server ${top.apiserverCpuCores.toFixed(2)} and etcd ${top.etcdCpuCores.toFixed(2)} of the machine's 2 cores: ${
        top.apiserverCpuCores + top.etcdCpuCores > engineCores
          ? "the control plane is the busier side and saturates first"
          : "the engine is the busier side"
      }.`
    : "hollow-node not run";
}

/** The Markdown report of a comparison. */
export function markdown(
  result: Pick<
    CompareResult,
    | "when"
    | "command"
    | "machine"
    | "cost"
    | "pods"
    | "fidelity"
    | "scaleOut"
    | "identity"
    | "controlPlanePerSystem"
  >,
): string {
  const lines: string[] = [];
  lines.push(`# hollow-node vs kubemark vs KWOK (${result.when})`, "");
  lines.push(`Command: \`${result.command}\`  `, `Machine: ${result.machine}`, "");
  lines.push("## Cost (idle nodes)", "");
  lines.push(
    "| system | nodes | Ready after s | RSS MB | KB/node | mCPU/node | CPU-s per node-minute | missed leases | API server cores | etcd cores |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of result.cost) {
    lines.push(
      `| ${r.system} | ${r.nodes} | ${fmt(r.readySeconds)} | ${fmt(r.rssMB, 0)} | ${fmt(r.rssPerNodeKB)} | ${fmt(r.mCpuPerNode, 3)} | ${fmt(r.cpuSecondsPerNodeMinute, 4)} | ${r.missedLeases} | ${fmt(r.apiserverCpuCores, 2)} | ${fmt(r.etcdCpuCores, 2)} |${r.note ? ` ${r.note}` : ""}`,
    );
  }
  lines.push("", "Ratios, hollow-node / other, same node count:", "");
  lines.push("| nodes | vs | RSS per node | CPU per node | time to Ready |");
  lines.push("|---|---|---|---|---|");
  for (const h of result.cost.filter((r) => r.system === "hollow-node" && !r.note)) {
    for (const o of result.cost.filter((r) => r.system !== "hollow-node" && r.nodes === h.nodes && !r.note)) {
      lines.push(
        `| ${h.nodes} | ${o.system} | ${ratio(h.rssPerNodeKB, o.rssPerNodeKB)} | ${ratio(h.mCpuPerNode, o.mCpuPerNode)} | ${ratio(h.readySeconds, o.readySeconds)} |`,
      );
    }
  }
  lines.push(...apiserverLines(result.cost, result.identity, result.controlPlanePerSystem === true));
  lines.push("", "## Pods", "");
  lines.push(
    "| system | nodes | pods | Running | bound->Running p50 s | p99 s | pods/s | distinct pod IPs | Job with init container |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|");
  for (const p of result.pods) {
    lines.push(
      `| ${p.system} | ${p.nodes} | ${p.pods} | ${p.running} | ${fmt(p.latencyP50Seconds, 2)} | ${fmt(p.latencyP99Seconds, 2)} | ${fmt(p.throughputPerSecond)} | ${p.distinctPodIPs} | ${p.jobWithInitCompleted ? "completed" : "never completed"} |`,
    );
  }
  lines.push(
    "",
    "## Fidelity: requests by verb and resource (10 nodes of each system at once, audit log, told apart by identity)",
    "",
    "Registration: per node, until all Ready. Idle: per node per minute. Pods: per pod created, run and deleted (a Job's pod included). Kubemark runs its kubelet only (its proxy crashes on this version); KWOK has no per-node clients.",
    "",
  );
  const keys = new Map<string, { verb: string; resource: string }>();
  for (const f of result.fidelity)
    keys.set(`${f.verb} ${f.resource}`, { verb: f.verb, resource: f.resource });
  const sum = (
    system: SystemName,
    verb: string,
    resource: string,
    field: "registrationPerNode" | "idlePerNodeMinute" | "perPod",
    ua?: RegExp,
  ): number =>
    result.fidelity
      .filter(
        (f) =>
          f.system === system && f.verb === verb && f.resource === resource && (!ua || ua.test(f.userAgent)),
      )
      .reduce((a, f) => a + f[field], 0);
  const phases = [
    ["registration", "registrationPerNode"],
    ["idle", "idlePerNodeMinute"],
    ["pods", "perPod"],
  ] as const;
  lines.push(
    "| phase | verb | resource | hollow-node kubelet | hollow-node proxy | kubemark kubelet | KWOK | hollow / kubemark |",
  );
  lines.push("|---|---|---|---|---|---|---|---|");
  for (const [phase, field] of phases) {
    for (const { verb, resource } of [...keys.values()].sort((a, b) =>
      (a.resource + a.verb).localeCompare(b.resource + b.verb),
    )) {
      const hk = sum("hollow-node", verb, resource, field, /kubelet/);
      const hp = sum("hollow-node", verb, resource, field, /proxy/);
      const km = sum("kubemark", verb, resource, field);
      const kw = sum("kwok", verb, resource, field);
      if (hk + hp + km + kw === 0) continue;
      lines.push(
        `| ${phase} | ${verb} | ${resource} | ${fmt(hk, 2)} | ${fmt(hp, 2)} | ${fmt(km, 2)} | ${fmt(kw, 2)} | ${ratio(hk, km)} |`,
      );
    }
  }
  lines.push("", "## Scale-out", "", result.scaleOut, "");
  return lines.join("\n");
}
