/*
 * Which pod status fields a kubelet of a given version writes, as a table: each field came with a
 * kubelet feature gate and is written from the release that gate went on by default
 * (pkg/features/kube_features.go at each release tag). A hollow node simulating kubelet v1.31
 * writes none of the fields a v1.31 kubelet would not.
 */

/** The version-gated parts of a pod status a kubelet writes. */
export interface PodStatusFeatures {
  /** The `PodReadyToStartContainers` condition (PodReadyToStartContainersCondition). */
  readonly readyToStartContainers: boolean;
  /** `status.observedGeneration` and each condition's `observedGeneration` (PodObservedGenerationTracking). */
  readonly observedGeneration: boolean;
  /** `containerStatuses[].volumeMounts` (RecursiveReadOnlyMounts: the kubelet reports them with it). */
  readonly volumeMountStatus: boolean;
  /**
   * `containerStatuses[].resources` and `allocatedResources`, in-place resize and its
   * `PodResizePending`/`PodResizeInProgress` conditions (InPlacePodVerticalScaling).
   */
  readonly containerResources: boolean;
  /** Pod-level `status.resources` and `status.allocatedResources` (InPlacePodLevelResourcesVerticalScaling). */
  readonly podResources: boolean;
}

/** Each feature, its gate and the first kubelet minor (1.x) with the gate on by default. */
export const POD_STATUS_FEATURE_TABLE: readonly {
  readonly feature: keyof PodStatusFeatures;
  readonly gate: string;
  readonly since: number;
}[] = [
  // Alpha 1.28 (off), beta and on from 1.29.
  { feature: "readyToStartContainers", gate: "PodReadyToStartContainersCondition", since: 29 },
  // Alpha 1.30 (off), beta and on from 1.31, GA 1.33.
  { feature: "volumeMountStatus", gate: "RecursiveReadOnlyMounts", since: 31 },
  // Alpha 1.27 (off), beta and on from 1.33, GA 1.35.
  { feature: "containerResources", gate: "InPlacePodVerticalScaling", since: 33 },
  // Alpha 1.33 (off), beta and on from 1.34, GA 1.35.
  { feature: "observedGeneration", gate: "PodObservedGenerationTracking", since: 34 },
  // Alpha 1.35 (off), beta and on from 1.36.
  { feature: "podResources", gate: "InPlacePodLevelResourcesVerticalScaling", since: 36 },
];

/** Every feature on: the newest kubelet this engine models (and any version it cannot read). */
export const ALL_POD_STATUS_FEATURES: PodStatusFeatures = {
  readyToStartContainers: true,
  observedGeneration: true,
  volumeMountStatus: true,
  containerResources: true,
  podResources: true,
};

/**
 * The pod status features of kubelet `version` (`v1.31.0`, `1.34`, `v1.36.3+k3s1`): those whose
 * gate is on by default in that release. A version it cannot read gets every feature.
 */
export function podStatusFeatures(version: string | undefined): PodStatusFeatures {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? "");
  if (!m) return ALL_POD_STATUS_FEATURES;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const out = { ...ALL_POD_STATUS_FEATURES };
  for (const row of POD_STATUS_FEATURE_TABLE) out[row.feature] = major > 1 || minor >= row.since;
  return out;
}
