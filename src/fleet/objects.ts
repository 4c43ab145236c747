import { controllerLeaseName } from "../engine/csi/csi-names.ts";
import { FLEET_LABEL } from "../kernel/k8s.ts";
import { HOLLOW_LABEL, WORKLOAD_NAME, type FleetSpec, type FleetStorage } from "./spec.ts";
import { PROFILE_KEY } from "./fleet-profile.ts";

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

/** One RBAC rule. */
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const rule = (apiGroups: string[], resources: string[], verbs: string[]): Rule => ({
  apiGroups,
  resources,
  verbs,
});

/**
 * What a kubelet and kube-proxy do through the API server, and nothing else. A real kubelet is
 * further restricted by the Node authorizer to its own Node and pods; RBAC cannot express that, so
 * what a kubelet may do only for its own pods (read their Secrets and ConfigMaps, mint their
 * tokens) is not granted at all, and the engine leaves those requests out. A fleet with a hollow
 * CSI driver (`storage`) gets what its node side and elected controller do too.
 */
export function hollowNodeClusterRole(fleet: string, storage?: FleetStorage): KubeObject {
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
      ...(storage ? storageClusterRules() : []),
    ],
  };
}

/**
 * What the driver's parts request beyond a kubelet's rules, and nothing more: the node side reads
 * its pods' claims, their volumes and VolumeAttachments (it registers in CSINodes by the kubelet's
 * rules); the elected controller watches claims, volumes, classes, CSINodes and attachments, and
 * writes as the external-provisioner (volumes: create, patch, delete), -attacher (attachments and
 * their status: patch; volume finalizers) and -resizer (volumes and claim status: patch) do.
 */
export function storageClusterRules(): Rule[] {
  return [
    rule([""], ["persistentvolumes"], ["get", "list", "watch", "create", "patch", "delete"]),
    rule([""], ["persistentvolumeclaims"], ["get", "list", "watch"]),
    rule([""], ["persistentvolumeclaims/status"], ["patch"]),
    rule(["storage.k8s.io"], ["storageclasses"], ["list", "watch"]),
    rule(["storage.k8s.io"], ["volumeattachments"], ["get", "list", "watch", "patch"]),
    rule(["storage.k8s.io"], ["volumeattachments/status"], ["patch"]),
    rule(["storage.k8s.io"], ["csinodes"], ["list", "watch"]),
  ];
}

/**
 * The controller's election Lease in the fleet's namespace: a Role for that Lease (create cannot
 * be limited to a name) and its binding to the fleet's ServiceAccount.
 */
export function leaseRbacObjects(spec: Pick<FleetSpec, "namespace" | "fleet">, driver: string): KubeObject[] {
  const { namespace, fleet } = spec;
  const name = clusterRoleName(fleet);
  const labels = ownedLabels(fleet);
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace, labels },
      rules: [
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          resourceNames: [controllerLeaseName(driver)],
          verbs: ["get", "update"],
        },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name: WORKLOAD_NAME, namespace }],
    },
  ];
}

/** Name of the fleet's binding to system:auth-delegator. */
export function authDelegatorBindingName(fleet: string): string {
  return `${clusterRoleName(fleet)}:auth-delegator`;
}

/**
 * What the nodes' kubelet endpoints need to check their callers as a kubelet does
 * (engine/kubelet-api/): the built-in ClusterRole system:auth-delegator (create TokenReviews and
 * SubjectAccessReviews, nothing else) and, in kube-system, the built-in Role
 * extension-apiserver-authentication-reader (read the one ConfigMap with the cluster's client CA).
 */
export function kubeletApiRbacObjects(spec: Pick<FleetSpec, "namespace" | "fleet">): KubeObject[] {
  const { namespace, fleet } = spec;
  const labels = ownedLabels(fleet);
  const subjects = [{ kind: "ServiceAccount", name: WORKLOAD_NAME, namespace }];
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: authDelegatorBindingName(fleet), labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
      subjects,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: clusterRoleName(fleet), namespace: "kube-system", labels },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: "extension-apiserver-authentication-reader",
      },
      subjects,
    },
  ];
}

/**
 * The objects that give the hollow nodes their identity in a cluster (namespace excluded); with a
 * CSI driver, also the Role for its controller's election Lease in the fleet's namespace.
 */
export function identityObjects(
  spec: Pick<FleetSpec, "namespace" | "fleet" | "storage">,
  withToken: boolean,
): KubeObject[] {
  const { namespace, fleet, storage } = spec;
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
    hollowNodeClusterRole(fleet, storage),
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
  objects.push(...kubeletApiRbacObjects(spec));
  if (storage) objects.push(...leaseRbacObjects(spec, storage.driver));
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
      // In-cluster pods mount it as a file (workload-objects.ts).
      ...(spec.profile ? { [PROFILE_KEY]: spec.profile.text } : {}),
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

/** ConfigMap with an in-cluster kubeconfig for kubemark pods (the automounted token, re-read by client-go). */
export const KUBEMARK_KUBECONFIG = "hollow-node-kubeconfig";

/** Required node affinity that keeps hollow-node pods off hollow (and KWOK) nodes. */
export function notOnHollowNodes(): unknown {
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
