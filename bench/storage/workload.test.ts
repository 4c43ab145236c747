import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DRIVER,
  STORAGE_CLASS,
  csiDriverBody,
  engineCsiArgs,
  setPlan,
  statefulSetBody,
  storageClassBody,
} from "./workload.ts";

test("pods split into StatefulSets of the set size, the last one taking the rest", () => {
  assert.deepEqual(setPlan(1000, 100).length, 10);
  assert.deepEqual(setPlan(1000, 100)[9], { name: "s9", replicas: 100 });
  assert.deepEqual(setPlan(25, 10), [
    { name: "s0", replicas: 10 },
    { name: "s1", replicas: 10 },
    { name: "s2", replicas: 5 },
  ]);
  assert.deepEqual(setPlan(3, 100), [{ name: "s0", replicas: 3 }]);
});

test("the fleet's own driver and WaitForFirstConsumer class; attachRequired as the mode says", () => {
  assert.equal(DRIVER, "bench-storage.hollow.csi.kubemark-cluster.io");
  assert.equal(STORAGE_CLASS, "hollow-csi-bench-storage");
  assert.equal((csiDriverBody(true).spec as { attachRequired: boolean }).attachRequired, true);
  assert.equal((csiDriverBody(false).spec as { attachRequired: boolean }).attachRequired, false);
  const sc = storageClassBody();
  assert.equal(sc.provisioner, DRIVER);
  assert.equal(sc.volumeBindingMode, "WaitForFirstConsumer");
  assert.equal(sc.metadata.annotations, undefined, "never the cluster's default class");
});

test("the engine runs the fleet's driver, without attach in the no-attach mode, its Lease in the benchmark's namespace", () => {
  assert.deepEqual(engineCsiArgs(true), [
    "--csi-driver=bench-storage.hollow.csi.kubemark-cluster.io",
    "--csi-lease-namespace=bench-storage",
  ]);
  assert.ok(engineCsiArgs(false).includes("--no-csi-attach-required"));
});

test("a StatefulSet: Parallel, a 1Gi claim per pod of the class, spread evenly over the fleet's nodes across all sets", () => {
  const ss = statefulSetBody({ name: "s3", replicas: 7 }) as {
    spec: {
      replicas: number;
      podManagementPolicy: string;
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          nodeSelector: Record<string, string>;
          topologySpreadConstraints: { maxSkew: number; whenUnsatisfiable: string; labelSelector: unknown }[];
        };
      };
      volumeClaimTemplates: {
        spec: { storageClassName: string; resources: { requests: { storage: string } } };
      }[];
    };
  };
  assert.equal(ss.spec.replicas, 7);
  assert.equal(ss.spec.podManagementPolicy, "Parallel");
  assert.deepEqual(ss.spec.template.spec.nodeSelector, { "kubemark-cluster.io/fleet": "bench-storage" });
  const spreadRule = ss.spec.template.spec.topologySpreadConstraints[0]!;
  assert.equal(spreadRule.maxSkew, 1);
  assert.equal(spreadRule.whenUnsatisfiable, "DoNotSchedule");
  // The same selector in every set: 1,000 pods on 100 nodes are 10 a node, not 10 sets' worth each.
  assert.deepEqual(
    spreadRule.labelSelector,
    (statefulSetBody({ name: "s0", replicas: 1 }) as typeof ss).spec.template.spec
      .topologySpreadConstraints[0]!.labelSelector,
  );
  assert.equal(ss.spec.template.metadata.labels["app"], "s3");
  assert.equal(ss.spec.volumeClaimTemplates[0]!.spec.storageClassName, STORAGE_CLASS);
  assert.equal(ss.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage, "1Gi");
});
