import type { Logger } from "pino";
import type { Clock } from "../kernel/clock.ts";
import type { KubeRequest } from "../client/kube-client.ts";
import type { EngineConfig } from "./config.ts";
import type { DueQueue } from "./due-queue.ts";
import type { Cidr } from "./ip-pool.ts";
import type { EngineMetrics } from "./metrics.ts";
import type { ProxyApi, ProxyFeatures, ProxyMetricsSink } from "./proxy-types.ts";
import type { KubeletEventRecorder } from "./kubelet-event-recorder.ts";
import type { WatchStarter } from "./watcher.ts";
import type { ProtoType } from "../client/protobuf-schema.ts";

/** What every simulated node shares: config, the API, the one queue, logs and metrics. */
export interface EngineContext extends WatchStarter {
  readonly cfg: EngineConfig;
  readonly clock: Clock;
  readonly random: () => number;
  readonly queue: DueQueue;
  /**
   * The heartbeat schedule (each node's Lease and status loop), apart from {@link queue}: a pod
   * burst holding every worker of that queue must not delay a renewal, as a kubelet's lease
   * controller runs apart from its pod workers. Its tasks only start a loop and return, so it
   * needs no worker limit.
   */
  readonly beats: DueQueue;
  readonly log: Logger;
  /** The logger of one node: the process log, plus `<log-dir>/<node>.log` when `--log-dir` is set. */
  nodeLogger(name: string): Logger;
  readonly metrics: EngineMetrics;
  /** Sends a request through the process-wide in-flight limit and retry policy. */
  request<T>(req: KubeRequest): Promise<T>;
  /**
   * Sends a heartbeat (Lease, node status) as a kubelet's heartbeat client does: not subject to
   * the node's client rate limit, with a timeout of the shorter of the status period and the
   * lease duration, outside the process-wide in-flight limit: the node's loop waits for the
   * answer, so at most one heartbeat per node is in flight, as with kubelets (see
   * results/engine-heartbeats.md).
   */
  heartbeat<T>(req: KubeRequest): Promise<T>;
  /** The hollow proxy's own API identity (user agent `hollow-proxy`); undefined with --no-proxy. */
  readonly proxy:
    { readonly api: ProxyApi; readonly features: ProxyFeatures; readonly sink: ProxyMetricsSink } | undefined;
  /** The kubelet's Events of every node (kubelet traffic with events on; else undefined). */
  readonly events?: KubeletEventRecorder | undefined;
  /**
   * The request field that sends and accepts `type` in protobuf, as a kubelet's client does; empty
   * with `--kube-api-content-type application/json`.
   */
  proto(type: ProtoType): { proto?: ProtoType };
  /** Pod CIDR for node `index` when its Node has no spec.podCIDR. */
  fallbackPodCidr(index: number): Cidr | undefined;
}
