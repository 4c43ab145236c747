import {
  DEFAULT_NODE_IMAGE,
  ENGINE_NODE_FLAGS,
  FLEET_LABEL,
  PREBUILT_ENGINE_PATH,
  HOLLOW_LABEL,
  WORKLOAD_LABEL,
  WORKLOAD_NAME,
  shardCount,
  type FleetSpec,
} from "./spec.ts";

/** A Kubernetes object as the CLI writes it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Labels on every object a fleet owns (cleanup finds them by these). */
export function ownedLabels(fleet: string): Record<string, string> {
  return { "app.kubernetes.io/managed-by": "kubemark-cluster", [FLEET_LABEL]: fleet };
}

/** Name of the fleet's cluster-scoped RBAC objects (one set per fleet, so cleanup is exact). */
export function clusterRoleName(fleet: string): string {
  return `kubemark-cluster:hollow-node:${fleet}`;
}

/** Secret holding a long-lived token of the hollow-node ServiceAccount (local and two-cluster fleets). */
export const TOKEN_SECRET = "hollow-node-token";
/** Secret in the hosting cluster with the credentials for the target cluster (two-cluster fleets). */
export const TARGET_SECRET = "hollow-node-target";
/** ConfigMap recording the fleet (its spec, and the node total the pods read). */
export const FLEET_CONFIGMAP = "hollow-node-fleet";
/** ConfigMap carrying the bundled engine. */
export const ENGINE_CONFIGMAP = "hollow-node-engine";

/**
 * What a kubelet and kube-proxy do through the API server, and nothing else. A real kubelet is
 * further restricted by the Node authorizer to its own Node and pods; RBAC cannot express that, so
 * what a kubelet may do only for its own pods (read their Secrets and ConfigMaps, mint their
 * tokens) is not granted at all, and the engine leaves those requests out.
 */
export function hollowNodeClusterRole(fleet: string): KubeObject {
  const rule = (apiGroups: string[], resources: string[], verbs: string[]): unknown => ({
    apiGroups,
    resources,
    verbs,
  });
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: clusterRoleName(fleet), labels: ownedLabels(fleet) },
    rules: [
      rule([""], ["nodes"], ["get", "list", "watch", "create", "update", "patch"]),
      rule([""], ["nodes/status"], ["patch", "update"]),
      rule([""], ["pods"], ["get", "list", "watch", "delete"]),
      rule([""], ["pods/status"], ["patch", "update"]),
      rule([""], ["services"], ["get", "list", "watch"]),
      rule([""], ["events"], ["create", "patch", "update"]),
      rule(["events.k8s.io"], ["events"], ["create", "patch", "update"]),
      rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"]),
      rule(["networking.k8s.io"], ["servicecidrs"], ["list", "watch"]),
      rule(["node.k8s.io"], ["runtimeclasses"], ["list", "watch"]),
      rule(["storage.k8s.io"], ["csidrivers"], ["list", "watch"]),
      rule(["storage.k8s.io"], ["csinodes"], ["get", "create", "update", "patch"]),
    ],
  };
}

/** The objects that give the hollow nodes their identity in a cluster (namespace excluded). */
export function identityObjects(
  spec: Pick<FleetSpec, "namespace" | "fleet">,
  withToken: boolean,
): KubeObject[] {
  const { namespace, fleet } = spec;
  const labels = ownedLabels(fleet);
  const name = clusterRoleName(fleet);
  const subjects = [{ kind: "ServiceAccount", name: WORKLOAD_NAME, namespace }];
  const objects: KubeObject[] = [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: WORKLOAD_NAME, namespace, labels },
      automountServiceAccountToken: false,
    },
    hollowNodeClusterRole(fleet),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects,
    },
    // Node heartbeats: Leases in kube-node-lease only.
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace: "kube-node-lease", labels },
      rules: [
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          verbs: ["get", "list", "watch", "create", "update", "patch"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace: "kube-node-lease", labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects,
    },
  ];
  if (withToken) {
    objects.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: TOKEN_SECRET,
        namespace,
        labels,
        annotations: { "kubernetes.io/service-account.name": WORKLOAD_NAME },
      },
      type: "kubernetes.io/service-account-token",
    });
  }
  return objects;
}

/** The namespace, labelled as the fleet's so `cleanup --all` knows it may delete it. */
export function namespaceObject(spec: Pick<FleetSpec, "namespace" | "fleet">): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: spec.namespace, labels: ownedLabels(spec.fleet) },
  };
}

/** The ConfigMap recording the fleet; in-cluster pods read the node total from it. */
export function fleetConfigMap(spec: FleetSpec): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: FLEET_CONFIGMAP, namespace: spec.namespace, labels: ownedLabels(spec.fleet) },
    data: {
      "total-nodes": String(spec.nodes),
      "nodes-per-pod": String(spec.nodesPerShard),
      "spec.json": JSON.stringify(spec),
    },
  };
}

/** The credentials a two-cluster fleet uses for the target, as files and as a kubeconfig. */
export interface TargetCredentials {
  readonly server: string;
  readonly caCrt: string;
  readonly token: string;
}

/** A kubeconfig for the target cluster with the ServiceAccount token. */
export function targetKubeconfig(c: TargetCredentials): string {
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "target",
        cluster: { server: c.server, "certificate-authority-data": Buffer.from(c.caCrt).toString("base64") },
      },
    ],
    users: [{ name: "hollow-node", user: { token: c.token } }],
    contexts: [{ name: "hollow-node", context: { cluster: "target", user: "hollow-node" } }],
    "current-context": "hollow-node",
  };
  return JSON.stringify(doc, null, 2) + "\n";
}

/**
 * Secret in the hosting cluster with the target's credentials: `token`, `ca.crt` and `server`
 * files for the engine (`--credentials-dir`) and the same as `kubelet.kubeconfig` /
 * `kubeproxy.kubeconfig` (the upstream kubemark layout).
 */
export function targetSecret(spec: Pick<FleetSpec, "namespace" | "fleet">, c: TargetCredentials): KubeObject {
  const kubeconfig = targetKubeconfig(c);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: TARGET_SECRET, namespace: spec.namespace, labels: ownedLabels(spec.fleet) },
    type: "Opaque",
    stringData: {
      token: c.token,
      "ca.crt": c.caCrt,
      server: c.server,
      "kubelet.kubeconfig": kubeconfig,
      "kubeproxy.kubeconfig": kubeconfig,
    },
  };
}

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
    "--stats-interval=60",
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
        metadata: { labels, annotations: { "kubemark-cluster.io/engine-sha256": opts.engineHash } },
        spec: {
          serviceAccountName: WORKLOAD_NAME,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
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

/** Required node affinity that keeps hollow-node pods off hollow (and KWOK) nodes. */
function notOnHollowNodes(): unknown {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          {
            matchExpressions: [
              { key: HOLLOW_LABEL, operator: "NotIn", values: ["true"] },
              { key: "type", operator: "NotIn", values: ["kwok"] },
            ],
          },
        ],
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

/**
 * Upstream kubemark instead of the engine: one pod per node running
 * `kubemark --morph=kubelet` with the flags that avoid its known defects (the fake image service
 * instead of the hard-wired containerd socket; no hollow proxy, which crashes on current
 * versions). Its kubeconfig is the ServiceAccount's (same cluster) or the target Secret's.
 */
export function kubemarkStatefulSet(spec: FleetSpec): KubeObject {
  const labels = { ...WORKLOAD_LABEL, ...ownedLabels(spec.fleet) };
  const kubeconfig = spec.twoCluster
    ? "/kubeconfig/kubelet.kubeconfig"
    : "/hollow/kubeconfig/kubelet.kubeconfig";
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: WORKLOAD_NAME, namespace: spec.namespace, labels },
    spec: {
      serviceName: WORKLOAD_NAME,
      replicas: spec.nodes,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: { ...WORKLOAD_LABEL, [FLEET_LABEL]: spec.fleet } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: WORKLOAD_NAME,
          automountServiceAccountToken: !spec.twoCluster,
          enableServiceLinks: false,
          affinity: notOnHollowNodes(),
          securityContext: { seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "hollow-kubelet",
              image: spec.image,
              command: ["/kubemark"],
              args: [
                "--morph=kubelet",
                "--name=$(NODE_NAME)",
                `--kubeconfig=${kubeconfig}`,
                "--use-host-image-service=false",
                `--node-labels=${HOLLOW_LABEL}=true,${FLEET_LABEL}=${spec.fleet}`,
                "--kubelet-read-only-port=0",
                "--v=2",
              ],
              env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
              resources: { requests: { cpu: "20m", memory: "80Mi" }, limits: { memory: "256Mi" } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              volumeMounts: spec.twoCluster
                ? [{ name: "kubeconfig", mountPath: "/kubeconfig", readOnly: true }]
                : [{ name: "kubeconfig", mountPath: "/hollow/kubeconfig", readOnly: true }],
            },
          ],
          volumes: spec.twoCluster
            ? [{ name: "kubeconfig", secret: { secretName: TARGET_SECRET } }]
            : [{ name: "kubeconfig", configMap: { name: KUBEMARK_KUBECONFIG } }],
        },
      },
    },
  };
}

/** ConfigMap with an in-cluster kubeconfig for kubemark pods (the automounted token, re-read by client-go). */
export const KUBEMARK_KUBECONFIG = "hollow-node-kubeconfig";

/** The in-cluster kubeconfig of {@link KUBEMARK_KUBECONFIG}. */
export function kubemarkKubeconfigMap(spec: FleetSpec): KubeObject {
  const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
  const kubeconfig = JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "in-cluster",
        cluster: { server: "https://kubernetes.default.svc", "certificate-authority": `${sa}/ca.crt` },
      },
    ],
    users: [{ name: "hollow-node", user: { tokenFile: `${sa}/token` } }],
    contexts: [{ name: "in-cluster", context: { cluster: "in-cluster", user: "hollow-node" } }],
    "current-context": "in-cluster",
  });
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: KUBEMARK_KUBECONFIG, namespace: spec.namespace, labels: ownedLabels(spec.fleet) },
    data: { "kubelet.kubeconfig": kubeconfig },
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
