import { test } from "node:test";
import assert from "node:assert/strict";
import { ALL_POD_STATUS_FEATURES, podStatusFeatures } from "./pod-status-features.ts";

test("pod status features by kubelet version: each field from the release its gate went on by default", () => {
  const on = (v: string): string[] =>
    Object.entries(podStatusFeatures(v))
      .filter(([, x]) => x)
      .map(([k]) => k)
      .sort();
  const table: [string, string[]][] = [
    ["v1.28.15", []],
    ["v1.29.0", ["readyToStartContainers"]],
    ["v1.31.0", ["readyToStartContainers", "volumeMountStatus"]],
    ["v1.32.4", ["readyToStartContainers", "volumeMountStatus"]],
    ["v1.33.1", ["containerResources", "readyToStartContainers", "volumeMountStatus"]],
    ["v1.34.1", ["containerResources", "observedGeneration", "readyToStartContainers", "volumeMountStatus"]],
    ["v1.35.0", ["containerResources", "observedGeneration", "readyToStartContainers", "volumeMountStatus"]],
    [
      "v1.36.3",
      [
        "containerResources",
        "observedGeneration",
        "podResources",
        "readyToStartContainers",
        "volumeMountStatus",
      ],
    ],
    [
      "1.37",
      [
        "containerResources",
        "observedGeneration",
        "podResources",
        "readyToStartContainers",
        "volumeMountStatus",
      ],
    ],
    [
      "v1.34.2+k3s1",
      ["containerResources", "observedGeneration", "readyToStartContainers", "volumeMountStatus"],
    ],
    ["v2.0.0", Object.keys(ALL_POD_STATUS_FEATURES).sort()],
  ];
  for (const [v, want] of table) assert.deepEqual(on(v), want, v);
});

test("a version it cannot read gets the newest kubelet's fields", () => {
  assert.deepEqual(podStatusFeatures("devel"), ALL_POD_STATUS_FEATURES);
  assert.deepEqual(podStatusFeatures(undefined), ALL_POD_STATUS_FEATURES);
});
