/*
 * The hollow CSI driver's names and settings: what the fleet's objects (CSIDriver, StorageClass),
 * the controller side (provisioner, attacher, resizer) and the node side (CSINode, volume
 * manager) must agree on. Pure.
 */
import { BadInputError } from "../../kernel/errors.ts";

/** The driver of the CLI's default fleet (namespace and fleet `kubemark`); other fleets' drivers are `<fleet>.` + this. */
export const DEFAULT_CSI_DRIVER = "hollow.csi.kubemark-cluster.io";
/** The fleet whose driver and StorageClass get the short names: the CLI's default. */
const SHORT_NAMED_FLEET = "kubemark";

/** What a fleet's hollow CSI driver is (engine config `csi`; undefined = no driver). */
export interface CsiConfig {
  /** The driver's name: CSIDriver, StorageClass provisioner, CSINode `drivers[].name`, PV `spec.csi.driver`. */
  readonly driver: string;
  /** The CSIDriver's `attachRequired`: pods wait until the volume's VolumeAttachment is attached. */
  readonly attachRequired: boolean;
  /** CSINode `drivers[].allocatable.count`: volumes of the driver the scheduler allows per node. */
  readonly maxVolumesPerNode: number;
  /** Whether this process stands for election as the fleet's controller (provisioner, attacher, resizer). */
  readonly controller: boolean;
  /** Namespace of the controller's leader-election Lease. */
  readonly leaseNamespace: string;
}

/** The fleet's driver name: `hollow.csi.kubemark-cluster.io` (fleet `kubemark`), or `<fleet>.hollow.csi.kubemark-cluster.io`. */
export function csiDriverName(fleet: string): string {
  const name = fleet === SHORT_NAMED_FLEET ? DEFAULT_CSI_DRIVER : `${fleet}.${DEFAULT_CSI_DRIVER}`;
  if (name.length > 63) {
    throw new BadInputError(
      `the fleet name "${fleet}" is too long for its CSI driver's name ${name} (at most 63 characters)`,
      "use a fleet name of at most 32 characters, or leave storage out (--no-storage)",
    );
  }
  return name;
}

/** The StorageClass the fleet makes for its driver: `hollow-csi` (fleet `kubemark`), or `hollow-csi-<fleet>`. */
export function storageClassName(fleet: string): string {
  return fleet === SHORT_NAMED_FLEET ? "hollow-csi" : `hollow-csi-${fleet}`;
}

/** The node label (and CSINode topology key) that places a volume of the driver on one node. */
export function topologyKey(driver: string): string {
  return `topology.${driver}/node`;
}

/** Name of the controller's leader-election Lease (the external-provisioner's style: the driver, dots as dashes). */
export function controllerLeaseName(driver: string): string {
  return `${driver.replaceAll(".", "-")}-controller`;
}

/** The name the kubelet and the attach/detach controller know a CSI volume by in node status. */
export function uniqueVolumeName(driver: string, volumeHandle: string): string {
  return `kubernetes.io/csi/${driver}^${volumeHandle}`;
}

/** A duration or a uniform range of durations (`500ms`, `2s`, `1s-3s`), in ms. */
export interface LatencyRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/** Modelled time of each operation of the driver (StorageClass parameters, or these defaults). */
export interface CsiLatencies {
  readonly provision: LatencyRange;
  readonly delete: LatencyRange;
  readonly attach: LatencyRange;
  readonly detach: LatencyRange;
  readonly mount: LatencyRange;
  readonly unmount: LatencyRange;
  readonly expand: LatencyRange;
}

/** A fast network-disk driver's times: provision and attach in about a second, mounts faster. */
export const DEFAULT_LATENCIES: CsiLatencies = {
  provision: { minMs: 500, maxMs: 1500 },
  delete: { minMs: 200, maxMs: 800 },
  attach: { minMs: 500, maxMs: 1500 },
  detach: { minMs: 500, maxMs: 1500 },
  mount: { minMs: 100, maxMs: 300 },
  unmount: { minMs: 50, maxMs: 150 },
  expand: { minMs: 500, maxMs: 1500 },
};

/** StorageClass parameter of each latency (also copied into the PV's volumeAttributes for the node side). */
export const LATENCY_PARAMETERS: Readonly<Record<keyof CsiLatencies, string>> = {
  provision: "provisionLatency",
  delete: "deleteLatency",
  attach: "attachLatency",
  detach: "detachLatency",
  mount: "mountLatency",
  unmount: "unmountLatency",
  expand: "expandLatency",
};

/** Parses `500ms`, `2s`, `1m`, `0` or a range `1s-3s`; undefined with the reason when it is not one. */
export function parseLatency(value: string): LatencyRange | { error: string } {
  const one = (s: string): number | undefined => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
    if (!m) return undefined;
    const n = Number(m[1]);
    return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  };
  const parts = value.split("-");
  if (parts.length > 2) return { error: `"${value}" is not a duration or a range like 1s-3s` };
  const lo = one(parts[0]!);
  const hi = parts.length === 2 ? one(parts[1]!) : lo;
  if (lo === undefined || hi === undefined)
    return { error: `"${value}" is not a duration or a range like 1s-3s` };
  if (hi < lo) return { error: `"${value}": the range's end is before its start` };
  if (hi > 3_600_000) return { error: `"${value}" is longer than an hour` };
  return { minMs: lo, maxMs: hi };
}

/** Parameters any CSI StorageClass may carry that the external-provisioner handles itself (prefix). */
const RESERVED_PREFIX = "csi.storage.k8s.io/";

/**
 * The latencies a StorageClass's (or a PV's volumeAttributes') parameters ask for, or the reason
 * they are invalid (an unknown parameter, a bad duration): the provisioner reports it on the PVC
 * as a CSI driver's InvalidArgument would.
 */
export function latenciesFrom(
  params: Readonly<Record<string, string>> | undefined,
  opts: { strict: boolean } = { strict: true },
): CsiLatencies | { error: string } {
  const out: Record<string, LatencyRange> = { ...DEFAULT_LATENCIES };
  const known = new Map(Object.entries(LATENCY_PARAMETERS).map(([k, p]) => [p, k]));
  for (const [key, value] of Object.entries(params ?? {})) {
    const which = known.get(key);
    if (!which) {
      if (!opts.strict || key.startsWith(RESERVED_PREFIX)) continue;
      return {
        error: `unknown parameter "${key}" (known: ${[...known.keys()].join(", ")}, and ${RESERVED_PREFIX}*)`,
      };
    }
    const r = parseLatency(value);
    if ("error" in r) return { error: `parameter ${key}: ${r.error}` };
    out[which] = r;
  }
  return out as unknown as CsiLatencies;
}

/** A time drawn from a range (uniform). */
export function drawLatency(r: LatencyRange, random: () => number): number {
  return r.minMs + (r.maxMs - r.minMs) * random();
}
