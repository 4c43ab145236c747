import { FLEET_LABEL } from "../kernel/k8s.ts";
import { kubemarkKubeconfigMap, kubemarkStatefulSet } from "./kubemark-objects.ts";
import { podNodeIdentity } from "./node-identity.ts";
import { csiEngineArgs } from "./storage-objects.ts";
import { PROFILE_KEY, profileDigest } from "./fleet-profile.ts";
import {
  ENGINE_CONFIGMAP,
  FLEET_CONFIGMAP,
  TARGET_SECRET,
  fleetConfigMap,
  notOnHollowNodes,
  ownedLabels,
  type KubeObject,
} from "./objects.ts";
import {
  DEFAULT_NODE_IMAGE,
  ENGINE_NODE_FLAGS,
  PREBUILT_ENGINE_PATH,
  WORKLOAD_LABEL,
  WORKLOAD_NAME,
  shardCount,
  type FleetSpec,
} from "./spec.ts";

/** Memory and CPU one pod of `nodes` idle hollow nodes needs, from the benchmark figures. */
export function podResources(nodes: number): {
  requests: Record<string, string>;
  limits: Record<string, string>;
} {
  // ~150 MB baseline and up to ~110 KB per node measured; headroom for pods and watch bursts.
  const memMi = Math.ceil((160 + nodes * 0.125) / 32) * 32;
  const cpuM = Math.max(50, Math.ceil(nodes * 0.2));
  return {
    requests: { cpu: `${cpuM}m`, memory: `${memMi}Mi` },
    limits: { memory: `${memMi * 2}Mi` },
  };
}

/** Options of {@link statefulSet}. */
export interface WorkloadOptions {
  /** sha256 of the engine bundle: a new engine rolls the pods. */
  readonly engineHash: string;
}

const WORKDIR = "/hollow";

/** The kubelet's port: an engine pod's node i serves its kubelet API on this port + i. */
export const IN_CLUSTER_KUBELET_PORT = 10250;

/** Security context of every container: unprivileged, read-only, no capabilities. */
const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * The hollow-node StatefulSet: pod `hollow-node-<i>` runs shard i (a restarted pod re-adopts the
 * same Nodes), on a stock Node.js image with the engine from a ConfigMap, as a non-root user with
 * a read-only root, no host mounts and no privileges, never on a hollow node itself.
 */
export function statefulSet(spec: FleetSpec, opts: WorkloadOptions): KubeObject {
  const labels = { ...WORKLOAD_LABEL, ...ownedLabels(spec.fleet) };
  const selector = { ...WORKLOAD_LABEL, [FLEET_LABEL]: spec.fleet };
  // --identity node: the bootstrap kubeconfig Secret and the flags (node-identity.ts).
  const identity = podNodeIdentity(spec, WORKDIR);
  const args = [
    spec.twoCluster ? "--credentials-dir=target" : "--credentials-dir=sa",
    "--shard=$(POD_NAME)",
    `--nodes=${spec.nodesPerShard}`,
    "--total-nodes=$(TOTAL_NODES)",
    `--name-prefix=${spec.namePrefix}`,
    `--fleet=${spec.fleet}`,
    `--traffic=${spec.traffic}`,
    ...(spec.proxy ? [] : ["--no-proxy"]),
    ...(spec.kubeletVersion ? [`--kubelet-version=${spec.kubeletVersion}`] : []),
    ...csiEngineArgs(spec),
    "--stats-interval=60",
    ...(spec.profile ? [`--profile=profile/${PROFILE_KEY}`] : []),
    // Each node's authenticated kubelet API on the pod's IP, node i on port 10250 + i, and that IP
    // as every node's InternalIP: where metrics-server and the API server dial a node.
    `--kubelet-port=${IN_CLUSTER_KUBELET_PORT}`,
    "--kubelet-address=$(POD_IP)",
    "--node-ip=$(POD_IP)",
    ...identity.args,
  ];
  const fromConfigMap = !spec.prebuiltEngine;
  const volumes: unknown[] = [
    ...(fromConfigMap
      ? [
          { name: "engine", configMap: { name: ENGINE_CONFIGMAP } },
          { name: "run", emptyDir: { medium: "Memory", sizeLimit: "32Mi" } },
        ]
      : []),
    spec.twoCluster
      ? {
          name: "target",
          secret: {
            secretName: TARGET_SECRET,
            items: ["token", "ca.crt", "server"].map((k) => ({ key: k, path: k })),
          },
        }
      : {
          name: "sa",
          projected: {
            sources: [
              { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
              { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            ],
          },
        },
    ...identity.volumes,
    // The fleet profile from the fleet's ConfigMap (its key alone).
    ...(spec.profile
      ? [
          {
            name: "profile",
            configMap: { name: FLEET_CONFIGMAP, items: [{ key: PROFILE_KEY, path: PROFILE_KEY }] },
          },
        ]
      : []),
  ];
  const mounts = [
    ...(fromConfigMap
      ? [
          { name: "engine", mountPath: `${WORKDIR}/engine`, readOnly: true },
          { name: "run", mountPath: `${WORKDIR}/run` },
        ]
      : []),
    spec.twoCluster
      ? { name: "target", mountPath: `${WORKDIR}/target`, readOnly: true }
      : { name: "sa", mountPath: `${WORKDIR}/sa`, readOnly: true },
    ...(spec.profile ? [{ name: "profile", mountPath: `${WORKDIR}/profile`, readOnly: true }] : []),
    ...identity.mounts,
  ];
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: WORKLOAD_NAME, namespace: spec.namespace, labels },
    spec: {
      serviceName: WORKLOAD_NAME,
      replicas: shardCount(spec),
      podManagementPolicy: "Parallel",
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels,
          annotations: {
            "kubemark-cluster.io/engine-sha256": opts.engineHash,
            // A changed profile rolls the pods (they read it at start).
            ...(spec.profile ? { "kubemark-cluster.io/profile-sha256": profileDigest(spec.profile) } : {}),
          },
        },
        spec: {
          serviceAccountName: WORKLOAD_NAME,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            ...(identity.fsGroup === undefined ? {} : { fsGroup: identity.fsGroup }),
            seccompProfile: { type: "RuntimeDefault" },
          },
          affinity: notOnHollowNodes(),
          containers: [
            {
              name: "hollow-node",
              image: spec.image || DEFAULT_NODE_IMAGE,
              workingDir: WORKDIR,
              command: [
                "node",
                ...ENGINE_NODE_FLAGS,
                fromConfigMap ? "engine/start.mjs" : PREBUILT_ENGINE_PATH,
              ],
              args,
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                {
                  name: "TOTAL_NODES",
                  valueFrom: { configMapKeyRef: { name: FLEET_CONFIGMAP, key: "total-nodes" } },
                },
              ],
              resources: podResources(spec.nodesPerShard),
              securityContext: CONTAINER_SECURITY,
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** Headless Service the StatefulSet names (gives pods stable DNS names; no ports are served). */
export function headlessService(spec: FleetSpec): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: WORKLOAD_NAME,
      namespace: spec.namespace,
      labels: { ...WORKLOAD_LABEL, ...ownedLabels(spec.fleet) },
    },
    spec: { clusterIP: "None", selector: { ...WORKLOAD_LABEL, [FLEET_LABEL]: spec.fleet } },
  };
}

/** ConfigMap with the bundled engine (gzip, as binaryData) and the loader the pods start. */
export function engineConfigMap(spec: FleetSpec, bundle: { gz: Buffer; loader: string }): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: ENGINE_CONFIGMAP, namespace: spec.namespace, labels: ownedLabels(spec.fleet) },
    data: { "start.mjs": bundle.loader },
    binaryData: { "hollow-node.mjs.gz": bundle.gz.toString("base64") },
  };
}

/** Every object an in-cluster fleet's workload consists of, in apply order. */
export function workloadObjects(
  spec: FleetSpec,
  bundle?: { gz: Buffer; loader: string; sha256: string },
): KubeObject[] {
  const objects: KubeObject[] = [fleetConfigMap(spec), headlessService(spec)];
  if (spec.engine === "kubemark") {
    if (!spec.twoCluster) objects.push(kubemarkKubeconfigMap(spec));
    objects.push(kubemarkStatefulSet(spec));
    return objects;
  }
  if (spec.prebuiltEngine) {
    objects.push(statefulSet(spec, { engineHash: "in-image" }));
    return objects;
  }
  if (!bundle) throw new Error("the hollow-node workload needs the engine bundle");
  objects.push(engineConfigMap(spec, bundle), statefulSet(spec, { engineHash: bundle.sha256 }));
  return objects;
}
