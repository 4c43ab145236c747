/** `setup`: the namespace and the hollow nodes' identity, before any engine runs. */
import type { KubeClient } from "../../client/kube-client.ts";
import { KubemarkError } from "../../kernel/errors.ts";
import {
  applyObject,
  createIfAbsent,
  getObject,
  namespaceExists,
  objectPath,
  requirePermissions,
} from "../apply.ts";
import type { FleetContext } from "../context.ts";
import { ensureFleetBootstrap, tokenText } from "../bootstrap.ts";
import { awaitNamespaceDeletion } from "../namespace-deletion.ts";
import { fleetIdentityObjects, recordedIdentity } from "../node-identity.ts";
import {
  TOKEN_SECRET,
  identityObjects,
  namespaceObject,
  targetSecret,
  type TargetCredentials,
} from "../objects.ts";
import { setupPermissions } from "../permissions.ts";
import { podReachableServer } from "../runtime/placement.ts";
import type { FleetRuntime } from "../runtime/runtime.ts";
import type { FleetSpec } from "../spec.ts";

/** What `setup` made or found. */
export interface SetupResult {
  /** Credentials for local engine processes or the two-cluster Secret. */
  readonly credentials: TargetCredentials | undefined;
  /**
   * `--identity node`: the target's server and CA with the fleet's bootstrap token (the
   * credential the engines make their nodes' CSRs with; never printed); else undefined.
   */
  readonly bootstrap: TargetCredentials | undefined;
  readonly namespaceCreated: boolean;
}

/** How long a fleet's bootstrap token is valid; `create`/`scale` make a new one when less than a day is left. */
export const BOOTSTRAP_TOKEN_TTL_MS = 7 * 24 * 3600_000;

/**
 * `setup`: the namespace and the hollow nodes' identity, idempotent. Same cluster: a
 * ServiceAccount with least-privilege RBAC. Two clusters: that identity in the target, and a
 * Secret in the hosting cluster with its token for the target (never printed). A runtime whose
 * processes run outside the cluster gets a long-lived token too. A fleet with a hollow CSI driver
 * (`storage`) gets the driver's RBAC as well. `--identity node`: the ServiceAccount keeps only
 * what the hollow proxy and the CSI controller need, and the target gets a bootstrap token and
 * kubeadm's bindings (bootstrap.ts) for the nodes' CSRs.
 */
export async function setup(
  s: FleetContext,
  runtime: FleetRuntime,
  fleet: Pick<FleetSpec, "storage" | "proxy" | "identity">,
): Promise<SetupResult> {
  const { storage } = fleet;
  const nodeIdentity = recordedIdentity(fleet) === "node";
  await untilNamespaceDeleted(s, s.hosting.client, s.twoCluster ? " in the hosting cluster" : "");
  if (s.twoCluster) await untilNamespaceDeleted(s, s.target.client, " in the target cluster");
  const present = {
    hosting: await namespaceExists(s.hosting.client, s.namespace),
    target: s.twoCluster ? await namespaceExists(s.target.client, s.namespace) : true,
  };
  const perms = setupPermissions(s, runtime, present, storage !== undefined, nodeIdentity);
  await requirePermissions(
    s.hosting.client,
    perms.hosting,
    `setting up the fleet in ${s.hosting.access.server}`,
  );
  if (perms.target.length > 0)
    await requirePermissions(
      s.target.client,
      perms.target,
      `setting up the hollow nodes' identity in ${s.target.access.server}`,
    );
  const spec = {
    namespace: s.namespace,
    fleet: s.fleet,
    storage,
    proxy: fleet.proxy,
    identity: fleet.identity,
  };
  const namespaceCreated = await createIfAbsent(s.hosting.client, namespaceObject(spec));
  if (s.twoCluster) await createIfAbsent(s.target.client, namespaceObject(spec));
  const withToken = runtime.needsToken || s.twoCluster;
  for (const obj of fleetIdentityObjects(spec, withToken)) await applyObject(s.target.client, obj);
  if (s.twoCluster) {
    // The pods' own ServiceAccount in the hosting cluster: no rights, no token mounted.
    await applyObject(s.hosting.client, identityObjects(spec, false)[0]!);
  }
  let credentials: TargetCredentials | undefined;
  if (withToken) {
    credentials = await readToken(s);
    if (s.twoCluster) {
      await applyObject(
        s.hosting.client,
        targetSecret(spec, { ...credentials, server: podReachableServer(s.hosting, credentials.server) }),
      );
    }
  }
  let bootstrap: TargetCredentials | undefined;
  if (nodeIdentity) {
    const token = await ensureFleetBootstrap(s.target.client, {
      fleet: s.fleet,
      now: s.deps.clock.now(),
      ttlMs: BOOTSTRAP_TOKEN_TTL_MS,
      minLeftMs: 24 * 3600_000,
    });
    const target = credentials ?? (await targetAccess(s));
    bootstrap = { server: target.server, caCrt: target.caCrt, token: tokenText(token) };
  }
  return { credentials, bootstrap, namespaceCreated };
}

/**
 * A namespace still being deleted (a `cleanup --all` just before, someone's kubectl) refuses every
 * new object: wait for it to go, then it is made again.
 */
async function untilNamespaceDeleted(s: FleetContext, client: KubeClient, where: string): Promise<void> {
  const ns = s.namespace;
  const d = await awaitNamespaceDeletion(client, ns, {
    clock: s.deps.clock,
    signal: s.deps.signal,
    onWait: () =>
      s.deps.onEvent({
        kind: "step",
        message: `namespace ${ns}${where} is being deleted; waiting for it to go before making it again`,
      }),
  });
  if (d.state === "terminating")
    throw new KubemarkError(
      "CONFLICT",
      `namespace ${ns}${where} is still being deleted after ${Math.round(d.waitedMs / 1000)} s${d.holders ? `: ${d.holders}` : ""}`,
      {
        hint: `run the command again once 'kubectl get namespace ${ns}' finds none (the namespace controller of kube-controller-manager deletes it), or use another namespace (-n)`,
      },
    );
}

/** The target's server and CA as the CLI reached it (an in-cluster fleet of one cluster has no token read). */
async function targetAccess(s: FleetContext): Promise<Omit<TargetCredentials, "token">> {
  const ca = s.target.access.ca;
  if (ca) return { server: s.target.access.server, caCrt: ca.toString() };
  const root = await getObject<{ data?: Record<string, string> }>(
    s.target.client,
    objectPath("ConfigMap", "kube-root-ca.crt", s.namespace),
  );
  const caCrt = root?.data?.["ca.crt"];
  if (!caCrt)
    throw new KubemarkError(
      "NOT_FOUND",
      `no CA for ${s.target.access.server}: the kubeconfig has none and configmap/kube-root-ca.crt -n ${s.namespace} has no ca.crt`,
      { hint: "is kube-controller-manager running its root-ca-cert-publisher controller?" },
    );
  return { server: s.target.access.server, caCrt };
}

/** Waits for the token controller to fill the ServiceAccount token Secret and returns the credentials. */
async function readToken(s: FleetContext): Promise<TargetCredentials> {
  const deadline = s.deps.clock.now() + 30_000;
  for (;;) {
    const secret = await getObject<{ data?: Record<string, string> }>(
      s.target.client,
      objectPath("Secret", TOKEN_SECRET, s.namespace),
    );
    const token = secret?.data?.["token"];
    const ca = secret?.data?.["ca.crt"];
    if (token && ca) {
      const own = s.target.access.ca;
      return {
        server: s.target.access.server,
        caCrt: own ? own.toString() : Buffer.from(ca, "base64").toString(),
        token: Buffer.from(token, "base64").toString(),
      };
    }
    if (s.deps.clock.now() > deadline) {
      throw new KubemarkError(
        "TIMEOUT",
        `secret/${TOKEN_SECRET} -n ${s.namespace} got no token within 30 s`,
        {
          hint: "is kube-controller-manager running with its service-account token controller?",
        },
      );
    }
    await s.deps.clock.sleep(500, s.deps.signal);
  }
}
