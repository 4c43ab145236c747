/**
 * The statuses a real kubelet v1.36.3 on containerd wrote (captured on `up --workers 1` by the
 * procedure of test/e2e/pod-status-diff.test.ts; testdata/kubelet-v1.36.3-containerd-pods.json)
 * against what a hollow node renders for the same pods at the same stage: no difference but
 * those REAL_KUBELET_DIFFERENCES explains.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { slimPod, type PodObject } from "./pod-object.ts";
import { REAL_KUBELET_DIFFERENCES, compareStatuses, describeDifference } from "./pod-status-diff.ts";
import { podStatusFeatures } from "./pod-status-features.ts";
import { renderPodStatus } from "./pod-status.ts";

type Captured = PodObject & { status: Record<string, unknown> & { phase: string; startTime: string } };
const captured = JSON.parse(
  readFileSync(new URL("./testdata/kubelet-v1.36.3-containerd-pods.json", import.meta.url), "utf8"),
) as Captured[];

for (const pod of captured) {
  test(`${pod.metadata.name} (${pod.status.phase}): the hollow status differs from the real kubelet's only by design`, () => {
    const at = pod.status.startTime;
    const stage = pod.status.phase === "Succeeded" ? "succeeded" : "running";
    const hollow = renderPodStatus(
      slimPod(pod),
      stage,
      { hostIP: "100.64.0.1", podIP: "10.128.1.2", startedAt: at, runningAt: at, finishedAt: at },
      podStatusFeatures("v1.36.3"),
    );
    const out = compareStatuses(pod.status, hollow, REAL_KUBELET_DIFFERENCES);
    assert.deepEqual(out.unexplained.map(describeDifference), []);
  });
}
