/**
 * A fleet's `--identity`: whether its hollow kubelets run as system:node:<name> (each its own
 * certificate, from the kubelet's TLS bootstrap) or share the fleet's ServiceAccount; whether the
 * target cluster can authorize node identities; and the fleet's RBAC in each case.
 */
import type { KubeClient } from "../client/kube-client.ts";
import { mayUser } from "../client/access-review.ts";
import { KubeApiError } from "../client/api-error.ts";
import { BadInputError, KubemarkError } from "../kernel/errors.ts";
import { NODE_LEASE_NAMESPACE } from "../kernel/k8s.ts";
import {
  clusterRoleName,
  identityObjects,
  ownedLabels,
  storageClusterRules,
  type KubeObject,
  type TargetCredentials,
} from "./objects.ts";
import type { FleetEngine, FleetIdentity, FleetSpec } from "./spec.ts";

/** The made-up node the Node authorizer probe asks about (no Node of that name needs to exist). */
export const PROBE_NODE = "kubemark-cluster-node-authorizer-probe";

/**
 * Whether the API server runs the Node authorizer, asked with a SubjectAccessReview: may the
 * user `system:node:<probe>` (group system:nodes) get the Lease of its own name in
 * kube-node-lease? The Node authorizer allows a node its own Lease whatever its feature gates
 * (node_authorizer.go authorizeLease), and RBAC grants the group system:nodes nothing by default
 * (the system:node ClusterRole has had no binding since 1.8). Undefined when the CLI's identity
 * may not create SubjectAccessReviews.
 */
export async function probeNodeAuthorizer(client: KubeClient): Promise<boolean | undefined> {
  try {
    return await mayUser(client, `system:node:${PROBE_NODE}`, ["system:nodes", "system:authenticated"], {
      verb: "get",
      group: "coordination.k8s.io",
      resource: "leases",
      namespace: NODE_LEASE_NAMESPACE,
      name: PROBE_NODE,
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) return undefined;
    throw err;
  }
}

/** What `create` decided about the identity, and the sentence that says why. */
export interface IdentityChoice {
  readonly identity: FleetIdentity;
  /** Why this identity (for a progress line); undefined when the fleet already had it. */
  readonly why: string | undefined;
}

/** A fleet's recorded identity (specs recorded before `--identity` existed share one). */
export function recordedIdentity(spec: Pick<FleetSpec, "identity">): FleetIdentity {
  return spec.identity ?? "shared";
}

/**
 * The identity a fleet gets: the requested one, else the recorded one, else `node` where the
 * target runs the Node authorizer (`nodeAuthorizer`: the probe's answer, undefined = could not
 * ask). A recorded identity is not switched (the Nodes were registered by it) and upstream
 * kubemark's pods bring their own kubeconfig.
 */
export function chooseIdentity(req: {
  readonly requested: FleetIdentity | undefined;
  readonly recorded: FleetSpec | undefined;
  readonly engine: FleetEngine;
  /** `minimal` traffic shares cluster-wide watches, which a node identity may not make. */
  readonly traffic: FleetSpec["traffic"];
  readonly nodeAuthorizer: boolean | undefined;
  readonly server: string;
  /** `kubemark-cluster cleanup` with the user's flags (for hints). */
  readonly cleanup: string;
}): IdentityChoice {
  const { requested, recorded, server } = req;
  if (recorded) {
    const had = recordedIdentity(recorded);
    if (requested && requested !== had)
      throw new KubemarkError(
        "CONFLICT",
        `the fleet in namespace ${recorded.namespace} runs with --identity ${had}; it cannot be switched to ${requested}`,
        { hint: `run '${req.cleanup}' first, or use another -n/--namespace` },
      );
    return { identity: had, why: undefined };
  }
  if (req.engine === "kubemark") {
    if (requested === "node")
      throw new BadInputError(
        "--identity node is for the hollow-node engine: upstream kubemark's pods use the kubeconfig they are given",
        "leave --identity out, or use --engine hollow-node",
      );
    return { identity: "shared", why: undefined };
  }
  if (req.traffic === "minimal") {
    if (requested === "node")
      throw new BadInputError(
        "--identity node needs --traffic kubelet: minimal traffic shares cluster-wide watches, which the Node authorizer does not allow a node",
        "leave --traffic minimal out, or use --identity shared",
      );
    return { identity: "shared", why: undefined };
  }
  if (requested === "node") {
    if (req.nodeAuthorizer === false)
      throw new BadInputError(
        `--identity node: the API server at ${server} runs no Node authorizer (a SubjectAccessReview for user system:node:${PROBE_NODE} reading its own Lease was not allowed), so nodes with their own certificates could not read their pods or renew their Leases`,
        "start kube-apiserver with --authorization-mode=Node,RBAC (kubeadm's default), or use --identity shared",
      );
    return {
      identity: "node",
      why:
        req.nodeAuthorizer === undefined
          ? "identity: node (--identity node; whether the API server runs the Node authorizer could not be asked: this identity may not create SubjectAccessReviews)"
          : "identity: node (--identity node): each hollow kubelet gets its own certificate, system:node:<name>",
    };
  }
  if (requested === "shared")
    return { identity: "shared", why: "identity: shared (--identity shared): the fleet's ServiceAccount" };
  // Not asked for: node where the Node authorizer can authorize it, else shared with a line that
  // says why and how to ask.
  if (req.nodeAuthorizer === true)
    return {
      identity: "node",
      why: "identity: node (the API server runs the Node authorizer): each hollow kubelet gets its own certificate, system:node:<name>; --identity shared for the fleet's ServiceAccount",
    };
  return {
    identity: "shared",
    why:
      req.nodeAuthorizer === false
        ? "identity: shared (the API server runs no Node authorizer): every hollow kubelet uses the fleet's ServiceAccount"
        : "identity: shared (whether the API server runs the Node authorizer could not be asked: this identity may not create SubjectAccessReviews); --identity node to ask for node identities",
  };
}

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const rule = (apiGroups: string[], resources: string[], verbs: string[]): Rule => ({
  apiGroups,
  resources,
  verbs,
});

/**
 * The fleet ServiceAccount's ClusterRole under `--identity node`: the kubelets' requests go
 * through their own certificates (the Node authorizer), so what is left is the hollow
 * kube-proxy's watches and Events (it keeps the shared identity, as kubemark's proxy has a
 * kubeconfig of its own) and, with a CSI driver, its elected controller's rules and Events.
 */
export function nodeIdentityClusterRole(spec: Pick<FleetSpec, "fleet" | "proxy" | "storage">): KubeObject {
  const rules: Rule[] = [];
  if (spec.proxy)
    rules.push(
      rule([""], ["nodes"], ["list", "watch"]),
      rule([""], ["services"], ["list", "watch"]),
      rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"]),
      rule(["networking.k8s.io"], ["servicecidrs"], ["list", "watch"]),
      rule(["events.k8s.io"], ["events"], ["create", "patch", "update"]),
    );
  if (spec.storage) rules.push(rule([""], ["events"], ["create", "patch"]), ...storageClusterRules());
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: clusterRoleName(spec.fleet), labels: ownedLabels(spec.fleet) },
    rules,
  };
}

/**
 * The fleet's identity objects for its `--identity`: `shared`, objects.ts `identityObjects`
 * as they are; `node`, the same with {@link nodeIdentityClusterRole} and without the
 * kube-node-lease Role (the nodes renew their Leases as themselves).
 */
export function fleetIdentityObjects(
  spec: Pick<FleetSpec, "namespace" | "fleet" | "storage" | "proxy" | "identity">,
  withToken: boolean,
): KubeObject[] {
  const objects = identityObjects(spec, withToken);
  if (recordedIdentity(spec) !== "node") return objects;
  return objects
    .filter((o) => o.metadata.namespace !== NODE_LEASE_NAMESPACE)
    .map((o) => (o.kind === "ClusterRole" ? nodeIdentityClusterRole(spec) : o));
}

/** Secret in the hosting cluster with an in-cluster fleet's bootstrap kubeconfig (`--identity node`). */
export const BOOTSTRAP_SECRET = "hollow-node-bootstrap";
/**
 * Where the pods mount it: the working directory's `bootstrap`, named relative to it in the
 * flag as every other pod path (`--credentials-dir=sa`, `--profile=profile/...`), so the pod
 * template means the same wherever its working directory is.
 */
const BOOTSTRAP_DIR = "bootstrap";

/**
 * The bootstrap credential of an in-cluster fleet's pods (`c`: the target's pod-reachable server
 * and CA with the fleet's bootstrap token), never printed: `token`, `ca.crt` and `server` files
 * for the engine's `--bootstrap-credentials-dir`. Not a kubeconfig: the engine that a pod runs
 * is the bundle, which leaves out the kubeconfig library (`bundle.ts`), so it reads credentials
 * as files, as it reads its ServiceAccount's or a two-cluster fleet's target's.
 */
export function bootstrapSecret(
  spec: Pick<FleetSpec, "namespace" | "fleet">,
  c: TargetCredentials,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: BOOTSTRAP_SECRET, namespace: spec.namespace, labels: ownedLabels(spec.fleet) },
    type: "Opaque",
    stringData: { token: c.token, "ca.crt": c.caCrt, server: c.server },
  };
}

/**
 * What an in-cluster engine pod adds under `--identity node`: the flags, the bootstrap Secret
 * mounted read-only (0440, group the pod's fsGroup: only the engine's user reads it), and no
 * `--cert-dir` (the root is read-only; a restarted pod bootstraps again, as its CSRs are
 * garbage-collected by kube-controller-manager). Nothing under `--identity shared`.
 */
export function podNodeIdentity(
  spec: Pick<FleetSpec, "identity">,
  /** The container's working directory (the pod's relative paths start there). */
  workdir: string,
): {
  args: string[];
  volumes: unknown[];
  mounts: unknown[];
  fsGroup: number | undefined;
} {
  if (recordedIdentity(spec) !== "node") return { args: [], volumes: [], mounts: [], fsGroup: undefined };
  return {
    args: ["--identity=node", `--bootstrap-credentials-dir=${BOOTSTRAP_DIR}`],
    volumes: [
      {
        name: "bootstrap",
        secret: {
          secretName: BOOTSTRAP_SECRET,
          items: ["token", "ca.crt", "server"].map((key) => ({ key, path: key, mode: 0o440 })),
        },
      },
    ],
    mounts: [{ name: "bootstrap", mountPath: `${workdir}/${BOOTSTRAP_DIR}`, readOnly: true }],
    fsGroup: 1000,
  };
}
