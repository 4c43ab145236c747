/**
 * `verify` of a fleet's hollow CSI driver: its CSIDriver and StorageClass, the fleet's nodes whose
 * CSINode lists it, claims of its classes Pending for a while (with the reason their events give),
 * and claims of a hollow driver no fleet serves any more. A handful of lists read from the API
 * server's cache (`resourceVersion=0`), whatever the fleet's size, and events only of the few
 * claims it names.
 */
import { storageClassName } from "../engine/csi/csi-names.ts";
import type { FleetContext } from "./context.ts";
import type { FleetSpec } from "./spec.ts";
import { clusterWidePath } from "./storage-cleanup.ts";
import { isDefaultClass, isHollowDriver, type StorageClassItem } from "./storage-objects.ts";

/** A claim Pending this long (ms) is reported: the driver's default provisioning takes about a second. */
export const STUCK_CLAIM_MS = 120_000;
/** The annotation the scheduler puts on a WaitForFirstConsumer claim once its pod has a node. */
const SELECTED_NODE = "volume.kubernetes.io/selected-node";

/** A claim as verify reads it. */
export interface ClaimItem {
  metadata: {
    name: string;
    namespace?: string;
    creationTimestamp?: string;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: { storageClassName?: string | null };
  status?: { phase?: string };
}

/** A claim verify names, and why. */
export interface ClaimFinding {
  /** `namespace/name`. */
  readonly claim: string;
  readonly storageClass: string;
  readonly pendingSeconds: number;
  /** The reason (latest event), or the driver nobody serves. */
  reason: string;
}

/** How long after its Node's creation a node's driver may still be registering (not yet a problem). */
export const DRIVER_REGISTRATION_GRACE_MS = 60_000;

/** What verify found about the fleet's driver (undefined fields: the fleet has none). */
export interface StorageReport {
  readonly driver: string | undefined;
  readonly csiDriver: boolean;
  readonly storageClass: string | undefined;
  readonly isDefault: boolean;
  /** The fleet's registered nodes whose CSINode lists the driver. */
  readonly nodesWithDriver: number;
  /**
   * Nodes registered less than {@link DRIVER_REGISTRATION_GRACE_MS} ago whose CSINode does not list
   * it yet: a kubelet's driver registers after the node (the engine spreads it over the first 20 s).
   */
  readonly nodesRegistering: number;
  /** Older nodes whose CSINode does not list it (a problem). */
  readonly nodesMissing: number;
  /** Up to three of those. */
  readonly nodesWithout: string[];
  /** Claims of the driver's classes Pending for longer than {@link STUCK_CLAIM_MS}. */
  readonly stuckClaims: ClaimFinding[];
  /** Claims of a class whose hollow driver no fleet serves (no CSIDriver): a warning, any fleet's. */
  readonly orphanClaims: ClaimFinding[];
}

/**
 * The Pending claims worth naming: of a class of `driver` (once a WaitForFirstConsumer claim has
 * a node: before, it waits for its pod, as it should) for longer than {@link STUCK_CLAIM_MS}; and
 * of a class whose hollow driver has no CSIDriver, however young.
 */
export function judgeClaims(
  claims: readonly ClaimItem[],
  classes: readonly (StorageClassItem & { volumeBindingMode?: string })[],
  csiDrivers: ReadonlySet<string>,
  driver: string | undefined,
  nowMs: number,
): { stuck: ClaimFinding[]; orphans: ClaimFinding[] } {
  const byName = new Map(classes.map((c) => [c.metadata.name, c]));
  const stuck: ClaimFinding[] = [];
  const orphans: ClaimFinding[] = [];
  for (const c of claims) {
    if (c.status?.phase !== "Pending" || c.metadata.deletionTimestamp) continue;
    const className = c.spec?.storageClassName ?? "";
    const cls = byName.get(className);
    if (!cls || !isHollowDriver(cls.provisioner)) continue;
    const created = Date.parse(c.metadata.creationTimestamp ?? "");
    const pendingSeconds = Number.isFinite(created) ? Math.max(0, Math.round((nowMs - created) / 1000)) : 0;
    const finding = {
      claim: `${c.metadata.namespace ?? ""}/${c.metadata.name}`,
      storageClass: className,
      pendingSeconds,
      reason: "",
    };
    if (!csiDrivers.has(cls.provisioner ?? "")) {
      orphans.push({
        ...finding,
        reason: `no fleet serves its driver ${cls.provisioner ?? ""} (no CSIDriver)`,
      });
      continue;
    }
    if (cls.provisioner !== driver || pendingSeconds * 1000 < STUCK_CLAIM_MS) continue;
    const waitsForPod =
      cls.volumeBindingMode === "WaitForFirstConsumer" && !c.metadata.annotations?.[SELECTED_NODE];
    if (!waitsForPod) stuck.push(finding);
  }
  return { stuck, orphans };
}

/** An event as verify reads it. */
interface EventItem {
  reason?: string;
  message?: string;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  metadata?: { creationTimestamp?: string };
}

/** The latest event's `reason: message`, or a plain statement when there is none. */
export function latestReason(events: readonly EventItem[]): string {
  const at = (e: EventItem): number =>
    Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? "") || 0;
  const last = [...events].sort((a, b) => at(a) - at(b)).at(-1);
  return last ? `${last.reason ?? "event"}: ${last.message ?? ""}`.trim() : "no events on the claim";
}

/** Reads what {@link StorageReport} says about the fleet in the target cluster. */
export async function verifyStorage(
  s: FleetContext,
  spec: Pick<FleetSpec, "fleet" | "storage">,
  fleetNodes: readonly { name: string; created: string }[],
): Promise<StorageReport> {
  const client = s.target.client;
  const cached = { resourceVersion: "0" };
  const list = async <T>(kind: string): Promise<T[]> =>
    (await client.get<{ items?: T[] }>(clusterWidePath(kind), cached)).items ?? [];
  const driver = spec.storage?.driver;
  const classes = await list<StorageClassItem & { volumeBindingMode?: string }>("StorageClass");
  const csiDrivers = new Set(
    (await list<{ metadata: { name: string } }>("CSIDriver")).map((d) => d.metadata.name),
  );
  const claims = await list<ClaimItem>("PersistentVolumeClaim");
  const { stuck, orphans } = judgeClaims(claims, classes, csiDrivers, driver, s.deps.clock.now());
  for (const f of [...stuck.slice(0, 3), ...orphans.slice(0, 3)]) {
    const [ns, name] = f.claim.split("/") as [string, string];
    const events = await client.get<{ items?: EventItem[] }>(`/api/v1/namespaces/${ns}/events`, {
      fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${name}`,
    });
    const reason = latestReason(events.items ?? []);
    f.reason = stuck.includes(f) ? reason : `${f.reason}; ${reason}`;
  }
  let nodesWithDriver = 0;
  let nodesRegistering = 0;
  let nodesMissing = 0;
  const nodesWithout: string[] = [];
  const now = s.deps.clock.now();
  if (driver) {
    const listed = new Set(
      (await list<{ metadata: { name: string }; spec?: { drivers?: { name: string }[] | null } }>("CSINode"))
        .filter((n) => n.spec?.drivers?.some((d) => d.name === driver))
        .map((n) => n.metadata.name),
    );
    for (const n of fleetNodes) {
      if (listed.has(n.name)) nodesWithDriver++;
      else if (now - Date.parse(n.created) < DRIVER_REGISTRATION_GRACE_MS) nodesRegistering++;
      else {
        nodesMissing++;
        if (nodesWithout.length < 3) nodesWithout.push(n.name);
      }
    }
  }
  const ownClass = driver
    ? classes.find((c) => c.metadata.name === storageClassName(spec.fleet) && c.provisioner === driver)
    : undefined;
  return {
    driver,
    csiDriver: driver !== undefined && csiDrivers.has(driver),
    storageClass: ownClass?.metadata.name,
    isDefault: ownClass !== undefined && isDefaultClass(ownClass),
    nodesWithDriver,
    nodesRegistering,
    nodesMissing,
    nodesWithout,
    stuckClaims: stuck,
    orphanClaims: orphans,
  };
}

/** The problems (and their fixes) verify reports about the fleet's driver. */
export function storageProblems(
  r: StorageReport,
  registered: number,
  recreate: string,
  logs: string,
): { problems: string[]; fixes: string[] } {
  const problems: string[] = [];
  if (!r.driver) return { problems, fixes: [] };
  if (!r.csiDriver) problems.push(`CSIDriver ${r.driver} is missing`);
  if (!r.storageClass) problems.push(`the fleet's StorageClass of driver ${r.driver} is missing`);
  const fixes = problems.length > 0 ? [`'${recreate}' makes the driver's objects again`] : [];
  if (r.nodesMissing > 0) {
    problems.push(
      `${r.nodesMissing} of ${registered} nodes' CSINodes do not list ${r.driver} (${r.nodesWithout.join(", ")})`,
    );
    fixes.push(`'${logs}' shows why the nodes did not register it`);
  }
  if (r.stuckClaims.length > 0) {
    const [ns, name] = r.stuckClaims[0]!.claim.split("/");
    fixes.push(`'kubectl describe pvc -n ${ns} ${name}' shows the claim's events`);
    problems.push(
      `${r.stuckClaims.length} claims of ${r.driver} Pending for over ${STUCK_CLAIM_MS / 60_000} minutes: ${r.stuckClaims
        .slice(0, 3)
        .map((c) => `${c.claim} (${c.pendingSeconds}s: ${c.reason})`)
        .join("; ")}`,
    );
  }
  return { problems, fixes };
}

/** The warnings about claims whose hollow driver no fleet serves. */
export function orphanWarnings(r: StorageReport): string[] {
  return r.orphanClaims
    .slice(0, 3)
    .map(
      (c) =>
        `claim ${c.claim} of StorageClass ${c.storageClass} stays Pending: ${c.reason}; create that fleet again, or give the claim a class another driver serves`,
    )
    .concat(r.orphanClaims.length > 3 ? [`and ${r.orphanClaims.length - 3} more such claims`] : []);
}
