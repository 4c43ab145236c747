/*
 * What a hollow kube-proxy is given besides the engine's context (its own API identity, the
 * process's features and metrics): types of their own, so the engine's context and the proxy do
 * not import each other.
 */
import type { KubeRequest } from "../client/kube-client.ts";
import type { WatchStarter } from "./watcher.ts";

/** What the proxy needs besides the engine's context: its own API identity (user agent `hollow-proxy`). */
export interface ProxyApi extends WatchStarter {
  request<T>(req: KubeRequest): Promise<T>;
}

/** Figures of every proxier, for metrics. */
export interface ProxyMetricsSink {
  proxySynced(durationMs: number, at: number): void;
}

/** Whether the API server serves ServiceCIDRs (networking.k8s.io/v1), discovered once per process. */
export interface ProxyFeatures {
  serviceCIDRs: boolean;
}
