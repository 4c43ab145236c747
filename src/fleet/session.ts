/** An open connection to a fleet's clusters, and the fleet recorded there. */
import { KubeApiError } from "../client/api-error.ts";
import { KubemarkError } from "../kernel/errors.ts";
import { getObject, objectPath } from "./apply.ts";
import { readClusterIdentity, type ClusterIdentity } from "./cluster-identity.ts";
import { suggestCommand } from "./command-hint.ts";
import type { FleetContext, FleetDeps } from "./context.ts";
import { connect, type ClusterFlags } from "./endpoints.ts";
import { FLEET_CONFIGMAP } from "./objects.ts";
import type { FleetRuntime } from "./runtime/runtime.ts";
import { fleetRuntime } from "./runtime/runtimes.ts";
import type { FleetMode, FleetSpec } from "./spec.ts";

/** Where a fleet lives: the hosting cluster (workload) and the target (Nodes), and the namespace. */
export interface FleetScope {
  readonly hosting: ClusterFlags;
  /** The cluster the Nodes register into, when not the hosting one. */
  readonly target?: ClusterFlags | undefined;
  readonly namespace: string;
}

/** An open connection to a fleet's clusters. */
export interface Session extends FleetContext {
  /** The runtime of `mode` (local processes or a StatefulSet) for this fleet. */
  runtime(mode: FleetMode): FleetRuntime;
  close(): Promise<void>;
}

/** Connects to the hosting (and target) cluster; fails fast when either is unreachable. */
export async function openSession(deps: FleetDeps, scope: FleetScope): Promise<Session> {
  const hosting = await connect(scope.hosting, deps.env, deps.stateDir, "hosting");
  let target = hosting;
  if (scope.target && (scope.target.kubeconfig || scope.target.context)) {
    try {
      target = await connect(
        { kubeconfig: scope.target.kubeconfig ?? hosting.kubeconfig, context: scope.target.context },
        deps.env,
        deps.stateDir,
        "target",
      );
    } catch (err) {
      await hosting.client.close();
      throw err;
    }
  }
  const twoCluster = target !== hosting && target.access.server !== hosting.access.server;
  const flags = {
    kubeconfig: scope.hosting.kubeconfig,
    context: scope.hosting.context,
    namespace: scope.namespace,
    targetKubeconfig: scope.target?.kubeconfig,
    targetContext: scope.target?.context,
  };
  let identity: Promise<ClusterIdentity> | undefined;
  const session: Session = {
    deps,
    hosting,
    target,
    namespace: scope.namespace,
    twoCluster,
    fleet: scope.namespace,
    suggest: (verbAndArgs) => suggestCommand(flags, verbAndArgs),
    targetIdentity: () => (identity ??= readClusterIdentity(target.client, target.access.ca)),
    runtime: (mode) => fleetRuntime(session, mode),
    close: async () => {
      await hosting.client.close();
      if (target !== hosting) await target.client.close();
    },
  };
  return session;
}

/** The fleet recorded in the hosting cluster, or undefined when there is none. */
export async function readFleet(s: FleetContext): Promise<FleetSpec | undefined> {
  let cm: { data?: Record<string, string> } | undefined;
  try {
    cm = await getObject(s.hosting.client, objectPath("ConfigMap", FLEET_CONFIGMAP, s.namespace));
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) {
      throw new KubemarkError(
        "FORBIDDEN",
        `your identity may not read configmaps in namespace ${s.namespace} of ${s.hosting.access.server} (where the fleet is recorded)`,
        {
          hint: "use a kubeconfig with cluster-admin rights (or one granted the fleet's permissions)",
          cause: err,
        },
      );
    }
    throw err;
  }
  const text = cm?.data?.["spec.json"];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as FleetSpec;
  } catch {
    throw new KubemarkError("API_ERROR", `configmap/${FLEET_CONFIGMAP} -n ${s.namespace} is damaged`, {
      hint: `run '${s.suggest("cleanup")}' and create the fleet again`,
    });
  }
}
