// In-place resizes on a hollow node (1 CPU by default): Infeasible, Deferred until room is freed.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PodObject } from "./pod-object.ts";
import { registered, makePod, podPath, bind, writtenStatuses } from "./testdata/hollow-node-harness.ts";

type Written = {
  conditions: {
    type: string;
    reason?: string;
    message?: string;
    $patch?: string;
    observedGeneration?: number;
  }[];
  containerStatuses: { resources: unknown; allocatedResources?: unknown }[];
};

const withCpu = (name: string, cpu: string, generation: number, base?: PodObject): PodObject => {
  const pod = base ?? makePod(name, { containers: [{ name: "app", image: "nginx" }] }, { generation });
  return {
    ...pod,
    metadata: { ...pod.metadata, generation },
    spec: { ...pod.spec, containers: [{ name: "app", image: "nginx", resources: { requests: { cpu } } }] },
  };
};

const resizeConds = (w: Written | undefined) =>
  w?.conditions.filter((c) => c.type.startsWith("PodResize")) ?? [];

test("resize: beyond the node's allocatable it stays pending (Infeasible), resources unchanged", async () => {
  const h = await registered({ traffic: "minimal" });
  const pod = withCpu("p", "100m", 1);
  bind(h, pod);
  await h.clock.advance(1_000);
  const big = withCpu("p", "2", 2, pod);
  h.api.pods.set(podPath("p"), big);
  h.node.onPod("MODIFIED", big);
  await h.clock.advance(5_000);
  const written = writtenStatuses(h.api, "p") as unknown as Written[];
  assert.equal(written.length, 2);
  assert.deepEqual(
    resizeConds(written[1]).map((c) => [c.reason, c.message, c.observedGeneration]),
    [["Infeasible", "Node didn't have enough capacity: cpu, requested: 2000, capacity: 1000", 2]],
  );
  assert.deepEqual(written[1]!.containerStatuses[0]!.resources, { requests: { cpu: "100m" } });
  assert.deepEqual(written[1]!.containerStatuses[0]!.allocatedResources, { cpu: "100m" });
  // Back to what is allocated: the pending condition is removed.
  const back = withCpu("p", "100m", 3, pod);
  h.api.pods.set(podPath("p"), back);
  h.node.onPod("MODIFIED", back);
  await h.clock.advance(1_000);
  const last = writtenStatuses(h.api, "p").at(-1) as unknown as Written;
  assert.deepEqual(resizeConds(last), [{ type: "PodResizePending", $patch: "delete" }]);
});

test("resize: beyond what the other pods leave it is Deferred, and allocated once one of them leaves", async () => {
  const h = await registered({ traffic: "minimal" });
  const other = withCpu("other", "600m", 1);
  const pod = withCpu("p", "100m", 1);
  bind(h, other);
  bind(h, pod);
  await h.clock.advance(1_000);
  const grown = withCpu("p", "700m", 2, pod);
  h.api.pods.set(podPath("p"), grown);
  h.node.onPod("MODIFIED", grown);
  await h.clock.advance(1_000);
  const deferred = writtenStatuses(h.api, "p").at(-1) as unknown as Written;
  assert.deepEqual(
    resizeConds(deferred).map((c) => [c.reason, c.message]),
    [["Deferred", "Node didn't have enough resource: cpu, requested: 700, used: 600, capacity: 1000"]],
  );
  h.node.onPod("DELETED", other);
  await h.clock.advance(2_000);
  const after = (writtenStatuses(h.api, "p") as unknown as Written[]).slice(-2);
  assert.deepEqual(
    resizeConds(after[0]).map((c) => c.type + (c.$patch ? ` ${c.$patch}` : "")),
    ["PodResizeInProgress", "PodResizePending delete"],
  );
  assert.deepEqual(after[1]!.containerStatuses[0]!.resources, { requests: { cpu: "700m" } });
  assert.deepEqual(resizeConds(after[1]), [{ type: "PodResizeInProgress", $patch: "delete" }]);
});

test("resize: a kubelet before v1.33 (InPlacePodVerticalScaling off) does not resize in place, nor report resources", async () => {
  const h = await registered({ traffic: "minimal" });
  (h.node.id as { kubeletVersion: string }).kubeletVersion = "v1.32.4";
  const pod = withCpu("p", "100m", 1);
  bind(h, pod);
  await h.clock.advance(1_000);
  const bigger = withCpu("p", "200m", 2, pod);
  h.api.pods.set(podPath("p"), bigger);
  h.node.onPod("MODIFIED", bigger);
  await h.clock.advance(5_000);
  const written = writtenStatuses(h.api, "p") as unknown as Written[];
  assert.equal(written.length, 1, "nothing written for the spec change");
  assert.deepEqual(resizeConds(written[0]), []);
  assert.equal(written[0]!.containerStatuses[0]!.resources, undefined);
  assert.equal((written[0] as unknown as { observedGeneration?: number }).observedGeneration, undefined);
});
