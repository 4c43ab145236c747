/**
 * What the storage benchmark creates: the fleet's CSIDriver and StorageClass for a mode (the
 * fleet's own builders), and the StatefulSets whose volumeClaimTemplates give every pod a claim of
 * its own. Pure.
 */
import { csiDriverName, storageClassName } from "../../src/engine/csi/csi-names.ts";
import type { KubeObject } from "../../src/fleet/objects.ts";
import type { FleetStorage } from "../../src/fleet/spec.ts";
import { csiDriverObject, csiEngineArgs, storageClassObject } from "../../src/fleet/storage-objects.ts";
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

/** The fleet's storage (driver and attach) in a mode, as `fleet create` records it. */
export function fleetStorage(attachRequired: boolean): FleetStorage {
  return { driver: DRIVER, attachRequired };
}

/**
 * The CSIDriver of a mode, as `fleet create` makes it. attachRequired cannot change on an
 * existing CSIDriver, so each mode makes its own (the previous one deleted first).
 */
export function csiDriverBody(attachRequired: boolean): KubeObject {
  return csiDriverObject(FLEET, fleetStorage(attachRequired));
}

/** The StorageClass, as `fleet create` makes it (never the cluster's default here). */
export function storageClassBody(): KubeObject {
  return storageClassObject(FLEET, STORAGE_CLASS, fleetStorage(true), false);
}

/** The engine's `--csi-*` flags for a mode, as a fleet's engines get them (the Lease in {@link NAMESPACE}). */
export function engineCsiArgs(attachRequired: boolean): string[] {
  return csiEngineArgs({ namespace: NAMESPACE, storage: fleetStorage(attachRequired) });
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
