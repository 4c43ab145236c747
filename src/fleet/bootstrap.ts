import { randomInt } from "node:crypto";
import type { KubeClient } from "../client/kube-client.ts";
import { isNotFound } from "../client/api-error.ts";
import { FLEET_LABEL } from "../kernel/k8s.ts";
import { applyObject } from "./apply.ts";
import type { KubeObject } from "./objects.ts";

/*
 * What `--identity node` needs in the target cluster, as kubeadm makes it: a bootstrap token
 * (`kubeadm token create`: a Secret bootstrap-token-<id> in kube-system whose group is
 * system:bootstrappers plus an extra group), and the ClusterRoleBindings that let the
 * bootstrappers create CSRs (system:node-bootstrapper), have them auto-approved (nodeclient) and
 * let nodes renew their own certificates (selfnodeclient). Made by the fleet in the cluster it
 * targets, so it works in any cluster whose API server accepts bootstrap tokens
 * (--enable-bootstrap-token-auth) and whose kube-controller-manager approves and signs CSRs.
 */

/** The extra group of the fleet's bootstrap tokens (kubeadm's is system:bootstrappers:kubeadm:default-node-token). */
export const BOOTSTRAP_GROUP = "system:bootstrappers:kubemark-cluster";

/** A bootstrap token: `<id>.<secret>`, the id public (the Secret's name), the secret not. */
export interface BootstrapToken {
  readonly id: string;
  readonly secret: string;
}

const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A new random token in the format the API server's bootstrap authenticator accepts ([a-z0-9]{6}.[a-z0-9]{16}). */
export function newBootstrapToken(pick: (n: number) => number = (n) => randomInt(n)): BootstrapToken {
  const word = (len: number): string =>
    Array.from({ length: len }, () => TOKEN_CHARS[pick(TOKEN_CHARS.length)]!).join("");
  return { id: word(6), secret: word(16) };
}

/** The bearer token text (for a kubeconfig or a 0600 file; never for argv or logs). */
export function tokenText(t: BootstrapToken): string {
  return `${t.id}.${t.secret}`;
}

/** The token's Secret in kube-system, as `kubeadm token create` writes it. */
export function bootstrapTokenSecret(t: BootstrapToken, expiresAt: Date, fleet: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `bootstrap-token-${t.id}`,
      namespace: "kube-system",
      labels: { [FLEET_LABEL]: fleet },
    },
    type: "bootstrap.kubernetes.io/token",
    stringData: {
      description: `kubemark-cluster fleet ${fleet}: hollow nodes' TLS bootstrap`,
      "token-id": t.id,
      "token-secret": t.secret,
      expiration: expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
      "usage-bootstrap-authentication": "true",
      "auth-extra-groups": BOOTSTRAP_GROUP,
    },
  };
}

function binding(name: string, role: string, group: string): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group }],
  };
}

/**
 * kubeadm's three bindings (kubeadm:kubelet-bootstrap, kubeadm:node-autoapprove-bootstrap,
 * kubeadm:node-autoapprove-certificate-rotation), for the fleet's bootstrap group.
 */
export function nodeBootstrapBindings(group: string = BOOTSTRAP_GROUP): KubeObject[] {
  return [
    binding("kubemark-cluster:kubelet-bootstrap", "system:node-bootstrapper", group),
    binding(
      "kubemark-cluster:node-autoapprove-bootstrap",
      "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
      group,
    ),
    binding(
      "kubemark-cluster:node-autoapprove-certificate-rotation",
      "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
      "system:nodes",
    ),
  ];
}

/**
 * Makes the bindings (server-side apply) and a new bootstrap token valid for `ttlMs` from `now`;
 * returns the token for the engines (to be passed in a 0600 file, never printed).
 */
export async function ensureNodeBootstrap(
  client: KubeClient,
  opts: { fleet: string; now: number; ttlMs: number },
): Promise<BootstrapToken> {
  for (const b of nodeBootstrapBindings()) await applyObject(client, b);
  const token = newBootstrapToken();
  await applyObject(client, bootstrapTokenSecret(token, new Date(opts.now + opts.ttlMs), opts.fleet));
  return token;
}

/** A bootstrap token Secret as listed (its data base64). */
interface TokenSecret {
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** The fleets' bootstrap token Secrets in kube-system (`fleet`: that fleet's only; else every fleet's). */
async function tokenSecrets(client: KubeClient, fleet?: string): Promise<TokenSecret[]> {
  const list = await client.get<{ items: TokenSecret[] }>("/api/v1/namespaces/kube-system/secrets", {
    labelSelector: fleet === undefined ? FLEET_LABEL : `${FLEET_LABEL}=${fleet}`,
    fieldSelector: "type=bootstrap.kubernetes.io/token",
  });
  return list.items;
}

/**
 * The token of a fleet's bootstrap Secret that is valid for at least `minLeftMs` after `now`
 * (the one with the latest expiration), or undefined.
 */
export function usableToken(
  secrets: readonly TokenSecret[],
  now: number,
  minLeftMs: number,
): BootstrapToken | undefined {
  let best: { token: BootstrapToken; expires: number } | undefined;
  for (const s of secrets) {
    const field = (k: string): string | undefined => {
      const v = s.data?.[k];
      return v === undefined ? undefined : Buffer.from(v, "base64").toString();
    };
    const id = field("token-id");
    const secret = field("token-secret");
    const expiration = field("expiration");
    const expires = expiration === undefined ? Infinity : Date.parse(expiration);
    if (!id || !secret || !(expires - now >= minLeftMs)) continue;
    if (!best || expires > best.expires) best = { token: { id, secret }, expires };
  }
  return best?.token;
}

/**
 * {@link ensureNodeBootstrap} that re-uses the fleet's token while it has `minLeftMs` left, so
 * `create` and `scale` again do not pile up tokens; the bindings are applied either way.
 */
export async function ensureFleetBootstrap(
  client: KubeClient,
  opts: { fleet: string; now: number; ttlMs: number; minLeftMs: number },
): Promise<BootstrapToken> {
  const kept = usableToken(await tokenSecrets(client, opts.fleet), opts.now, opts.minLeftMs);
  if (!kept) return ensureNodeBootstrap(client, opts);
  for (const b of nodeBootstrapBindings()) await applyObject(client, b);
  return kept;
}

/** Whether a fleet other than `fleet` has a bootstrap token in the cluster (then kubeadm's bindings stay). */
export async function otherFleetsBootstrap(client: KubeClient, fleet: string): Promise<boolean> {
  return (await tokenSecrets(client)).some((s) => s.metadata.labels?.[FLEET_LABEL] !== fleet);
}

/** A CSR as `removeNodeBootstrap` and `verify` read it. */
export interface FleetCsr {
  metadata: { name: string; creationTimestamp?: string };
  spec: { username?: string; signerName?: string };
  status?: { certificate?: string; conditions?: { type: string }[] };
}

/**
 * The CSRs a fleet made: those of its bootstrap users (system:bootstrap:<token id>) and those
 * its nodes made for themselves (renewals: system:node:<name>), never another fleet's.
 */
export function fleetCsrs<T extends FleetCsr>(
  csrs: readonly T[],
  bootstrapUsers: ReadonlySet<string>,
  nodes: ReadonlySet<string>,
): T[] {
  return csrs.filter((c) => {
    const user = c.spec.username ?? "";
    return bootstrapUsers.has(user) || (user.startsWith("system:node:") && nodes.has(user.slice(12)));
  });
}

/** The users a fleet's bootstrap tokens authenticate as (system:bootstrap:<token id>). */
function bootstrapUsers(secrets: readonly TokenSecret[]): Set<string> {
  return new Set(secrets.map((s) => `system:bootstrap:${s.metadata.name.replace(/^bootstrap-token-/, "")}`));
}

/** Lists every CSR of the cluster. */
export async function listCsrs(client: KubeClient): Promise<FleetCsr[]> {
  return (await client.get<{ items: FleetCsr[] }>(CSR_LIST)).items;
}

/**
 * Removes a fleet's bootstrap: its token Secrets (by the fleet label) and the CSRs the fleet made
 * (by its tokens' users, system:bootstrap:<id>, and by its `nodes`, system:node:<name>); with
 * `bindings`, the three ClusterRoleBindings too (when no other fleet needs them: see
 * {@link otherFleetsBootstrap}). Objects already gone are fine.
 */
export async function removeNodeBootstrap(
  client: KubeClient,
  opts: { fleet: string; bindings: boolean; nodes?: readonly string[] | undefined },
): Promise<{ tokens: number; csrs: number }> {
  const gone = (err: unknown): void => {
    if (!isNotFound(err)) throw err;
  };
  const secrets = await tokenSecrets(client, opts.fleet);
  const mine = fleetCsrs(await listCsrs(client), bootstrapUsers(secrets), new Set(opts.nodes ?? []));
  let removedCsrs = 0;
  for (const c of mine) {
    await client.request({ method: "DELETE", path: `${CSR_LIST}/${c.metadata.name}` }).catch(gone);
    removedCsrs++;
  }
  for (const s of secrets) {
    await client
      .request({ method: "DELETE", path: `/api/v1/namespaces/kube-system/secrets/${s.metadata.name}` })
      .catch(gone);
  }
  if (opts.bindings) await removeBootstrapBindings(client);
  return { tokens: secrets.length, csrs: removedCsrs };
}

/** Deletes kubeadm's three bindings as the fleets make them (already gone is fine). */
export async function removeBootstrapBindings(client: KubeClient): Promise<void> {
  for (const b of nodeBootstrapBindings()) {
    await client
      .request({
        method: "DELETE",
        path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${b.metadata.name}`,
      })
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
  }
}

const CSR_LIST = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
