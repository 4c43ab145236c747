/**
 * Fidelity from the API server's audit log: requests counted by system, user agent, verb and
 * resource in each phase of the 10-node run, and scaled per node or per pod.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { FidelityRow, IdentityRow, SystemName } from "./types.ts";

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
  responseStatus?: { code?: number };
}

const BY_PREFIX: Readonly<Record<string, SystemName>> = { hn: "hollow-node", km: "kubemark", kw: "kwok" };

/**
 * The system a request belongs to by the identity it used: the system's own client certificate
 * (`bench-<system>`), or, with `--identity node`, one of its nodes' (`system:node:b-hn-...`,
 * named as launchers.ts prefixOf names them); undefined for anyone else.
 */
export function systemOfUser(username: string): SystemName | undefined {
  const own = /^bench-(hollow-node|kubemark|kwok)$/.exec(username)?.[1];
  if (own) return own as SystemName;
  const node = /^system:node:b-(hn|km|kw)-\d+-/.exec(username)?.[1];
  return node ? BY_PREFIX[node] : undefined;
}

/** Parses one audit log line; undefined for a line that is not JSON. */
function parseLine(line: string): AuditEvent | undefined {
  if (!line) return undefined;
  try {
    return JSON.parse(line) as AuditEvent;
  } catch {
    return undefined;
  }
}

/** Which phase (0 registration, 1 idle, 2 pods) a request received at `at` belongs to, or -1 for none. */
function phaseOf(at: number, ph: Phases): -1 | 0 | 1 | 2 {
  return at < ph.start ? -1 : at < ph.idleStart ? 0 : at < ph.idleEnd ? 1 : at <= ph.podsEnd ? 2 : -1;
}

/**
 * Counts audit events (JSON lines) by (system, user agent, verb, resource) in each phase; a
 * request belongs to a system by the identity it used ({@link systemOfUser}), so systems running at
 * once stay apart. Each request counts once, however many stages the log records of it (one
 * auditID); lines that are not JSON, and requests of other identities, are skipped.
 */
export async function auditRowsFromLines(
  lines: AsyncIterable<string> | Iterable<string>,
  ph: Phases,
): Promise<FidelityRow[]> {
  const counts = new Map<string, [Set<string>, Set<string>, Set<string>]>();
  for await (const line of lines) {
    const e = parseLine(line);
    if (!e) continue;
    const phase = phaseOf(Date.parse(e.requestReceivedTimestamp), ph);
    if (phase < 0) continue;
    const system = systemOfUser(e.user?.username ?? "");
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

/**
 * Who each system's requests in the run (registration to the end of the pods) were made as: its
 * distinct `system:node:<name>` users, its kubelet requests (user agent without "proxy") and how
 * many of them a node user made; and the CertificateSigningRequests bootstrap users
 * (`system:bootstrap:<id>`) created, which are hollow-node's (kubemark has no TLS bootstrap: the
 * comparison hands its kubelets their certificates). Each request counts once (one auditID).
 */
export async function identityRowsFromLines(
  lines: AsyncIterable<string> | Iterable<string>,
  ph: Pick<Phases, "start" | "podsEnd">,
  systems: readonly SystemName[],
): Promise<IdentityRow[]> {
  const users = new Map<SystemName, Set<string>>(systems.map((s) => [s, new Set()]));
  const kubelet = new Map<SystemName, Set<string>>(systems.map((s) => [s, new Set()]));
  const asNode = new Map<SystemName, Set<string>>(systems.map((s) => [s, new Set()]));
  const csrs = new Set<string>();
  for await (const line of lines) {
    const e = parseLine(line);
    if (!e) continue;
    const at = Date.parse(e.requestReceivedTimestamp);
    if (at < ph.start || at > ph.podsEnd) continue;
    const username = e.user?.username ?? "";
    if (
      username.startsWith("system:bootstrap:") &&
      e.verb === "create" &&
      e.objectRef?.resource === "certificatesigningrequests" &&
      e.responseStatus?.code === 201
    ) {
      csrs.add(e.auditID);
      continue;
    }
    const system = systemOfUser(username);
    if (!system || !users.has(system) || /proxy/.test(e.userAgent ?? "")) continue;
    kubelet.get(system)!.add(e.auditID);
    if (username.startsWith("system:node:")) {
      users.get(system)!.add(username);
      asNode.get(system)!.add(e.auditID);
    }
  }
  return systems.map((system) => ({
    system,
    nodeUsers: users.get(system)!.size,
    kubeletRequests: kubelet.get(system)!.size,
    kubeletRequestsAsNode: asNode.get(system)!.size,
    csrsCreated: system === "hollow-node" ? csrs.size : 0,
  }));
}

/** {@link identityRowsFromLines} of an audit log file. */
export async function identityRows(
  auditLog: string,
  ph: Pick<Phases, "start" | "podsEnd">,
  systems: readonly SystemName[],
): Promise<IdentityRow[]> {
  return identityRowsFromLines(createInterface({ input: createReadStream(auditLog) }), ph, systems);
}
