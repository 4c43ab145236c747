// renderPodStatus by kubelet version, and the fields the diff against a real kubelet v1.36.3 fixed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type PodObject } from "./pod-object.ts";
import { podStatusFeatures } from "./pod-status-features.ts";
import { podLevelResources, qosClass, sumQuantities } from "./pod-status-resources.ts";
import { renderPodStatus, type PodRun } from "./pod-status.ts";
import { pod, RUN, FINISHED } from "./testdata/pod-fixtures.ts";
import type { PodStage } from "./pod-stage.ts";

type Json = Record<string, unknown> & {
  conditions: {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    observedGeneration?: number;
  }[];
  containerStatuses: Record<string, unknown>[];
  initContainerStatuses?: Record<string, unknown>[];
};

const render = (p: PodObject, stage: PodStage, version = "v1.36.3", run: PodRun = RUN): Json =>
  renderPodStatus(p, stage, run, podStatusFeatures(version)) as Json;

const burstable = pod({
  initContainers: [{ name: "init", image: "node:24-slim" }],
  containers: [
    {
      name: "app",
      image: "node:24-slim",
      resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
      volumeMounts: [
        {
          name: "kube-api-access-abcde",
          mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
          readOnly: true,
        },
        { name: "data", mountPath: "/data" },
      ],
    },
  ],
});

/** Every field path of a value, lists as `[]`. */
function paths(v: unknown, at = ""): string[] {
  if (Array.isArray(v)) return [...new Set(v.flatMap((x) => paths(x, `${at}[]`)))];
  if (v !== null && typeof v === "object")
    return Object.entries(v).flatMap(([k, x]) => [`${at}.${k}`, ...paths(x, `${at}.${k}`)]);
  return [];
}

test("a v1.31 kubelet's status: no observedGeneration, no container or pod resources, volumeMounts kept", () => {
  const s = render(burstable, "running", "v1.31.0");
  const all = paths(s);
  for (const absent of [
    ".observedGeneration",
    ".conditions[].observedGeneration",
    ".resources",
    ".allocatedResources",
  ])
    assert.ok(!all.includes(absent), `${absent} is not written by v1.31`);
  assert.ok(!all.some((p) => p.startsWith(".containerStatuses[].resources")), "no container resources");
  assert.ok(!all.includes(".containerStatuses[].allocatedResources"));
  assert.ok(all.includes(".containerStatuses[].volumeMounts"), "RecursiveReadOnlyMounts is on in v1.31");
  assert.ok(s.conditions.some((c) => c.type === "PodReadyToStartContainers"));
});

test("a v1.28 kubelet's status: no PodReadyToStartContainers condition, no volumeMounts", () => {
  const s = render(burstable, "running", "v1.28.15");
  assert.deepEqual(
    s.conditions.map((c) => c.type),
    ["Initialized", "Ready", "ContainersReady", "PodScheduled"],
  );
  assert.ok(!paths(s).includes(".containerStatuses[].volumeMounts"));
});

test("a v1.36 kubelet's status: pod-level allocatedResources and resources, qosClass, observedGeneration", () => {
  const s = render(burstable, "running");
  assert.equal(s["observedGeneration"], 1);
  assert.ok(s.conditions.every((c) => c.observedGeneration === 1));
  assert.deepEqual(s["allocatedResources"], { cpu: "10m", memory: "32Mi" });
  // As the kubelet reports a pod that is not running (PodRequests, PodLimits of the spec).
  assert.deepEqual(s["resources"], {
    limits: { cpu: "200m", memory: "128Mi" },
    requests: { cpu: "10m", memory: "32Mi" },
  });
  assert.equal(s["qosClass"], "Burstable");
  // v1.34 and v1.35 report container resources but not the pod's own.
  const v135 = render(burstable, "running", "v1.35.0");
  assert.equal(v135["resources"], undefined);
  assert.deepEqual((v135.containerStatuses[0]!["allocatedResources"] as object) ?? {}, {
    cpu: "10m",
    memory: "32Mi",
  });
});

test("pod-level resources: containers summed, an init container's own when larger", () => {
  const guaranteed = pod({
    initContainers: [
      {
        name: "i",
        resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
      },
    ],
    containers: [
      {
        name: "a",
        resources: { requests: { cpu: "100m", memory: "16Mi" }, limits: { cpu: "100m", memory: "16Mi" } },
      },
      { name: "b", resources: { limits: { cpu: "200m", memory: "32Mi" } } },
    ],
  });
  const r = podLevelResources(guaranteed);
  assert.deepEqual(r.allocatedResources, { cpu: "1", memory: "1Gi" });
  assert.deepEqual(r.resources.limits, { cpu: "1", memory: "1Gi" });
  assert.equal(qosClass(guaranteed), "Guaranteed");
  assert.equal(qosClass(pod()), "BestEffort");
  assert.deepEqual(podLevelResources(pod()), { allocatedResources: undefined, resources: {} });
  assert.deepEqual(
    [
      sumQuantities(["10m"]),
      sumQuantities(["10m", "20m"]),
      sumQuantities(["16Mi", "32Mi"]),
      sumQuantities(["500m", "1"]),
    ],
    ["10m", "30m", "48Mi", "1500m"],
  );
});

test("terminal conditions as the kubelet's: Succeeded PodCompleted (Initialized too), Failed PodFailed, no messages", () => {
  const ok = render(burstable, "succeeded", "v1.36.3", FINISHED);
  const byType = (s: Json) =>
    Object.fromEntries(s.conditions.map((c) => [c.type, [c.status, c.reason, c.message]]));
  assert.deepEqual(byType(ok)["Initialized"], ["True", "PodCompleted", undefined]);
  assert.deepEqual(byType(ok)["Ready"], ["False", "PodCompleted", undefined]);
  const failed = render(burstable, "failed", "v1.36.3", { ...FINISHED, exitCode: 1 });
  assert.deepEqual(byType(failed)["Initialized"], ["True", undefined, undefined]);
  assert.deepEqual(byType(failed)["Ready"], ["False", "PodFailed", undefined]);
  assert.deepEqual(byType(failed)["ContainersReady"], ["False", "PodFailed", undefined]);
});

test("container statuses: a terminated state names its container, a completed init container is ready, read-only mounts say how", () => {
  const s = render(burstable, "succeeded", "v1.36.3", FINISHED);
  const app = s.containerStatuses[0]!;
  assert.equal(
    (app["state"] as { terminated: { containerID: string } }).terminated.containerID,
    app["containerID"],
  );
  assert.equal(s.initContainerStatuses![0]!["ready"], true);
  assert.deepEqual(app["volumeMounts"], [
    {
      name: "kube-api-access-abcde",
      mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
      readOnly: true,
      recursiveReadOnly: "Disabled",
    },
    { name: "data", mountPath: "/data" },
  ]);
});

test("a container not created yet has no id and its image as the spec writes it", () => {
  const s = render(burstable, "creating");
  const app = s.containerStatuses[0]!;
  assert.equal(app["containerID"], undefined);
  assert.equal(app["image"], "node:24-slim");
  assert.equal(app["imageID"], "");
  const running = render(burstable, "running").containerStatuses[0]!;
  assert.equal(running["image"], "docker.io/library/node:24-slim");
  assert.match(running["containerID"] as string, /^hollow:\/\/[0-9a-f]{64}$/);
});
