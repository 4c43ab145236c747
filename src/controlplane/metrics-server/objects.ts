/**
 * The API objects metrics-server needs on a local cluster: the upstream RBAC (manifests/base/
 * rbac.yaml of sigs.k8s.io/metrics-server, bound to its certificate's user instead of a
 * ServiceAccount), the Service the aggregator resolves, and the v1beta1.metrics.k8s.io APIService.
 */
import { METRICS_SERVER_USER } from "./args.ts";

/** Name and namespace of the Service the APIService names. */
export const METRICS_SERVER_SERVICE = { name: "metrics-server", namespace: "kube-system" } as const;

/** The APIService metrics-server serves. */
export const METRICS_APISERVICE = "v1beta1.metrics.k8s.io";

/** One object and the REST path it is applied at. */
export interface AppliedObject {
  readonly path: string;
  readonly body: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: {
      readonly name: string;
      readonly namespace?: string;
      readonly labels?: Readonly<Record<string, string>>;
    };
    readonly [field: string]: unknown;
  };
}

const RBAC = "/apis/rbac.authorization.k8s.io/v1";
const LABELS = {
  "app.kubernetes.io/name": "metrics-server",
  "app.kubernetes.io/managed-by": "kubemark-cluster",
};
const USER = { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: METRICS_SERVER_USER };

/** REST path of the APIService. */
export function apiServicePath(): string {
  return `/apis/apiregistration.k8s.io/v1/apiservices/${METRICS_APISERVICE}`;
}

/**
 * Every object, in apply order (RBAC before the APIService makes the aggregator call it).
 * `port` is metrics-server's loopback port; `caBundle` the PEM of the CA its serving certificate
 * chains to.
 *
 * The Service is an ExternalName one for `localhost`: the aggregator dials an ExternalName at that
 * name and the APIService's port, with the Service's DNS name as the TLS server name. A Service
 * with Endpoints (what --enable-aggregator-routing or kube-proxy would route to) cannot point at
 * 127.0.0.1: Endpoints and EndpointSlices refuse loopback addresses.
 */
export function metricsServerObjects(port: number, caBundle: string): AppliedObject[] {
  const { name, namespace } = METRICS_SERVER_SERVICE;
  return [
    {
      path: `${RBAC}/clusterroles/system:aggregated-metrics-reader`,
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: {
          name: "system:aggregated-metrics-reader",
          labels: {
            ...LABELS,
            "rbac.authorization.k8s.io/aggregate-to-view": "true",
            "rbac.authorization.k8s.io/aggregate-to-edit": "true",
            "rbac.authorization.k8s.io/aggregate-to-admin": "true",
          },
        },
        rules: [
          { apiGroups: ["metrics.k8s.io"], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] },
        ],
      },
    },
    {
      path: `${RBAC}/clusterroles/system:metrics-server`,
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "system:metrics-server", labels: LABELS },
        rules: [
          { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
          { apiGroups: [""], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] },
        ],
      },
    },
    {
      path: `${RBAC}/clusterrolebindings/system:metrics-server`,
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "system:metrics-server", labels: LABELS },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "system:metrics-server",
        },
        subjects: [USER],
      },
    },
    {
      // TokenReviews and SubjectAccessReviews for the requests the aggregator forwards.
      path: `${RBAC}/clusterrolebindings/metrics-server:system:auth-delegator`,
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "metrics-server:system:auth-delegator", labels: LABELS },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "system:auth-delegator",
        },
        subjects: [USER],
      },
    },
    {
      // The front-proxy CA and allowed names the API server publishes in kube-system.
      path: `${RBAC}/namespaces/kube-system/rolebindings/metrics-server-auth-reader`,
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "metrics-server-auth-reader", namespace: "kube-system", labels: LABELS },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "Role",
          name: "extension-apiserver-authentication-reader",
        },
        subjects: [USER],
      },
    },
    {
      path: `/api/v1/namespaces/${namespace}/services/${name}`,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, namespace, labels: LABELS },
        spec: { type: "ExternalName", externalName: "localhost" },
      },
    },
    {
      path: apiServicePath(),
      body: {
        apiVersion: "apiregistration.k8s.io/v1",
        kind: "APIService",
        metadata: { name: METRICS_APISERVICE, labels: LABELS },
        spec: {
          service: { name, namespace, port },
          group: "metrics.k8s.io",
          version: "v1beta1",
          insecureSkipTLSVerify: false,
          caBundle: Buffer.from(caBundle).toString("base64"),
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
    },
  ];
}

/** An APIService's Available condition, as the aggregator reports it. */
export interface ApiServiceAvailability {
  readonly available: boolean;
  /** `Available` or the condition's reason and message (what is missing). */
  readonly detail: string;
}

/** Reads the Available condition of an APIService object. */
export function apiServiceAvailability(obj: unknown): ApiServiceAvailability {
  const conditions =
    (
      obj as {
        status?: { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
      }
    ).status?.conditions ?? [];
  const c = conditions.find((x) => x.type === "Available");
  if (!c) return { available: false, detail: "no Available condition yet" };
  if (c.status === "True") return { available: true, detail: "Available" };
  return { available: false, detail: `${c.reason ?? "not available"}: ${c.message ?? ""}`.trim() };
}
