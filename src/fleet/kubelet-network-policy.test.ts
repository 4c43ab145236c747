/**
 * The README's NetworkPolicy for the engine pods' kubelet API (issue 19) names the ports and pods
 * the fleet's StatefulSet serves: every node's port (10250 + i for node i of a pod, at any
 * --nodes-per-pod create accepts) inside its port range, and its pod selector matching the pods of
 * both engines. That the API server accepts it as written: test/integration/kubelet-network-policy.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readmeNetworkPolicy } from "../../test/readme-examples.ts";
import { kubemarkStatefulSet } from "./kubemark-objects.ts";
import type { KubeObject } from "./objects.ts";
import type { FleetSpec } from "./spec.ts";
import { inClusterSpec } from "./testdata/fleet-spec.ts";
import { IN_CLUSTER_KUBELET_PORT, statefulSet } from "./workload-objects.ts";

/** create's --nodes-per-pod upper bound (src/cli/commands/fleet/create.ts). */
const MAX_NODES_PER_POD = 10_000;

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: { args?: string[]; ports?: unknown[] }[] };
}
const template = (sts: KubeObject): PodTemplate => (sts["spec"] as { template: PodTemplate }).template;

/** The first port node i of an engine pod serves, read from the StatefulSet's --kubelet-port. */
function kubeletBase(sts: KubeObject): number {
  const arg = template(sts).spec.containers[0]!.args!.find((a) => a.startsWith("--kubelet-port="));
  assert.ok(arg, "the hollow-node StatefulSet passes --kubelet-port");
  return Number(arg.slice("--kubelet-port=".length));
}

const policy = readmeNetworkPolicy();
const rule = policy.spec.ingress?.[0];

describe("the README's NetworkPolicy for the kubelet API", () => {
  it("is one ingress rule of networking.k8s.io/v1, TCP ports only, egress left alone", () => {
    assert.equal(policy.apiVersion, "networking.k8s.io/v1");
    assert.equal(policy.kind, "NetworkPolicy");
    assert.deepEqual(policy.spec.policyTypes, ["Ingress"]);
    assert.equal(policy.spec.ingress?.length, 1);
    assert.equal(rule?.ports?.length, 1);
    assert.equal(rule.ports[0]!.protocol, "TCP");
    assert.equal(policy.metadata.namespace, inClusterSpec.namespace, "the fleet's default namespace");
  });

  it("its port range is every node's kubelet port of a pod at the largest --nodes-per-pod", () => {
    const { port, endPort } = rule!.ports![0]!;
    for (const nodesPerShard of [1, 500, MAX_NODES_PER_POD]) {
      const spec: FleetSpec = { ...inClusterSpec, nodes: nodesPerShard * 2, nodesPerShard };
      const sts = statefulSet(spec, { engineHash: "x" });
      const base = kubeletBase(sts);
      assert.equal(base, IN_CLUSTER_KUBELET_PORT);
      // Node i of a pod listens on base + i (src/engine/engine.ts): the first and the last node.
      assert.equal(port, base, "the range starts at node 0's port");
      assert.ok(
        base + nodesPerShard - 1 <= endPort!,
        `node ${nodesPerShard - 1}'s port ${base + nodesPerShard - 1} is in`,
      );
    }
    assert.equal(endPort, IN_CLUSTER_KUBELET_PORT + MAX_NODES_PER_POD - 1, "no port past the last node's");
  });

  it("selects the engine pods of both engines by labels their pod templates carry", () => {
    const selector = policy.spec.podSelector.matchLabels ?? {};
    assert.ok(Object.keys(selector).length > 0, "an empty selector would isolate every pod of the namespace");
    for (const sts of [
      statefulSet(inClusterSpec, { engineHash: "x" }),
      kubemarkStatefulSet({ ...inClusterSpec, engine: "kubemark", image: "kubemark:v1.36.3" }),
    ]) {
      const labels = template(sts).metadata.labels;
      for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v, `pod label ${k}`);
    }
  });

  it("admits metrics-server's pods in kube-system and an address block for the API server, nothing else", () => {
    const from = rule!.from ?? [];
    assert.equal(from.length, 2);
    const [ms, apiserver] = from;
    assert.deepEqual(ms!.namespaceSelector?.matchLabels, { "kubernetes.io/metadata.name": "kube-system" });
    assert.deepEqual(ms!.podSelector?.matchLabels, { "k8s-app": "metrics-server" });
    assert.match(apiserver!.ipBlock?.cidr ?? "", /^[\d.]+\/\d+$/);
  });
});
