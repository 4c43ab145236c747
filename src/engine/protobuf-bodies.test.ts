/**
 * Every object the engine writes in protobuf (#22) goes through the codec whole: encoded with its
 * type's schema and decoded back with the same schema, it is the JSON the engine rendered (nulls
 * aside). A field the engine starts writing without a field number in the schema fails here, not
 * silently on the wire.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeAs, encodeAs, type ProtoType } from "../client/protobuf-schema.ts";
import { CORE_EVENT, CSI_NODE, EVENTS_V1_EVENT, NODE } from "../client/protobuf-types.ts";
import { DEFAULT_SHAPE } from "./config.ts";
import { csiNodeDriver, nodeInfoPatch } from "./csi/volume-decisions.ts";
import { EventCorrelator } from "./event-correlator.ts";
import { harness } from "./testdata/hollow-node-harness.ts";
import { microTime, renderCsiNode, renderNode, rfc3339, type NodeIdentity } from "./node-object.ts";

const NOW = Date.parse("2026-12-01T03:00:05Z");

const id: NodeIdentity = {
  name: "hollow-node-7",
  shape: {
    ...DEFAULT_SHAPE,
    name: "gpu",
    extendedResources: { "example.com/gpu": "4" },
    labels: { "example.com/pool": "gpu" },
    taints: [{ key: "example.com/gpu", value: "true", effect: "NoSchedule" }],
  },
  ip: "10.64.0.7",
  kubeletVersion: "v1.36.3",
  kubeletPort: 10250,
  endpointAddress: "127.0.0.1",
  fleet: "f",
  nodeLabels: { "node-role.kubernetes.io/hollow": "" },
};

/** The JSON form without nulls and empty lists (absent, null and empty are one in protobuf). */
function withoutNulls(v: unknown): unknown {
  const drop = (x: unknown): boolean => x === null || (Array.isArray(x) && x.length === 0);
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (drop(x) ? undefined : x))) as unknown;
}

function roundTrip(type: ProtoType, body: unknown): void {
  const back = decodeAs({ ...type, read: type.write }, encodeAs(type, body));
  assert.deepEqual(back, withoutNulls(body));
}

const csi = { driver: "hollow.csi.kubemark-cluster.io", maxVolumesPerNode: 16 };

const table: [string, ProtoType, unknown][] = [
  ["the Node a kubelet registers", NODE, renderNode(id, rfc3339(NOW))],
  [
    "the Node with the CSI node-info manager's label and annotation (minimal traffic)",
    NODE,
    renderNode(id, rfc3339(NOW), nodeInfoPatch({}, csi.driver, id.name)),
  ],
  ["a CSINode without drivers", CSI_NODE, renderCsiNode(id.name, "uid-1")],
  [
    "a CSINode with the fleet's driver",
    CSI_NODE,
    renderCsiNode(id.name, "uid-1", [csiNodeDriver(csi, id.name)]),
  ],
  [
    "kube-proxy's startup Event",
    EVENTS_V1_EVENT,
    {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: `${id.name}.${NOW.toString(16)}`, namespace: "default" },
      eventTime: microTime(NOW),
      reportingController: "kube-proxy",
      reportingInstance: `kube-proxy-${id.name}`,
      action: "StartKubeProxy",
      reason: "Starting",
      type: "Normal",
      regarding: { kind: "Node", name: id.name, uid: "uid-1" },
    },
  ],
];

for (const [what, type, body] of table) {
  test(`protobuf: ${what} reads back as its JSON form`, () => roundTrip(type, body));
}

test("protobuf: the kubelet's Events (a container's, with its field path) read back as their JSON form", () => {
  const c = new EventCorrelator();
  const r = c.correlate(
    {
      involvedObject: {
        kind: "Pod",
        namespace: "ns",
        name: "p",
        uid: "u",
        apiVersion: "v1",
        fieldPath: "spec.containers{app}",
      },
      type: "Warning",
      reason: "BackOff",
      message: "Back-off restarting failed container app",
      component: "kubelet",
      host: id.name,
    },
    NOW,
  );
  if (r.kind !== "create") throw new Error(`a first event is created, got ${r.kind}`);
  roundTrip(CORE_EVENT, r.body);
});

test("protobuf: a field the schema lacks is refused with the fix, never dropped", () => {
  const node = renderNode(id, rfc3339(NOW)) as { spec: Record<string, unknown> };
  node.spec["configSource"] = { configMap: {} };
  assert.throws(
    () => encodeAs(NODE, node),
    /Node\.spec\.configSource has no protobuf field.*application\/json/,
  );
});

test("protobuf: a kubelet's Node, CSINode and status requests go in protobuf, none with --kube-api-content-type application/json", async () => {
  for (const leaseContentType of ["protobuf", "json"] as const) {
    const { node, api, clock } = harness({ leaseContentType, traffic: "kubelet" });
    await node.register();
    await clock.advance(30_000);
    const kinds = new Map<string, string | undefined>();
    for (const r of api.requests)
      if (!r.path.includes("/leases")) kinds.set(`${r.method} ${r.path}`, r.wire.proto);
    const want = (kind: string): string | undefined => (leaseContentType === "protobuf" ? kind : undefined);
    assert.deepEqual(Object.fromEntries(kinds), {
      "POST /api/v1/nodes": want("Node"),
      "PATCH /api/v1/nodes/hollow-node-0/status": want("Node"),
      "GET /apis/storage.k8s.io/v1/csinodes/hollow-node-0": want("CSINode"),
      "POST /apis/storage.k8s.io/v1/csinodes": want("CSINode"),
      "GET /api/v1/nodes/hollow-node-0": want("Node"),
    });
  }
});
