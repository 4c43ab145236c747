/** The spec `create`/`scale` ask for, and what the version skew policy says about it. */
import { csiDriverName } from "../../engine/csi/csi-names.ts";
import { BadInputError, KubemarkError } from "../../kernel/errors.ts";
import type { FleetProfile } from "../fleet-profile.ts";
import { defaultMode } from "../runtime/placement.ts";
import type { Session } from "../session.ts";
import {
  DEFAULT_NODES_PER_SHARD,
  DEFAULT_NODE_IMAGE,
  WORKLOAD_NAME,
  type FleetEngine,
  type FleetMode,
  type FleetSpec,
  type FleetStorage,
} from "../spec.ts";
import { MAX_KUBELET_MINORS_BEHIND, kubeletSkew } from "../version-skew.ts";

/** What the user asked for (undefined: keep the fleet's setting, else the default). */
export interface SpecRequest {
  readonly nodes: number;
  /** undefined: local against the project's own control plane, in-cluster otherwise. */
  readonly mode?: FleetMode | undefined;
  readonly nodesPerShard?: number | undefined;
  readonly kubeletVersion?: string | undefined;
  readonly engine?: FleetEngine | undefined;
  /** An image that carries the engine (the Dockerfile's), or upstream kubemark's. */
  readonly image?: string | undefined;
  /** A stock Node.js 24 image (a mirror of the default) to run the ConfigMap-shipped engine on. */
  readonly nodeImage?: string | undefined;
  readonly namePrefix?: string | undefined;
  readonly traffic?: "kubelet" | "minimal" | undefined;
  readonly proxy?: boolean | undefined;
  /** The hollow CSI driver (`--storage` / `--no-storage`); undefined: the fleet's, on for a new one. */
  readonly storage?: boolean | undefined;
  /** The driver's attach step (false with `--no-attach`); undefined: the fleet's, else on. */
  readonly attach?: boolean | undefined;
  /** The fleet profile (`--profile`, read and checked); undefined: the fleet's, else none. */
  readonly profile?: FleetProfile | undefined;
}

/** Builds the spec `create` asks for, over the existing fleet's settings. */
export function desiredSpec(s: Session, opts: SpecRequest, existing: FleetSpec | undefined): FleetSpec {
  const mode: FleetMode = opts.mode ?? existing?.mode ?? defaultMode(s.hosting);
  if (existing && opts.mode && opts.mode !== existing.mode) {
    throw new KubemarkError(
      "CONFLICT",
      `the fleet in namespace ${s.namespace} runs ${existing.mode}; it cannot be switched to ${opts.mode}`,
      {
        hint: `run '${s.suggest("cleanup")}' first, or use another -n/--namespace`,
      },
    );
  }
  const engine = opts.engine ?? existing?.engine ?? "hollow-node";
  if (existing && opts.engine && opts.engine !== existing.engine) {
    throw new KubemarkError(
      "CONFLICT",
      `the fleet in namespace ${s.namespace} runs ${existing.engine}, not ${opts.engine}`,
      {
        hint: `run '${s.suggest("cleanup")}' first, or use another -n/--namespace`,
      },
    );
  }
  if (engine === "kubemark") {
    if (opts.profile)
      throw new BadInputError(
        "--profile is for the hollow-node engine: upstream kubemark's kubelet takes no fleet profile",
        "leave it out, or use --engine hollow-node",
      );
    if (!s.runtime(mode).supports(engine)) {
      throw new KubemarkError("BAD_INPUT", "--engine kubemark runs in a cluster only (one pod per node)", {
        hint: "add --in-cluster and --image with a kubemark image",
      });
    }
    if (!(opts.image ?? existing?.image)) {
      throw new KubemarkError(
        "BAD_INPUT",
        "--engine kubemark needs --image (a kubemark image for your Kubernetes version)",
        {
          hint: "e.g. --image registry.example.com/kubemark:v1.36.3 (build it with the kubemark Dockerfile of kubernetes/kubernetes)",
        },
      );
    }
  }
  const targetMinor = /^v\d+\.\d+\.\d+/.exec(s.target.version)?.[0];
  return {
    namespace: s.namespace,
    fleet: s.fleet,
    nodes: opts.nodes,
    nodesPerShard:
      engine === "kubemark"
        ? 1
        : (opts.nodesPerShard ?? existing?.nodesPerShard ?? DEFAULT_NODES_PER_SHARD[mode]),
    namePrefix: existing?.namePrefix ?? opts.namePrefix ?? WORKLOAD_NAME,
    kubeletVersion:
      opts.kubeletVersion ?? existing?.kubeletVersion ?? (engine === "kubemark" ? targetMinor : undefined),
    mode,
    engine,
    image:
      opts.image ?? opts.nodeImage ?? existing?.image ?? (engine === "hollow-node" ? DEFAULT_NODE_IMAGE : ""),
    prebuiltEngine:
      engine === "hollow-node" &&
      (opts.image !== undefined || (opts.nodeImage === undefined && existing?.prebuiltEngine === true)),
    twoCluster: s.twoCluster,
    targetServer: s.target.access.server,
    traffic: opts.traffic ?? existing?.traffic ?? "kubelet",
    proxy: opts.proxy ?? existing?.proxy ?? true,
    storage: desiredStorage(s, opts, existing, engine),
    ...(engine === "hollow-node" && (opts.profile ?? existing?.profile)
      ? { profile: opts.profile ?? existing?.profile }
      : {}),
  };
}

/**
 * The fleet's hollow CSI driver: on for a new hollow-node fleet unless `--no-storage`, as
 * recorded for an existing one (a spec recorded before storage existed has none), never for
 * upstream kubemark. A recorded driver is neither switched off nor changed (its CSIDriver's
 * attachRequired is immutable): that needs a cleanup first.
 */
export function desiredStorage(
  s: Pick<Session, "fleet" | "namespace" | "suggest">,
  opts: Pick<SpecRequest, "storage" | "attach">,
  existing: FleetSpec | undefined,
  engine: FleetEngine,
): FleetStorage | undefined {
  if (opts.storage === false && opts.attach === false)
    throw new BadInputError(
      "--no-attach sets the hollow CSI driver's attach step, which --no-storage leaves out",
      "give one of them",
    );
  if (engine === "kubemark") {
    if (opts.storage === true || opts.attach === false)
      throw new BadInputError(
        `${opts.storage === true ? "--storage" : "--no-attach"} is for the hollow-node engine: upstream kubemark's kubelet has no hollow CSI driver`,
        "leave it out, or use --engine hollow-node",
      );
    return undefined;
  }
  const recorded = existing?.storage;
  const wanted = opts.storage ?? (existing ? recorded !== undefined : true);
  const cleanupFirst = `run '${s.suggest("cleanup")}' first (it removes the driver's volumes), or use another -n/--namespace`;
  if (!wanted) {
    if (recorded)
      throw new KubemarkError(
        "CONFLICT",
        `the fleet in namespace ${s.namespace} has the hollow CSI driver ${recorded.driver}; it cannot be switched off`,
        { hint: cleanupFirst },
      );
    return undefined;
  }
  const attachRequired = opts.attach ?? recorded?.attachRequired ?? true;
  if (recorded && recorded.attachRequired !== attachRequired)
    throw new KubemarkError(
      "CONFLICT",
      `the fleet's CSI driver ${recorded.driver} has attachRequired ${recorded.attachRequired}; a CSIDriver's attachRequired cannot change`,
      { hint: cleanupFirst },
    );
  return { driver: recorded?.driver ?? csiDriverName(s.fleet), attachRequired };
}

/**
 * Applies the version skew policy to the kubelets a fleet would start: newer than the target's API
 * server is refused unless forced; more than three minor versions older is a warning. Returns the
 * warnings.
 */
export function versionSkewWarnings(
  s: Pick<Session, "target">,
  spec: Pick<FleetSpec, "kubeletVersion">,
  force: boolean,
): string[] {
  if (!spec.kubeletVersion) return [];
  const kubelet = spec.kubeletVersion;
  const server = s.target.version;
  const skew = kubeletSkew(kubelet, server);
  const apiMinor = /^v?\d+\.\d+/.exec(server)?.[0] ?? server;
  if (skew.kind === "newer") {
    const what = `kubelet version ${kubelet} is newer than the API server's ${server} at ${s.target.access.server}`;
    if (force)
      return [`${what}; starting them anyway (--force), although the version skew policy forbids it`];
    throw new KubemarkError(
      "BAD_INPUT",
      `${what}: the Kubernetes version skew policy forbids kubelets newer than kube-apiserver`,
      {
        hint: `simulate a kubelet of ${apiMinor} or up to ${MAX_KUBELET_MINORS_BEHIND} minor versions older (e.g. 'create --kubelet-version ${server}', or KUBEMARK_VERSION=${server}), or pass --force to start them anyway`,
      },
    );
  }
  if (skew.kind === "too-old") {
    return [
      `kubelet version ${kubelet} is ${Number.isFinite(skew.minorsBehind) ? `${skew.minorsBehind} minor versions` : "a major version"} older than the API server's ${server}; the version skew policy supports kubelets up to ${MAX_KUBELET_MINORS_BEHIND} minor versions older`,
    ];
  }
  return [];
}
