/**
 * Issue #20's in-cluster "done when", checked against a real worker's fleet with `--identity node`:
 * the fleet's ServiceAccount is bootstrap-only for the kubelets (its ClusterRole and what the API
 * server lets it do), a pod on a hollow node with a Secret, a ConfigMap and a projected token runs,
 * the audit log shows that node's own user watching the Secret and the ConfigMap and creating the
 * TokenRequests, and the engine pods' logs carry no warning about kubelet traffic left out.
 */
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { TestContext } from "node:test";
import { mayUser, type AccessAttributes } from "../src/client/access-review.ts";
import type { KubeClient } from "../src/client/kube-client.ts";
import { clusterRoleName } from "../src/fleet/objects.ts";
import { WORKLOAD_NAME } from "../src/fleet/spec.ts";
import { eventually, kubectlPath, run } from "./harness.ts";

/** What a node identity's fleet ServiceAccount must not be granted: the kubelet's own requests. */
const KUBELET_RESOURCES = [
  "pods",
  "pods/status",
  "nodes/status",
  "leases",
  "secrets",
  "configmaps",
  "serviceaccounts",
  "serviceaccounts/token",
];

/** Where the check runs: the fleet, the cluster, the node the pod goes to. */
export interface IdentityCheckTarget {
  readonly admin: KubeClient;
  readonly kubeconfig: string;
  /** The cluster's audit log (`up --audit`). */
  readonly auditLog: string;
  /** The fleet's namespace and name (`create`'s defaults: kubemark, kubemark). */
  readonly namespace: string;
  readonly fleet: string;
  /** What `create` wrote to stderr (its progress lines). */
  readonly createStderr: string;
  readonly node: string;
}

/** Runs the four checks; leaves the test's pod, Secret and ConfigMap removed. */
export async function checkNodeIdentityFleet(t: TestContext, c: IdentityCheckTarget): Promise<void> {
  assert.match(c.createStderr, /identity: node \(the API server runs the Node authorizer\)/);
  await checkBootstrapOnlyServiceAccount(t, c);
  const ns = "default";
  const names = { pod: "identity-pod", secret: "identity-secret", configMap: "identity-config" };
  try {
    const tokens = await runPodWithReferences(c.admin, ns, names, c.node);
    await checkAuditLog(t, c, ns, names, tokens);
    await checkEngineLogs(t, c, names.pod);
  } finally {
    for (const path of [
      `/api/v1/namespaces/${ns}/pods/${names.pod}`,
      `/api/v1/namespaces/${ns}/secrets/${names.secret}`,
      `/api/v1/namespaces/${ns}/configmaps/${names.configMap}`,
    ])
      await c.admin.request({ method: "DELETE", path }).catch(() => undefined);
  }
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

/**
 * The fleet's ClusterRole, read from the API server, grants nothing on what a kubelet reads and
 * writes as itself (Nodes only list/watch, the hollow kube-proxy's, as system:node-proxier), and
 * SubjectAccessReviews for the ServiceAccount's user over all its bindings say the same.
 */
async function checkBootstrapOnlyServiceAccount(t: TestContext, c: IdentityCheckTarget): Promise<void> {
  const role = await c.admin.get<{ rules?: Rule[] }>(
    `/apis/rbac.authorization.k8s.io/v1/clusterroles/${encodeURIComponent(clusterRoleName(c.fleet))}`,
  );
  const rules = role.rules ?? [];
  for (const r of rules) {
    const res = r.resources ?? [];
    assert.ok(!res.includes("*") && !r.verbs.includes("*"), `no wildcard: ${JSON.stringify(r)}`);
    for (const k of KUBELET_RESOURCES)
      assert.ok(!res.includes(k), `the fleet's ClusterRole grants nothing on ${k}: ${JSON.stringify(r)}`);
    if (res.includes("nodes"))
      assert.deepEqual([...r.verbs].sort(), ["list", "watch"], `nodes: the proxy's list/watch only`);
  }
  t.diagnostic(
    `ClusterRole ${clusterRoleName(c.fleet)}: ${rules.map((r) => `${r.resources?.join(",")}[${r.verbs.join(",")}]`).join(" ")}`,
  );
  const user = `system:serviceaccount:${c.namespace}:${WORKLOAD_NAME}`;
  const kubeletRequests: [verb: string, resource: string, extra: Partial<AccessAttributes>][] = [
    ["create", "nodes", {}],
    ["patch", "nodes", { subresource: "status", name: c.node }],
    ["watch", "pods", {}],
    ["patch", "pods", { subresource: "status", namespace: "default" }],
    ["update", "leases", { group: "coordination.k8s.io", namespace: "kube-node-lease", name: c.node }],
    ["watch", "secrets", { namespace: "default" }],
    ["watch", "configmaps", { namespace: "default" }],
    ["create", "serviceaccounts", { subresource: "token", namespace: "default", name: "default" }],
  ];
  const allowed: string[] = [];
  for (const [verb, resource, extra] of kubeletRequests) {
    const groups = [
      "system:serviceaccounts",
      `system:serviceaccounts:${c.namespace}`,
      "system:authenticated",
    ];
    if (await mayUser(c.admin, user, groups, { ...extra, verb, resource }))
      allowed.push(`${verb} ${resource}${extra.subresource ? `/${extra.subresource}` : ""}`);
  }
  assert.deepEqual(allowed, [], `${user} may make none of a kubelet's requests`);
  t.diagnostic(`${user}: denied all ${kubeletRequests.length} kubelet requests (SubjectAccessReview)`);
}

/**
 * Creates a Secret, a ConfigMap and a pod bound to `node` that mounts both, takes a key of each as
 * an environment variable and projects a service-account token with an audience of its own;
 * waits until it is Running. Returns how many projected tokens the admitted pod has (the
 * ServiceAccount admission plugin adds kube-api-access's).
 */
async function runPodWithReferences(
  admin: KubeClient,
  ns: string,
  names: { pod: string; secret: string; configMap: string },
  node: string,
): Promise<number> {
  const base = `/api/v1/namespaces/${ns}`;
  await admin.request({
    method: "POST",
    path: `${base}/secrets`,
    body: { metadata: { name: names.secret }, stringData: { password: "not-a-real-one" } },
  });
  await admin.request({
    method: "POST",
    path: `${base}/configmaps`,
    body: { metadata: { name: names.configMap }, data: { mode: "test" } },
  });
  await admin.request({
    method: "POST",
    path: `${base}/pods`,
    body: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: names.pod },
      spec: {
        nodeName: node,
        containers: [
          {
            name: "app",
            image: "example.com/app:1",
            env: [
              { name: "PASSWORD", valueFrom: { secretKeyRef: { name: names.secret, key: "password" } } },
              { name: "MODE", valueFrom: { configMapKeyRef: { name: names.configMap, key: "mode" } } },
            ],
            volumeMounts: [
              { name: "secret", mountPath: "/secret" },
              { name: "config", mountPath: "/config" },
              { name: "vault-token", mountPath: "/var/run/vault" },
            ],
          },
        ],
        volumes: [
          { name: "secret", secret: { secretName: names.secret } },
          { name: "config", configMap: { name: names.configMap } },
          {
            name: "vault-token",
            projected: {
              sources: [
                { serviceAccountToken: { audience: "vault", expirationSeconds: 3600, path: "token" } },
              ],
            },
          },
        ],
      },
    },
  });
  const running = await eventually(`pod ${ns}/${names.pod} Running on ${node}`, 90_000, async () => {
    const p = await admin.get<{ status?: { phase?: string } }>(`${base}/pods/${names.pod}`);
    return { done: p.status?.phase === "Running", status: p.status?.phase ?? "none" };
  });
  assert.equal(running.status, "Running");
  const pod = await admin.get<{
    spec: { volumes?: { projected?: { sources?: { serviceAccountToken?: unknown }[] } }[] };
  }>(`${base}/pods/${names.pod}`);
  return (pod.spec.volumes ?? [])
    .flatMap((v) => v.projected?.sources ?? [])
    .filter((s) => s.serviceAccountToken).length;
}

/** The fields of an audit event this scan reads. */
interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

/** `user`'s requests in namespace `ns` from the audit log: "<verb> <resource>[/<sub>] <name> <code>" -> count. */
async function auditRequests(auditLog: string, user: string, ns: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const quoted = JSON.stringify(user);
  for await (const line of createInterface({ input: createReadStream(auditLog) })) {
    if (!line.includes(quoted)) continue;
    const ev = JSON.parse(line) as AuditEvent;
    const ref = ev.objectRef;
    if (ev.user.username !== user || ref?.namespace !== ns || !ref.resource) continue;
    const key = `${ev.verb} ${ref.resource}${ref.subresource ? `/${ref.subresource}` : ""} ${ref.name ?? "-"} ${ev.responseStatus?.code ?? 0}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Successful (2xx) requests among `counts` whose key starts with one of `prefixes`. */
function succeeded(counts: Map<string, number>, prefixes: string[]): number {
  let n = 0;
  for (const [k, v] of counts) if (prefixes.some((p) => k.startsWith(p)) && / 2\d\d$/.test(k)) n += v;
  return n;
}

/**
 * The audit log: the node's own user (system:node:<node>) watched (or listed or read) the pod's
 * Secret and ConfigMap by name and created one TokenRequest per projected token, with 2xx codes.
 * Under a shared identity none of these requests would carry that user.
 */
async function checkAuditLog(
  t: TestContext,
  c: IdentityCheckTarget,
  ns: string,
  names: { secret: string; configMap: string },
  tokens: number,
): Promise<void> {
  const user = `system:node:${c.node}`;
  const reads = (resource: string, name: string): string[] =>
    ["watch", "list", "get"].map((v) => `${v} ${resource} ${name} `);
  const secretReads = reads("secrets", names.secret);
  const configReads = reads("configmaps", names.configMap);
  const tokenCreates = ["create serviceaccounts/token default "];
  let counts = new Map<string, number>();
  await eventually(
    `${user}'s Secret and ConfigMap watches and TokenRequests in the audit log`,
    60_000,
    async () => {
      counts = await auditRequests(c.auditLog, user, ns);
      const s = succeeded(counts, secretReads);
      const m = succeeded(counts, configReads);
      const k = succeeded(counts, tokenCreates);
      return {
        done: s > 0 && m > 0 && k >= tokens,
        status: `secret ${s}, configmap ${m}, tokens ${k}/${tokens}`,
      };
    },
  );
  t.diagnostic(
    `audit log, user ${user} in namespace ${ns}: ${[...counts].map(([k, v]) => `${k} x${v}`).join("; ")}`,
  );
  assert.ok(tokens >= 1, "the pod has a projected token");
  assert.ok(succeeded(counts, secretReads) > 0, `${user} watched Secret ${names.secret}`);
  assert.ok(succeeded(counts, configReads) > 0, `${user} watched ConfigMap ${names.configMap}`);
  assert.ok(succeeded(counts, tokenCreates) >= tokens, `${user} created ${tokens} TokenRequests`);
}

/**
 * The engine pods' logs (kubectl logs, through the worker's kubelet): no warning that the identity
 * may not make some kubelet requests, no line naming skipped traffic, and no warning or error
 * about the test's pod (a refused TokenRequest shows as "pod start failed; retrying").
 */
async function checkEngineLogs(t: TestContext, c: IdentityCheckTarget, pod: string): Promise<void> {
  const list = await c.admin.get<{ items: { metadata: { name: string } }[] }>(
    `/api/v1/namespaces/${c.namespace}/pods`,
    { labelSelector: "name=hollow-node" },
  );
  assert.ok(list.items.length > 0, "the fleet has engine pods");
  let lines = 0;
  const warnings: string[] = [];
  for (const p of list.items) {
    const r = await run(kubectlPath(), [
      "--kubeconfig",
      c.kubeconfig,
      "logs",
      "-n",
      c.namespace,
      p.metadata.name,
      "--all-containers",
    ]);
    assert.equal(r.code, 0, `kubectl logs ${p.metadata.name}: ${r.stderr}`);
    for (const line of r.stdout.split("\n")) {
      if (!line.trim()) continue;
      lines++;
      assert.doesNotMatch(
        line,
        /may not make some kubelet requests|left out|"skipped":\["/,
        `${p.metadata.name}: ${line}`,
      );
      let level: number;
      try {
        level = (JSON.parse(line) as { level?: number }).level ?? 0;
      } catch {
        continue; // not one of the engine's JSON lines
      }
      if (level >= 40) {
        warnings.push(`${p.metadata.name}: ${line}`);
        assert.ok(!line.includes(`/${pod}`), `no warning about the test's pod: ${line}`);
      }
    }
  }
  t.diagnostic(
    `engine logs: ${list.items.length} pods, ${lines} lines, ${warnings.length} warn/error lines${warnings.length ? `:\n${warnings.slice(0, 5).join("\n")}` : ""}`,
  );
}
