import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { BadInputError } from "../../kernel/errors.ts";
import { parseInteger } from "../parse.ts";
import {
  DEFAULT_SHAPE,
  type EngineConfig,
  type NodeShape,
  type TrafficProfile,
} from "../../engine/config.ts";
import {
  DEFAULT_POD_START_LATENCY,
  NO_POD_START_LATENCY,
  parseLatencyRange,
  type PodStartLatency,
} from "../../engine/container-run.ts";
import type { CsiConfig } from "../../engine/csi/csi-names.ts";
import { parseProfile } from "../../engine/fleet-profile.ts";
import { parseCidr } from "../../engine/ip-pool.ts";
import { parseNodeIp } from "../../engine/node-ip.ts";
import { shardRange } from "../../engine/shard.ts";
import { parseLabels, parseQuantity, parseResourceList, parseTaints } from "../../engine/quantity.ts";
import { parseUsageDefaults } from "../../engine/usage/usage-defaults.ts";

/** The hollow-node flags as commander hands them over (strings until validated here). */
export interface HollowNodeFlags {
  kubeconfig?: string;
  context?: string;
  nodes: string;
  namePrefix: string;
  names?: string;
  firstIndex: string;
  /** This process's shard of a fleet: a number or a StatefulSet pod name ending in `-<ordinal>`. */
  shard?: string;
  /** With `shard`: nodes in the whole fleet (the last shard runs the remainder). */
  totalNodes?: string;
  fleet: string;
  nodeLabels: string;
  cpu: string;
  memory: string;
  maxPods: string;
  ephemeralStorage: string;
  extendedResources?: string;
  registerWithTaints?: string;
  profile?: string;
  kubeletVersion?: string;
  traffic: string;
  proxy: boolean;
  /** False with `--no-events`. */
  events?: boolean;
  leaseDuration: string;
  nodeStatusUpdateFrequency: string;
  nodeStatusReportFrequency: string;
  jobRunSeconds: string;
  /** `--pod-sandbox-latency`: `300ms`, a range `250ms-350ms`, or `0` (pods start at once). */
  podSandboxLatency?: string;
  /** `--usage-defaults`: every node's usage model, `cpu=20%,memory=60%,...` (a profile's `usage:` wins). */
  usageDefaults?: string;
  nodeIpPool: string;
  /** The kubelet's `--node-ip`: every node's InternalIP (unset: one per node from the pool). */
  nodeIp?: string;
  podIpPool: string;
  maxInFlight: string;
  kubeApiQps: string;
  kubeApiContentType: string;
  kubeApiBurst: string;
  deleteNodesOnExit?: boolean;
  kubeletPort: string;
  logDir?: string;
  kubeletAddress: string;
  /** The kubelet's `--client-ca-file` (unset: the API server's client CA). */
  clientCaFile?: string;
  metricsPort: string;
  /** The hollow CSI driver's name ("" = none). */
  csiDriver: string;
  /** False with `--no-csi-attach-required`. */
  csiAttachRequired?: boolean;
  csiMaxVolumes: string;
  /** False with `--no-csi-controller`. */
  csiController?: boolean;
  csiLeaseNamespace: string;
}

/** Parses a Go-style duration (`10s`, `5m`, `500ms`, `1h`) or plain seconds into milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new BadInputError(`${flag} must be a duration like 10s, 5m or 500ms, got "${value}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const ms = unit === "ms" ? n : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n * 3_600_000;
  if (ms <= 0) throw new BadInputError(`${flag} must be longer than zero, got "${value}"`);
  return ms;
}

/** `--pod-sandbox-latency`: the start-up latency model (unset: the default fitted to kubemark). */
function parseStartLatency(value: string | undefined): PodStartLatency {
  if (value === undefined) return DEFAULT_POD_START_LATENCY;
  const range = parseLatencyRange(value);
  if (!range || range.maxMs > 600_000)
    throw new BadInputError(
      `--pod-sandbox-latency must be a duration like 300ms or a range like 250ms-350ms (0 = pods start at once), got "${value}"`,
    );
  if (range.maxMs === 0) return NO_POD_START_LATENCY;
  return { sandbox: range, containersMs: DEFAULT_POD_START_LATENCY.containersMs };
}

/** `--kube-api-content-type`: the kubelet flag's two values. */
function parseContentType(value: string): "protobuf" | "json" {
  if (value === "application/vnd.kubernetes.protobuf") return "protobuf";
  if (value === "application/json") return "json";
  throw new BadInputError(
    `--kube-api-content-type must be application/vnd.kubernetes.protobuf or application/json, got "${value}"`,
  );
}

const NODE_NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The ordinal of `--shard`: a number, or a StatefulSet pod's name ending in `-<ordinal>`. */
export function parseShard(value: string): number {
  const m = /^(?:.*-)?(\d{1,6})$/.exec(value.trim());
  if (!m) {
    throw new BadInputError(
      `--shard must be a number or a pod name ending in -<ordinal> (hollow-node-3), got "${value}"`,
    );
  }
  return Number(m[1]);
}

/** Node names from `--names` or `--name-prefix` + `--first-index` + `--nodes` (+ `--shard`). */
function nodeNames(flags: HollowNodeFlags, first: number): { names: string[]; first: number } {
  if (flags.names) {
    const names = flags.names
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const n of names) {
      if (!NODE_NAME_RE.test(n))
        throw new BadInputError(`--names: "${n}" is not a valid node name (lower-case DNS subdomain)`);
    }
    if (new Set(names).size !== names.length) throw new BadInputError("--names lists a name twice");
    return { names, first };
  }
  let count = parseInteger(flags.nodes, "--nodes", 1, 100_000);
  if (flags.shard !== undefined) {
    if (flags.totalNodes === undefined) throw new BadInputError("--shard needs --total-nodes");
    const total = parseInteger(flags.totalNodes, "--total-nodes", 0, 1_000_000);
    const r = shardRange(parseShard(flags.shard), count, total);
    first += r.first;
    count = r.count;
  } else if (flags.totalNodes !== undefined) {
    throw new BadInputError("--total-nodes is only used with --shard");
  }
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(flags.namePrefix)) {
    throw new BadInputError(
      `--name-prefix must be lower-case letters, digits, '-' or '.', got "${flags.namePrefix}"`,
    );
  }
  return { names: Array.from({ length: count }, (_, i) => `${flags.namePrefix}-${first + i}`), first };
}

/**
 * Builds the engine's config from flags (and the profile file), validating everything once.
 * `KUBEMARK_VERSION` supplies the kubelet version when `--kubelet-version` is not given.
 */
export async function configFromFlags(
  flags: HollowNodeFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<EngineConfig> {
  const traffic = flags.traffic as TrafficProfile;
  if (traffic !== "kubelet" && traffic !== "minimal") {
    throw new BadInputError(`--traffic must be kubelet or minimal, got "${flags.traffic}"`);
  }
  const kubeletVersion = flags.kubeletVersion ?? env["KUBEMARK_VERSION"];
  if (kubeletVersion !== undefined && !/^v\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(kubeletVersion)) {
    throw new BadInputError(
      `${flags.kubeletVersion !== undefined ? "--kubelet-version" : "KUBEMARK_VERSION"} must look like v1.36.3, got "${kubeletVersion}"`,
    );
  }
  const base: NodeShape = {
    ...DEFAULT_SHAPE,
    cpu: parseQuantity(flags.cpu, "--cpu"),
    memory: parseQuantity(flags.memory, "--memory"),
    maxPods: parseInteger(flags.maxPods, "--max-pods", 1, 10_000),
    ephemeralStorage: parseQuantity(flags.ephemeralStorage, "--ephemeral-storage"),
    extendedResources: flags.extendedResources
      ? parseResourceList(flags.extendedResources, "--extended-resources")
      : {},
    taints: flags.registerWithTaints ? parseTaints(flags.registerWithTaints, "--register-with-taints") : [],
  };
  const usage = parseUsageDefaults(flags.usageDefaults ?? "", "--usage-defaults");
  const jobRunMs = parseDuration(flags.jobRunSeconds, "--job-run-seconds");
  const podStartLatency = parseStartLatency(flags.podSandboxLatency);
  let shapes: NodeShape[] = [base];
  if (flags.profile) {
    let text: string;
    try {
      text = await readFile(flags.profile, "utf8");
    } catch (err) {
      throw new BadInputError(
        `cannot read --profile ${flags.profile} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    shapes = parseProfile(text, flags.profile, { shape: base, usage, pods: { jobRunMs, podStartLatency } });
  }
  const names = nodeNames(flags, parseInteger(flags.firstIndex, "--first-index", 0));
  const firstIndex = names.first;
  const leaseDurationSeconds = parseInteger(flags.leaseDuration, "--lease-duration", 4, 3600);
  parseCidr(flags.nodeIpPool, "--node-ip-pool");
  parseCidr(flags.podIpPool, "--pod-ip-pool");
  const kubeletAddress = flags.kubeletAddress.trim();
  // The nodes advertise this address and the API server dials it: a wildcard would not do.
  if (isIP(kubeletAddress) === 0 || /^(0\.0\.0\.0|[0:]*::[0:]*)$/.test(kubeletAddress)) {
    throw new BadInputError(
      `--kubelet-address must be an IP address the API server reaches this process at, e.g. 127.0.0.1, got "${flags.kubeletAddress}"`,
    );
  }
  const kubeletPort = parseInteger(flags.kubeletPort, "--kubelet-port", 0, 65535);
  if (kubeletPort > 0 && kubeletPort + names.names.length - 1 > 65535) {
    throw new BadInputError(
      `--kubelet-port ${kubeletPort} leaves no port for every node: node i listens on ${kubeletPort} + i, up to ${kubeletPort + names.names.length - 1} for ${names.names.length} nodes`,
      `give a base of at most ${65536 - names.names.length}`,
    );
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(flags.fleet)) {
    throw new BadInputError(
      `--fleet must be a DNS label (lower-case letters, digits, '-'), got "${flags.fleet}"`,
    );
  }
  return {
    nodeNames: names.names,
    firstIndex,
    shapes,
    nodeLabels: parseLabels(flags.nodeLabels, "--node-labels"),
    fleet: flags.fleet,
    kubeletVersion,
    traffic,
    proxy: flags.proxy,
    events: flags.events !== false,
    leaseDurationSeconds,
    statusUpdateMs: parseDuration(flags.nodeStatusUpdateFrequency, "--node-status-update-frequency"),
    statusReportMs: parseDuration(flags.nodeStatusReportFrequency, "--node-status-report-frequency"),
    jitter: 0.04,
    jobRunMs,
    podStartLatency,
    usage,
    nodeIpPool: flags.nodeIpPool,
    ...(flags.nodeIp !== undefined ? { nodeIp: parseNodeIp(flags.nodeIp) } : {}),
    podIpPool: flags.podIpPool,
    maxInFlight: parseInteger(flags.maxInFlight, "--max-in-flight", 1, 10_000),
    leaseContentType: parseContentType(flags.kubeApiContentType),
    nodeQps: parseInteger(flags.kubeApiQps, "--kube-api-qps", 0, 100_000),
    nodeBurst: parseInteger(flags.kubeApiBurst, "--kube-api-burst", 1, 100_000),
    deleteNodesOnExit: flags.deleteNodesOnExit === true,
    kubeletPort,
    ...(flags.logDir ? { logDir: flags.logDir } : {}),
    kubeletAddress,
    ...(flags.clientCaFile ? { clientCaFile: flags.clientCaFile } : {}),
    metricsPort: parseInteger(flags.metricsPort, "--metrics-port", 0, 65535),
    skipped: [],
    csi: csiConfig(flags),
  };
}

/** The hollow CSI driver from `--csi-*` (undefined with `--csi-driver ""`). */
function csiConfig(flags: HollowNodeFlags): CsiConfig | undefined {
  const driver = flags.csiDriver.trim();
  if (driver === "") return undefined;
  if (driver.length > 63 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(driver)) {
    throw new BadInputError(
      `--csi-driver must be a CSI driver name (a lower-case DNS subdomain of at most 63 characters), got "${flags.csiDriver}"`,
    );
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(flags.csiLeaseNamespace)) {
    throw new BadInputError(
      `--csi-lease-namespace must be a namespace name, got "${flags.csiLeaseNamespace}"`,
    );
  }
  return {
    driver,
    attachRequired: flags.csiAttachRequired !== false,
    maxVolumesPerNode: parseInteger(flags.csiMaxVolumes, "--csi-max-volumes", 1, 10_000),
    controller: flags.csiController !== false,
    leaseNamespace: flags.csiLeaseNamespace,
  };
}
