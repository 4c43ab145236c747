/**
 * `--traffic minimal` on a real control plane: the engine's one cluster-wide pod watch and one
 * Node watch (in protobuf by default, as its kubelet watches) dispatch to the right node: a pod
 * bound to one node runs there with an IP from that node's podCIDR and its deletion completes.
 * The same with `--kube-api-content-type application/json`.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { adminClientFor, eventually } from "../harness.ts";
import {
  defaultServiceAccount,
  fleetNodesReady,
  removeTestObjects,
  startFleetEngine,
  type EngineProcess,
} from "../engine-process.ts";

interface Pod {
  metadata: { name: string };
  status?: { phase?: string; podIP?: string };
}

for (const encoding of ["protobuf", "json"] as const) {
  const FLEET = `it-minimal-${encoding}`;
  const NS = `it-minimal-${encoding}-${process.pid}`;

  describe(`--traffic minimal (${encoding}) on a real control plane`, () => {
    let client: KubeClient;
    let engine: EngineProcess | undefined;

    after(async () => {
      await engine?.stop();
      if (client) await removeTestObjects(client, NS, FLEET);
    });

    test("a pod bound to a node runs there and is deleted; the shared watches reach every node", async () => {
      client = await adminClientFor();
      engine = startFleetEngine({ nodes: 3, fleet: FLEET }, [
        "--traffic",
        "minimal",
        ...(encoding === "json" ? ["--kube-api-content-type", "application/json"] : []),
      ]);
      await fleetNodesReady(client, FLEET, 3);
      await client.request({
        method: "POST",
        path: "/api/v1/namespaces",
        body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
      });
      await defaultServiceAccount(client, NS);
      const node = `${FLEET}-2`;
      const { spec } = await client.get<{ spec: { podCIDR?: string } }>(`/api/v1/nodes/${node}`);
      await client.request({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/pods`,
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "p" },
          spec: { nodeName: node, containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] },
        },
      });
      const path = `/api/v1/namespaces/${NS}/pods/p`;
      await eventually("the pod Running", 60_000, async () => {
        const p = await client.get<Pod>(path);
        return { done: p.status?.phase === "Running", status: p.status?.phase ?? "no phase" };
      });
      const running = await client.get<Pod>(path);
      assert.ok(running.status?.podIP, "an IP");
      if (spec.podCIDR) {
        const prefix = spec.podCIDR.split(".").slice(0, 3).join(".");
        assert.ok(
          running.status.podIP.startsWith(`${prefix}.`),
          `${running.status.podIP} in ${spec.podCIDR}`,
        );
      }
      await client.request({ method: "DELETE", path });
      await eventually("the pod gone", 60_000, async () => {
        const gone = await client.get(path).then(
          () => false,
          (err: unknown) => (err as { status?: number }).status === 404,
        );
        return { done: gone, status: gone ? "gone" : "still there" };
      });
      assert.doesNotMatch(engine.logs(), /does not decode|"level":50/);
    });
  });
}
