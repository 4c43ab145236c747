/** Pods and runs the pod-status and pod-object tests render. */
import { type PodObject } from "../pod-object.ts";
import { type PodRun } from "../pod-status.ts";

/** A pod as the API server sends it; `spec` fields override the defaults. */
export function pod(
  spec: Partial<PodObject["spec"]> = {},
  metadata: Partial<PodObject["metadata"]> = {},
): PodObject {
  return {
    metadata: { name: "web-0", namespace: "default", uid: "uid-web-0", generation: 1, ...metadata },
    spec: {
      nodeName: "hollow-node-0",
      containers: [
        { name: "app", image: "nginx" },
        { name: "log", image: "registry.k8s.io/busybox:1.36" },
      ],
      ...spec,
    },
  };
}

export const RUN: PodRun = {
  hostIP: "100.64.0.1",
  podIP: "10.128.3.2",
  startedAt: "2026-01-01T00:00:00Z",
  runningAt: "2026-01-01T00:00:02Z",
};
export const FINISHED: PodRun = { ...RUN, finishedAt: "2026-01-01T00:00:07Z" };
