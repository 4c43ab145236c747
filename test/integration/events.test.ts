/**
 * The kubelet's Events from hollow nodes on a real control plane: a node's start events, NodeReady
 * after the controller's Ready=Unknown, a pod's Scheduled (the scheduler's) then Pulled, Created,
 * Started from `kubelet` on its node, and a crash-looping container whose BackOff and Started
 * counts rise while its Event objects stay few (the correlator PATCHes counts instead of creating
 * Events).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { adminClientFor, eventually } from "../harness.ts";
import {
  removeTestObjects,
  startFleetEngine,
  type EngineProcess,
  fleetNodesReady,
  defaultServiceAccount,
} from "../engine-process.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";

const FLEET = "it-events";
const NS = `it-events-${process.pid}`;

interface CoreEvent {
  involvedObject: { kind: string; name: string; fieldPath?: string };
  reason: string;
  message: string;
  count?: number;
  type: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
}

describe("kubelet Events from hollow nodes", () => {
  let client: KubeClient;
  let engine: EngineProcess;

  const events = async (ns: string, name: string): Promise<CoreEvent[]> =>
    (
      await client.get<{ items: CoreEvent[] }>(`/api/v1/namespaces/${ns}/events`, {
        fieldSelector: `involvedObject.name=${name}`,
      })
    ).items;
  const createPod = (name: string, container: Record<string, unknown>): Promise<unknown> =>
    client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/pods`,
      body: {
        metadata: { name },
        spec: {
          nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
          containers: [{ name: "c", ...container }],
        },
      },
    });

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    engine = startFleetEngine({ nodes: 2, fleet: FLEET });
    await fleetNodesReady(client, FLEET, 2);
    await defaultServiceAccount(client, NS);
  });

  after(async () => {
    await engine?.stop();
    await removeTestObjects(client, NS, FLEET);
  });

  test("a starting hollow kubelet records its node events, from kubelet on that host", async () => {
    const node = `${FLEET}-0`;
    await eventually("the node's start events", 30_000, async () => {
      const reasons = (await events("default", node))
        .filter((e) => e.source?.component === "kubelet" && e.source.host === node)
        .map((e) => e.reason);
      const want = ["Starting", "NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"];
      return { done: want.every((r) => reasons.includes(r)), status: reasons.join(",") };
    });
  });

  test("a node whose Ready the controller set Unknown records NodeReady when its kubelet reports Ready again", async () => {
    const node = `${FLEET}-1`;
    await client.request({
      method: "PATCH",
      path: `/api/v1/nodes/${node}/status`,
      patchType: "strategic",
      body: {
        status: {
          conditions: [
            {
              type: "Ready",
              status: "Unknown",
              reason: "NodeStatusUnknown",
              message: "Kubelet stopped posting node status.",
            },
          ],
        },
      },
    });
    await eventually("NodeReady from the node's kubelet", 60_000, async () => {
      const reasons = (await events("default", node))
        .filter((e) => e.source?.component === "kubelet" && e.source.host === node)
        .map((e) => e.reason);
      return { done: reasons.includes("NodeReady"), status: reasons.join(",") };
    });
  });

  test("a pod is Scheduled by the scheduler, then its container Pulled, Created and Started by the kubelet of its node", async () => {
    await createPod("web", { image: "nginx:1.27" });
    let node: string | undefined;
    await eventually("the pod bound and Running", 60_000, async () => {
      const p = await client.get<{ spec: { nodeName?: string }; status?: { phase?: string } }>(
        `/api/v1/namespaces/${NS}/pods/web`,
      );
      node = p.spec.nodeName;
      return { done: p.status?.phase === "Running", status: p.status?.phase ?? "-" };
    });
    let list: CoreEvent[] = [];
    await eventually("the kubelet's events", 30_000, async () => {
      list = await events(NS, "web");
      return { done: list.some((e) => e.reason === "Started"), status: list.map((e) => e.reason).join(",") };
    });
    const scheduled = list.find((e) => e.reason === "Scheduled");
    assert.ok(scheduled, "the scheduler's Scheduled event");
    assert.equal(scheduled.reportingComponent ?? scheduled.source?.component, "default-scheduler");
    const kubelet = list.filter((e) => e.source?.component === "kubelet");
    assert.deepEqual(
      kubelet.map((e) => [e.reason, e.type, e.source?.host, e.involvedObject.fieldPath, e.count]),
      [
        ["Pulled", "Normal", node, "spec.containers{c}", 1],
        ["Created", "Normal", node, "spec.containers{c}", 1],
        ["Started", "Normal", node, "spec.containers{c}", 1],
      ],
    );
    assert.equal(
      kubelet[0]!.message,
      'Container image "nginx:1.27" already present on machine and can be accessed by the pod',
    );
  });

  test("a crash-looping container: BackOff and Started counts rise, the Event objects stay five", async () => {
    await createPod("crash", { image: "busybox", command: ["sh", "-c", "exit 1"] });
    // An image without a tag is pulled at each start (imagePullPolicy Always): Pulling, Pulled.
    let evs: CoreEvent[] = [];
    await eventually("BackOff counted at least twice", 120_000, async () => {
      evs = (await events(NS, "crash")).filter((e) => e.source?.component === "kubelet");
      const count = (reason: string): number => evs.find((e) => e.reason === reason)?.count ?? 0;
      return {
        done: count("BackOff") >= 2 && count("Started") >= 3,
        status: evs.map((e) => `${e.reason}x${e.count ?? 1}`).join(","),
      };
    });
    assert.deepEqual(evs.map((e) => e.reason).sort(), ["BackOff", "Created", "Pulled", "Pulling", "Started"]);
    const backOff = evs.find((e) => e.reason === "BackOff")!;
    assert.equal(backOff.type, "Warning");
    assert.match(
      backOff.message,
      /^Back-off restarting failed container c in pod crash_it-events-\d+\(.+\)$/,
    );
  });
});
