/**
 * The README's NetworkPolicy for the engine pods' kubelet API (issue 19), on a real API server:
 * created as written in a namespace of its own it is accepted and reads back unchanged (its port
 * range included: `endPort` is kept, not dropped), and the API server does validate it (the same
 * policy with its range reversed is refused). The local control plane has no pod network, so what
 * the policy lets through is not tested here; its ports and pod labels against the StatefulSet's:
 * src/fleet/kubelet-network-policy.test.ts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { adminClientFor } from "../harness.ts";
import { readmeNetworkPolicy } from "../readme-examples.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { KubeApiError } from "../../src/client/api-error.ts";

const NS = `it-netpol-${process.pid}`;
const PATH = `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`;

describe("the README's kubelet-API NetworkPolicy on a real API server", () => {
  let client: KubeClient;
  const example = readmeNetworkPolicy();
  const inNamespace = { ...example, metadata: { ...example.metadata, namespace: NS } };

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
  });

  after(async () => {
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}` }).catch(() => undefined);
  });

  test("is accepted as written and reads back with the same spec", async () => {
    await client.request({ method: "POST", path: PATH, body: inNamespace });
    const read = await client.get<{ spec: unknown }>(`${PATH}/${example.metadata.name}`);
    assert.deepEqual(read.spec, example.spec);
  });

  test("is validated: the same policy with its port range reversed is refused", async () => {
    const ports = [{ ...example.spec.ingress![0]!.ports![0]!, endPort: 10000 }];
    const bad = {
      ...inNamespace,
      metadata: { ...inNamespace.metadata, name: "reversed" },
      spec: { ...example.spec, ingress: [{ ...example.spec.ingress![0]!, ports }] },
    };
    await assert.rejects(
      client.request({ method: "POST", path: PATH, query: { dryRun: "All" }, body: bad }),
      (err: unknown) => err instanceof KubeApiError && err.status === 422 && /endPort/.test(err.message),
    );
  });
});
