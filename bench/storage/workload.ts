/**
 * What the storage benchmark creates: the fleet's CSIDriver and StorageClass for a mode, and the
 * StatefulSets whose volumeClaimTemplates give every pod a claim of its own. Pure.
 */
import { csiDriverName, storageClassName } from "../../src/engine/csi/csi-names.ts";
import { FLEET_LABEL } from "../../src/kernel/k8s.ts";

/** The benchmark's fleet: its nodes' prefix and label, its driver's and StorageClass's names. */
export const FLEET = "bench-storage";
/** The namespace of the pods, their claims and the driver controller's Lease. */
export const NAMESPACE = "bench-storage";
/** The label every benchmark pod carries (one topology spread across all StatefulSets). */
export const POD_LABEL = "kubemark-cluster.io/bench";
/** Its value. */
export const POD_LABEL_VALUE = "storage";
/** The driver of the benchmark's fleet. */
export const DRIVER = csiDriverName(FLEET);
/** The StorageClass of the benchmark's fleet. */
export const STORAGE_CLASS = storageClassName(FLEET);

/** A JSON object for the API. */
export type Body = Record<string, unknown>;

/**
 * The CSIDriver of a mode. attachRequired cannot change on an existing CSIDriver, so each mode
 * makes its own (the previous one deleted first). The same spec as a fleet's (`fleet create`).
 */
export function csiDriverBody(attachRequired: boolean): Body {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "CSIDriver",
    metadata: { name: DRIVER },
    spec: {
      attachRequired,
      podInfoOnMount: false,
      volumeLifecycleModes: ["Persistent"],
      fsGroupPolicy: "ReadWriteOnceWithFSType",
      requiresRepublish: false,
      storageCapacity: false,
    },
  };
}

/** The StorageClass: bound where the scheduler puts the first pod, deleted with the claim; the driver's default latencies. */
export function storageClassBody(): Body {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: STORAGE_CLASS },
    provisioner: DRIVER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: true,
  };
}

/** One StatefulSet of the run: its name and replicas. */
export interface SetPlan {
  name: string;
  replicas: number;
}

/** `pods` split into StatefulSets of `setSize` (the last one takes the rest). */
export function setPlan(pods: number, setSize: number): SetPlan[] {
  const out: SetPlan[] = [];
  for (let i = 0, left = pods; left > 0; i++, left -= setSize) {
    out.push({ name: `s${i}`, replicas: Math.min(setSize, left) });
  }
  return out;
}

/**
 * A StatefulSet of the plan: Parallel pod management (all pods created at once), a 1Gi
 * ReadWriteOnce claim per pod of the fleet's class, on the fleet's nodes, spread one pod at a
 * time over them (maxSkew 1 across all the run's sets): 1,000 pods on 100 nodes are 10 a node.
 */
export function statefulSetBody(set: SetPlan): Body {
  const labels = { app: set.name, [POD_LABEL]: POD_LABEL_VALUE };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: set.name, labels: { [POD_LABEL]: POD_LABEL_VALUE } },
    spec: {
      replicas: set.replicas,
      podManagementPolicy: "Parallel",
      serviceName: set.name,
      selector: { matchLabels: { app: set.name } },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { [FLEET_LABEL]: FLEET },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "DoNotSchedule",
              labelSelector: { matchLabels: { [POD_LABEL]: POD_LABEL_VALUE } },
            },
          ],
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: "app",
              image: "registry.k8s.io/pause:3.10",
              imagePullPolicy: "IfNotPresent",
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data", labels: { [POD_LABEL]: POD_LABEL_VALUE } },
          spec: {
            storageClassName: STORAGE_CLASS,
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: "1Gi" } },
          },
        },
      ],
    },
  };
}
