/**
 * `--identity fleet`: the engine runs as `create` runs it, as a fleet's least-privilege
 * ServiceAccount (token authentication, RBAC), set up in namespace kubemark-bench and removed after.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { loadClusterAccess } from "../../src/client/kubeconfig.ts";
import { applyObject, getObject, objectPath } from "../../src/fleet/apply.ts";
import {
  TOKEN_SECRET,
  clusterRoleName,
  identityObjects,
  namespaceObject,
  targetKubeconfig,
} from "../../src/fleet/objects.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { waitUntil } from "../../src/kernel/wait.ts";

const BENCH_FLEET = { namespace: "kubemark-bench", fleet: "kubemark-bench" };

/**
 * Sets up the identity `create` gives hollow nodes (a least-privilege ServiceAccount with a token)
 * and returns a kubeconfig file with it, readable by this user only, in a directory of its own.
 */
export async function fleetIdentity(client: KubeClient, adminKubeconfig: string): Promise<string> {
  await applyObject(client, namespaceObject(BENCH_FLEET));
  for (const obj of identityObjects(BENCH_FLEET, true)) await applyObject(client, obj);
  const access = await loadClusterAccess({ kubeconfig: adminKubeconfig, env: process.env });
  let token = "";
  await waitUntil(
    async () => {
      const secret = await getObject<{ data?: Record<string, string> }>(
        client,
        objectPath("Secret", TOKEN_SECRET, BENCH_FLEET.namespace),
      );
      token = Buffer.from(secret?.data?.["token"] ?? "", "base64").toString();
      return { done: token !== "", status: "waiting for the ServiceAccount token" };
    },
    { what: "the fleet's token", timeoutMs: 30_000, intervalMs: 500, clock: realClock },
  );
  const dir = await mkdtemp(join(tmpdir(), "kubemark-bench-identity-"));
  const file = join(dir, "kubeconfig");
  const caCrt = access.ca?.toString() ?? "";
  await writeFile(file, targetKubeconfig({ server: access.server, caCrt, token }), { mode: 0o600 });
  return file;
}

/** Removes what {@link fleetIdentity} set up (best effort). */
export async function removeFleetIdentity(client: KubeClient): Promise<void> {
  const name = clusterRoleName(BENCH_FLEET.fleet);
  for (const path of [
    `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`,
    `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/kube-node-lease/rolebindings/${name}`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/kube-node-lease/roles/${name}`,
    `/api/v1/namespaces/${BENCH_FLEET.namespace}`,
  ]) {
    await client.request({ method: "DELETE", path }).catch(() => undefined);
  }
}
