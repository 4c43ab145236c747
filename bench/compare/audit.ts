/**
 * Fidelity from the API server's audit log: requests counted by system, user agent, verb and
 * resource in each phase of the 10-node run, and scaled per node or per pod.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { FidelityRow, SystemName } from "./types.ts";

/** The time windows of a fidelity run (epoch milliseconds), and what they are divided by. */
export interface Phases {
  start: number;
  idleStart: number;
  idleEnd: number;
  podsEnd: number;
  /** Pods (and Job pods) each system ran in the pod window. */
  pods: Partial<Record<SystemName, number>>;
  nodes: number;
}

/** The fields of an audit event this analysis reads. */
interface AuditEvent {
  auditID: string;
  verb: string;
  userAgent?: string;
  user?: { username?: string };
  requestReceivedTimestamp: string;
  objectRef?: { resource?: string; subresource?: string };
}

/** Which phase (0 registration, 1 idle, 2 pods) a request received at `at` belongs to, or -1 for none. */
function phaseOf(at: number, ph: Phases): -1 | 0 | 1 | 2 {
  return at < ph.start ? -1 : at < ph.idleStart ? 0 : at < ph.idleEnd ? 1 : at <= ph.podsEnd ? 2 : -1;
}

/**
 * Counts audit events (JSON lines) by (system, user agent, verb, resource) in each phase; a
 * request belongs to a system by the identity it used (`bench-<system>`), so systems running at
 * once stay apart. Each request counts once, however many stages the log records of it (one
 * auditID); lines that are not JSON, and requests of other identities, are skipped.
 */
export async function auditRowsFromLines(
  lines: AsyncIterable<string> | Iterable<string>,
  ph: Phases,
): Promise<FidelityRow[]> {
  const counts = new Map<string, [Set<string>, Set<string>, Set<string>]>();
  for await (const line of lines) {
    if (!line) continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      continue;
    }
    const phase = phaseOf(Date.parse(e.requestReceivedTimestamp), ph);
    if (phase < 0) continue;
    const system = /^bench-(hollow-node|kubemark|kwok)$/.exec(e.user?.username ?? "")?.[1];
    const ua = (e.userAgent ?? "").split("/")[0] ?? "";
    if (!system || !ua || !e.objectRef?.resource) continue;
    const res = `${e.objectRef.resource}${e.objectRef.subresource ? `/${e.objectRef.subresource}` : ""}`;
    const key = `${system}\t${ua}\t${e.verb}\t${res}`;
    let c = counts.get(key);
    if (!c) counts.set(key, (c = [new Set(), new Set(), new Set()]));
    c[phase as 0 | 1 | 2].add(e.auditID);
  }
  const idleMinutes = (ph.idleEnd - ph.idleStart) / 60_000;
  return [...counts.entries()].map(([k, c]) => {
    const [system, userAgent, verb, resource] = k.split("\t") as [SystemName, string, string, string];
    const pods = ph.pods[system] ?? 0;
    return {
      system,
      userAgent,
      verb,
      resource,
      registrationPerNode: c[0].size / ph.nodes,
      idlePerNodeMinute: c[1].size / ph.nodes / idleMinutes,
      perPod: pods > 0 ? c[2].size / pods : 0,
    };
  });
}

/** {@link auditRowsFromLines} of an audit log file. */
export async function auditRows(auditLog: string, ph: Phases): Promise<FidelityRow[]> {
  return auditRowsFromLines(createInterface({ input: createReadStream(auditLog) }), ph);
}
