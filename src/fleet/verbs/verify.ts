/** `verify`: desired vs registered vs Ready nodes, Lease freshness and the workload's health. */
import { KubeApiError } from "../../client/api-error.ts";
import { KubemarkError } from "../../kernel/errors.ts";
import { listCsrs } from "../bootstrap.ts";
import {
  certificateProblems,
  issuedCertificates,
  judgeCertificates,
  storedCertificates,
  type CertificateReport,
} from "../node-certs.ts";
import { recordedIdentity } from "../node-identity.ts";
import { leaseIsStale } from "../../kernel/k8s.ts";
import { nodeCensus, nodeLeases, type LeaseItem, type NodeCensus } from "../census.ts";
import { FLEET_MODES, type FleetRuntime, type WorkloadHealth } from "../runtime/runtime.ts";
import { readFleet, type Session } from "../session.ts";
import { orphanWarnings, storageProblems, verifyStorage, type StorageReport } from "../storage-verify.ts";
import type { FleetMode, FleetSpec } from "../spec.ts";

/** What `verify` found. */
export interface VerifyReport {
  readonly healthy: boolean;
  readonly fleet: string;
  readonly namespace: string;
  readonly mode: FleetMode;
  readonly desired: number;
  readonly registered: number;
  readonly ready: number;
  readonly notReady: string[];
  readonly unbacked: string[];
  readonly staleLeases: string[];
  readonly missingLeases: string[];
  readonly workload: WorkloadHealth;
  /** The fleet's hollow CSI driver (`driver` undefined: it has none). */
  readonly storage: StorageReport;
  readonly problems: string[];
  /** Commands that fix the problems, with the flags the user gave. */
  readonly fixes: string[];
  /** What the user should know that is not the fleet's problem (claims of a driver no fleet serves). */
  readonly warnings: string[];
  /** `--identity node`: the nodes' client certificates (node-certs.ts); undefined for a shared identity. */
  readonly certificates?: CertificateReport | undefined;
}

/** The fleet's backed Nodes whose Lease is missing (never renewed) or older than its duration at `nowMs`. */
export function leaseFreshness(
  census: Pick<NodeCensus, "nodes" | "extra">,
  leases: readonly LeaseItem[],
  nowMs: number,
): { stale: string[]; missing: string[] } {
  const byName = new Map(leases.map((l) => [l.metadata.name, l]));
  const stale: string[] = [];
  const missing: string[] = [];
  for (const n of census.nodes) {
    if (census.extra.includes(n.name)) continue;
    const l = byName.get(n.name);
    if (!l?.spec?.renewTime) missing.push(n.name);
    else if (leaseIsStale(l, nowMs)) stale.push(n.name);
  }
  return { stale, missing };
}

/** `verify`: desired vs registered vs Ready nodes, lease freshness and the workload's health. */
export async function verifyFleet(s: Session): Promise<VerifyReport> {
  const spec = await readFleet(s);
  if (!spec) {
    for (const mode of FLEET_MODES) {
      const stray = await s.runtime(mode).strays();
      if (!stray) continue;
      throw new KubemarkError(
        "NOT_FOUND",
        `no hollow-node fleet in namespace ${s.namespace} of ${s.hosting.access.server}, yet ${stray.description}`,
        {
          hint: `stop them with '${s.suggest("cleanup")}', or replace them with '${s.suggest(`create ${stray.nodes}`)}'`,
        },
      );
    }
    throw new KubemarkError(
      "NOT_FOUND",
      `no hollow-node fleet in namespace ${s.namespace} of ${s.hosting.access.server}`,
      {
        hint: `create one with '${s.suggest("create")}', or pass the -n/--namespace it was created in`,
      },
    );
  }
  const runtime = s.runtime(spec.mode);
  const census = await nodeCensus(s, spec);
  const leases = leaseFreshness(census, await nodeLeases(s), s.deps.clock.now());
  const workload = await runtime.health(spec);
  const { problems, fixes } = judgeFleet(s, runtime, spec, census, leases, workload);
  const storage = await verifyStorage(
    s,
    spec,
    census.nodes.filter((n) => !census.extra.includes(n.name)),
  );
  const st = storageProblems(
    storage,
    census.registered,
    s.suggest(`create ${spec.nodes}`),
    s.suggest("logs"),
  );
  problems.push(...st.problems);
  fixes.unshift(...st.fixes);
  const certificates =
    recordedIdentity(spec) === "node"
      ? await verifyCertificates(
          s,
          runtime,
          spec,
          census.nodes.filter((n) => !census.extra.includes(n.name)).map((n) => n.name),
        )
      : undefined;
  if (certificates) {
    const cp = certificateProblems(certificates);
    problems.push(...cp);
    if (cp.length > 0) fixes.push(`see why the engine did not renew them: '${s.suggest("logs")}'`);
  }
  return {
    healthy: problems.length === 0,
    fleet: s.fleet,
    namespace: s.namespace,
    mode: spec.mode,
    desired: spec.nodes,
    registered: census.registered,
    ready: census.ready,
    notReady: census.notReady,
    unbacked: census.extra,
    staleLeases: leases.stale,
    missingLeases: leases.missing,
    workload,
    storage,
    problems,
    fixes,
    warnings: orphanWarnings(storage),
    certificates,
  };
}

/**
 * The nodes' client certificates (`--identity node`): the fleet's issued CSRs, and for a local
 * fleet its `--cert-dir` too, which is complete (a CSR is removed an hour after issue).
 */
async function verifyCertificates(
  s: Session,
  runtime: FleetRuntime,
  spec: FleetSpec,
  nodes: readonly string[],
): Promise<CertificateReport> {
  const csrs = await listCsrs(s.target.client).catch((err: unknown) => {
    if (err instanceof KubeApiError && err.status === 403) return [];
    throw err;
  });
  const found = issuedCertificates(csrs);
  const dir = runtime.certDir();
  const local = spec.mode === "local" && dir !== undefined;
  if (local)
    for (const [node, notAfter] of await storedCertificates(dir))
      if (!(notAfter <= (found.get(node) ?? -Infinity))) found.set(node, notAfter);
  return judgeCertificates(nodes, found, s.deps.clock.now(), local);
}

/** The problems verify reports, each with at most three names, and the commands that fix them. */
function judgeFleet(
  s: Pick<Session, "suggest">,
  runtime: Pick<FleetRuntime, "units" | "restartHint">,
  spec: FleetSpec,
  census: NodeCensus,
  leases: { stale: string[]; missing: string[] },
  workload: WorkloadHealth,
): { problems: string[]; fixes: string[] } {
  const problems: string[] = [];
  if (census.registered < spec.nodes)
    problems.push(`${spec.nodes - census.registered} of ${spec.nodes} nodes not registered`);
  if (census.notReady.length > 0)
    problems.push(
      `${census.notReady.length} nodes NotReady (${census.notReady.slice(0, 3).join(", ")}${census.notReady.length > 3 ? ", ..." : ""})`,
    );
  if (census.extra.length > 0)
    problems.push(
      `${census.extra.length} fleet Nodes past the desired count (${census.extra.slice(0, 3).join(", ")})`,
    );
  if (leases.stale.length > 0)
    problems.push(
      `${leases.stale.length} Leases not renewed within their duration (${leases.stale.slice(0, 3).join(", ")})`,
    );
  if (leases.missing.length > 0)
    problems.push(
      `${leases.missing.length} nodes without a Lease (${leases.missing.slice(0, 3).join(", ")})`,
    );
  const fixes: string[] = [];
  if (workload.running < workload.desired) {
    problems.push(
      `${workload.desired - workload.running} of ${workload.desired} ${runtime.units} not running: ${workload.down.slice(0, 3).join("; ")}${workload.down.length > 3 ? `; and ${workload.down.length - 3} more` : ""}`,
    );
    fixes.push(runtime.restartHint(spec));
  }
  if (problems.length > 0 && fixes.length === 0)
    fixes.push(`see '${s.suggest("list -o wide")}' and '${s.suggest("logs")}'`);
  return { problems, fixes };
}
