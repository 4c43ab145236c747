import { FLEET_LABEL } from "../kernel/k8s.ts";
import {
  KUBEMARK_KUBECONFIG,
  TARGET_SECRET,
  notOnHollowNodes,
  ownedLabels,
  type KubeObject,
} from "./objects.ts";
import { HOLLOW_LABEL, WORKLOAD_LABEL, WORKLOAD_NAME, type FleetSpec } from "./spec.ts";

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
