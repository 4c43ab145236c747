import { test } from "node:test";
import assert from "node:assert/strict";
import { kubemarkStatefulSet } from "./kubemark-objects.ts";
import { hollowNodeClusterRole, identityObjects, targetSecret } from "./objects.ts";
import { podResources, statefulSet, workloadObjects } from "./workload-objects.ts";
import { changedShards } from "./runtime/in-cluster.ts";
import { nodeIndex, parseNodeCount, shardCount, shardNodes, validateNamespace } from "./spec.ts";
import { inClusterSpec } from "./testdata/fleet-spec.ts";
import { BadInputError } from "../kernel/errors.ts";

const spec = inClusterSpec;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

test("the hollow-node ClusterRole grants no Secret, token or workload access, and no deletes of Nodes", () => {
  const rules = hollowNodeClusterRole("f").rules as Rule[];
  const resources = rules.flatMap((r) => r.resources);
  for (const never of [
    "secrets",
    "configmaps",
    "serviceaccounts/token",
    "deployments",
    "statefulsets",
    "*",
  ]) {
    assert.ok(!resources.includes(never), `${never} is not granted`);
  }
  assert.ok(!rules.some((r) => r.verbs.includes("*")), "no wildcard verbs");
  const nodes = rules.find((r) => r.resources.includes("nodes"));
  assert.ok(nodes && !nodes.verbs.includes("delete"));
  const pods = rules.find((r) => r.resources.includes("pods"));
  assert.deepEqual(
    pods?.verbs,
    ["get", "list", "watch", "delete"],
    "a kubelet deletes its terminated pods, nothing more",
  );
});

test("identity objects: Leases only in kube-node-lease; the token Secret only when asked for", () => {
  const objs = identityObjects(spec, false);
  const role = objs.find((o) => o.kind === "Role");
  assert.equal(role?.metadata.namespace, "kube-node-lease");
  assert.ok(!objs.some((o) => o.kind === "Secret"));
  const withToken = identityObjects(spec, true).find((o) => o.kind === "Secret");
  assert.equal(withToken?.type, "kubernetes.io/service-account-token");
  for (const o of objs) assert.equal(o.metadata.labels?.["kubemark-cluster.io/fleet"], "kubemark");
});

test("the StatefulSet: shards from the pod name, unprivileged, read-only, no host mounts, off hollow nodes", () => {
  const sts = statefulSet(spec, { engineHash: "abc" }) as unknown as {
    spec: {
      replicas: number;
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          automountServiceAccountToken: boolean;
          securityContext: Record<string, unknown>;
          affinity: unknown;
          volumes: Array<Record<string, unknown>>;
          containers: Array<{
            args: string[];
            securityContext: {
              allowPrivilegeEscalation: boolean;
              readOnlyRootFilesystem: boolean;
              privileged?: boolean;
            };
          }>;
        };
      };
    };
  };
  assert.equal(sts.spec.replicas, 3);
  const pod = sts.spec.template.spec;
  assert.equal(
    sts.spec.template.metadata.labels["name"],
    "hollow-node",
    "the seed's kubectl -l name=hollow-node works",
  );
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.securityContext["runAsNonRoot"], true);
  const c = pod.containers[0]!;
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.privileged, undefined);
  assert.ok(!pod.volumes.some((v) => "hostPath" in v), "no host mounts");
  assert.ok(c.args.includes("--shard=$(POD_NAME)"));
  assert.ok(c.args.includes("--nodes=500"));
  assert.match(JSON.stringify(pod.affinity), /"hollow-node","operator":"NotIn"/);
  const versioned = statefulSet({ ...spec, kubeletVersion: "v1.31.0" }, { engineHash: "abc" });
  assert.match(
    JSON.stringify(versioned),
    /--kubelet-version=v1.31.0/,
    "the version is a flag: no image rebuild",
  );
});

test("the StatefulSet: each pod serves its nodes' kubelet API on its pod IP, node i on 10250 + i, that IP their InternalIP", () => {
  const sts = statefulSet(spec, { engineHash: "abc" }) as unknown as {
    spec: {
      template: {
        spec: {
          containers: Array<{
            args: string[];
            env: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
          }>;
        };
      };
    };
  };
  const c = sts.spec.template.spec.containers[0]!;
  assert.deepEqual(
    c.env.find((e) => e.name === "POD_IP"),
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    "the pod's IP from the downward API",
  );
  for (const arg of ["--kubelet-port=10250", "--kubelet-address=$(POD_IP)", "--node-ip=$(POD_IP)"]) {
    assert.ok(c.args.includes(arg), `${arg} in ${c.args.join(" ")}`);
  }
  assert.ok(10250 + spec.nodesPerShard - 1 <= 65535, "every node of a pod has a port");
});

test("two clusters: pods read the target's credentials from the Secret; none are in the manifests", () => {
  const two = { ...spec, twoCluster: true };
  const text = JSON.stringify(statefulSet(two, { engineHash: "x" }));
  assert.match(text, /--credentials-dir=target/);
  assert.match(text, /hollow-node-target/);
  const secret = targetSecret(two, { server: "https://t:6443", caCrt: "CA", token: "s3cret" });
  assert.equal((secret["stringData"] as Record<string, string>)["token"], "s3cret");
  assert.match(
    (secret["stringData"] as Record<string, string>)["kubelet.kubeconfig"] ?? "",
    /"token": "s3cret"/,
  );
});

test("the kubemark engine: one pod per node with the flags that avoid its defects", () => {
  const km = JSON.stringify(
    kubemarkStatefulSet({ ...spec, engine: "kubemark", nodesPerShard: 1, nodes: 7, image: "k:1" }),
  );
  assert.match(km, /"replicas":7/);
  assert.match(km, /--use-host-image-service=false/);
  assert.match(km, /--morph=kubelet/);
  assert.doesNotMatch(km, /--morph=proxy/);
  assert.throws(() => workloadObjects(spec), /bundle/);
  const prebuilt = workloadObjects({ ...spec, image: "reg/hollow:1", prebuiltEngine: true });
  assert.ok(
    !prebuilt.some((o) => o.metadata.name === "hollow-node-engine"),
    "an engine image needs no ConfigMap",
  );
  assert.match(JSON.stringify(prebuilt.at(-1)), /\/opt\/hollow-node\/hollow-node.mjs/);
});

test("pod resources grow with the nodes per pod", () => {
  const small = podResources(10);
  const big = podResources(1000);
  assert.equal(small.requests["memory"], "192Mi");
  assert.ok(Number.parseInt(big.requests["memory"]!, 10) > 250);
  assert.equal(big.limits["memory"], `${Number.parseInt(big.requests["memory"]!, 10) * 2}Mi`);
});

test("shards: counts, slices, and which shards change on a scale", () => {
  assert.equal(shardCount(spec), 3);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => shardNodes(spec, i)),
    [500, 500, 200, 0],
  );
  assert.deepEqual(changedShards(spec, { ...spec, nodes: 1100 }), [2], "only the last shard shrinks");
  assert.deepEqual(
    changedShards(spec, { ...spec, nodes: 2000 }),
    [2],
    "the partial shard grows; new ones start fresh",
  );
  assert.deepEqual(changedShards(spec, { ...spec, nodes: 300 }), [0], "shard 0 shrinks; the others go away");
  assert.deepEqual(changedShards(spec, { ...spec, nodes: 1500 }), [2]);
  assert.deepEqual(changedShards({ ...spec, nodes: 1000 }, { ...spec, nodes: 1500 }), []);
});

test("node counts and names are validated", () => {
  assert.equal(parseNodeCount(undefined, "create", 10), 10);
  assert.equal(parseNodeCount("120", "scale"), 120);
  assert.equal(parseNodeCount("0", "scale"), 0);
  for (const [v, verb] of [
    ["-5", "create"],
    ["abc", "create"],
    ["0", "create"],
    ["1.5", "scale"],
    ["200000", "scale"],
  ] as const) {
    assert.throws(() => parseNodeCount(v, verb), BadInputError, `${verb} ${v}`);
  }
  assert.throws(() => parseNodeCount(undefined, "scale"), /needs the number of nodes/);
  assert.equal(nodeIndex("hollow-node-12", "hollow-node"), 12);
  assert.equal(nodeIndex("hollow-node-012", "hollow-node"), undefined);
  assert.equal(nodeIndex("other-1", "hollow-node"), undefined);
  assert.throws(() => validateNamespace("Bad_NS"), BadInputError);
});

test("identity objects: the kubelet endpoints may review tokens and access, and read the client CA, nothing more", () => {
  const objs = identityObjects(spec, false);
  const delegator = objs.find(
    (o) => o.kind === "ClusterRoleBinding" && o.metadata.name.endsWith(":auth-delegator"),
  );
  assert.deepEqual(delegator?.["roleRef"], {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: "system:auth-delegator",
  });
  const reader = objs.find((o) => o.kind === "RoleBinding" && o.metadata.namespace === "kube-system");
  assert.deepEqual(reader?.["roleRef"], {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "Role",
    name: "extension-apiserver-authentication-reader",
  });
  for (const b of [delegator, reader]) {
    assert.deepEqual(b?.["subjects"], [
      { kind: "ServiceAccount", name: "hollow-node", namespace: spec.namespace },
    ]);
  }
  assert.ok(
    !objs.some((o) => o.kind === "Role" && o.metadata.namespace === "kube-system"),
    "no Role of ours there",
  );
});
