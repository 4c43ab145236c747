/**
 * What the control-plane operations (`up`, `down`, `status`) take from their caller and what they
 * report back: the dependencies, `up`'s options and events, and a cluster's state.
 */
import type { Clock } from "../kernel/clock.ts";
import type { Paths } from "../kernel/paths.ts";
import type { BinarySource } from "./binaries.ts";
import type { ClusterLayout, ClusterRecord, Component } from "./cluster-state.ts";
import type { BuildEvent } from "./go-build.ts";
import type { MetricsServerInfo } from "./metrics-server/process.ts";
import type { WorkerImages, WorkerInfo } from "./worker-records.ts";

/** Progress of `up`, for the CLI to draw. */
export type UpEvent =
  | { readonly kind: "build"; readonly build: BuildEvent }
  | { readonly kind: "step"; readonly message: string }
  | {
      readonly kind: "wait";
      readonly component: Component | "controllers" | "metrics-server";
      readonly status: string;
    };

/** What the control-plane operations need from their caller. */
export interface ControlPlaneDeps {
  readonly paths: Paths;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  readonly onEvent?: (e: UpEvent) => void;
  /** Aborting it stops `up` at the next step and undoes what it started. */
  readonly signal?: AbortSignal;
}

/** Options of `upCluster`. Defaults are documented per field. */
export interface UpOptions {
  /** Cluster name (default `kubemark`). */
  readonly name?: string | undefined;
  /** Kubernetes release (default v1.36.3). */
  readonly kubeVersion?: string | undefined;
  /** API server port; default 6443 when free, else any free port. */
  readonly port?: number | undefined;
  /** Directory with prebuilt binaries (flag `--bin-dir`, else `KUBEMARK_BIN_DIR`). */
  readonly binDir?: string | undefined;
  /** Write an audit log of every request (Metadata level) to logs/audit.log. */
  readonly audit?: boolean;
  /** Lift the API server's in-flight limits and priority-and-fairness for load tests. */
  readonly loadTest?: boolean;
  /** Deadline for the whole start, building excluded (default 120 s). */
  readonly timeoutMs?: number;
  /**
   * Run metrics-server (built from the Go module proxy) and register v1beta1.metrics.k8s.io; a
   * cluster that runs it keeps it on later `up`s without the flag.
   */
  readonly metricsServer?: boolean;
  /** Real worker nodes (kubelet + containerd) to run beside the control plane; default: as recorded, else 0. */
  readonly workers?: number | undefined;
}

/** A component's state as `status` reports it. */
export interface ComponentStatus {
  readonly component: Component;
  readonly pid: number | null;
  readonly port: number;
  readonly running: boolean;
  readonly healthy: boolean;
  readonly detail: string;
}

/** What `up` and `status` return. */
export interface ClusterInfo {
  readonly name: string;
  readonly version: string;
  readonly server: string;
  readonly kubeconfig: string;
  readonly stateDir: string;
  readonly alreadyRunning: boolean;
  readonly healthy: boolean;
  readonly components: readonly ComponentStatus[];
  readonly binaries?: Readonly<Record<string, BinarySource>>;
  readonly auditLog?: string | undefined;
  readonly readySeconds?: number;
  /** metrics-server, when the cluster runs it. */
  readonly metricsServer?: MetricsServerInfo;
  /** Real worker nodes, when the cluster has any. */
  readonly workers?: readonly WorkerInfo[];
  /** Images loaded into the workers (when `up` started them). */
  readonly workerImages?: WorkerImages;
  readonly workersReadySeconds?: number;
  /**
   * What `up` restarted in a cluster that was not wholly healthy, and why; the other components
   * kept running. Absent for a new cluster and one that was already running.
   */
  readonly restarted?: readonly RestartedComponent[];
}

/** A component `up` restarted, and why. */
export interface RestartedComponent {
  readonly component: Component;
  readonly reason: string;
}

/** A cluster's {@link ClusterInfo} from its record and its components' states. */
export function clusterInfo(
  layout: ClusterLayout,
  rec: ClusterRecord,
  components: ComponentStatus[],
  extra: Partial<ClusterInfo>,
): ClusterInfo {
  return {
    name: rec.name,
    version: rec.version,
    server: `https://127.0.0.1:${rec.ports.apiserver}`,
    kubeconfig: layout.kubeconfig,
    stateDir: layout.dir,
    alreadyRunning: false,
    healthy: components.every((c) => c.healthy),
    components,
    auditLog: rec.audit ? layout.auditLog : undefined,
    ...extra,
  };
}
