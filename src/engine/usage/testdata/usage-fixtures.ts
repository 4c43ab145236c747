/** A hollow node's kubelet view with pods a test edits between samples, for the usage model and stats endpoint tests. */
import type { NodeApiView, UsageContainer, UsagePod } from "../../kubelet-api/node-view.ts";

/** 2026-11-30T12:00:00Z: the tests' "now". */
export const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const MI = 2 ** 20;

/** A node (4 CPUs, 16 GiB) running `pods`. */
export function fakeNode(pods: UsagePod[], startedAtMs = T0 - 3_600_000): NodeApiView & { pods: UsagePod[] } {
  return {
    name: "hollow-node-0",
    cpuCapacityMilli: 4000,
    memoryCapacityBytes: 16 * 2 ** 30,
    startedAtMs,
    pods,
    usagePods() {
      return this.pods;
    },
    podInfo: () => undefined,
    listPods: () => [],
  };
}

/** A container requesting 500m and 256 MiB, started at T0. */
export function container(name: string, over: Partial<UsageContainer> = {}): UsageContainer {
  return {
    name,
    cpuRequestMilli: 500,
    cpuLimitMilli: undefined,
    memoryRequestBytes: 256 * MI,
    memoryLimitBytes: undefined,
    startedAtMs: T0,
    ...over,
  };
}

/** A pod in `default` started a second before T0. */
export function pod(
  name: string,
  containers: UsageContainer[],
  annotations: Record<string, string> = {},
): UsagePod {
  return { namespace: "default", name, uid: `uid-${name}`, annotations, startedAtMs: T0 - 1000, containers };
}
