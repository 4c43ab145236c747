/**
 * The local control plane's operations, as the CLI, the test harness and the benchmarks call them:
 * `up` (its steps in ./up/), `down` and `status`. Each lives in its own file; this one only names
 * them in one place.
 */
export { adminClient } from "./admin-client.ts";
export type {
  ClusterInfo,
  ComponentStatus,
  ControlPlaneDeps,
  RestartedComponent,
  UpEvent,
  UpOptions,
} from "./cluster-info.ts";
export { downCluster, type BeforeStop, type DownDeps, type DownResult } from "./down.ts";
export { clusterStatus } from "./status.ts";
export { upCluster } from "./up/up-cluster.ts";
export type { UpDeps } from "./up/workers.ts";
export type { StartWorkersOptions, WorkerNodes } from "./worker-records.ts";
