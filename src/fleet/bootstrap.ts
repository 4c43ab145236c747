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

/**
 * Removes a fleet's bootstrap: its token Secrets (by the fleet label) and the CSRs those tokens
 * made (user system:bootstrap:<id>); with `bindings`, the three ClusterRoleBindings too (when no
 * other fleet needs them). Objects already gone are fine.
 */
export async function removeNodeBootstrap(
  client: KubeClient,
  opts: { fleet: string; bindings: boolean },
): Promise<{ tokens: number; csrs: number }> {
  const gone = (err: unknown): void => {
    if (!isNotFound(err)) throw err;
  };
  const secrets = await client.get<{ items: { metadata: { name: string } }[] }>(
    "/api/v1/namespaces/kube-system/secrets",
    { labelSelector: `${FLEET_LABEL}=${opts.fleet}`, fieldSelector: "type=bootstrap.kubernetes.io/token" },
  );
  const users = new Set(
    secrets.items.map((s) => `system:bootstrap:${s.metadata.name.replace(/^bootstrap-token-/, "")}`),
  );
  const csrs = await client.get<{ items: { metadata: { name: string }; spec: { username?: string } }[] }>(
    CSR_LIST,
  );
  let removedCsrs = 0;
  for (const c of csrs.items) {
    if (!users.has(c.spec.username ?? "")) continue;
    await client.request({ method: "DELETE", path: `${CSR_LIST}/${c.metadata.name}` }).catch(gone);
    removedCsrs++;
  }
  for (const s of secrets.items) {
    await client
      .request({ method: "DELETE", path: `/api/v1/namespaces/kube-system/secrets/${s.metadata.name}` })
      .catch(gone);
  }
  if (opts.bindings) {
    for (const b of nodeBootstrapBindings()) {
      await client
        .request({
          method: "DELETE",
          path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${b.metadata.name}`,
        })
        .catch(gone);
    }
  }
  return { tokens: secrets.items.length, csrs: removedCsrs };
}

const CSR_LIST = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
