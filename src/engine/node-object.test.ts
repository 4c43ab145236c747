import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SHAPE, type NodeShape } from "./config.ts";
import { FLEET_LABEL } from "../kernel/k8s.ts";
import {
  SHAPE_LABEL,
  microTime,
  missingLabels,
  nodeLabels,
  renderLease,
  encodeLease,
  decodeLease,
  renderNode,
  rfc3339,
  type NodeCondition,
  type NodeIdentity,
} from "./node-object.ts";

const GPU: NodeShape = {
  ...DEFAULT_SHAPE,
  name: "gpu",
  cpu: "8",
  memory: "64Gi",
  maxPods: 64,
  ephemeralStorage: "100Gi",
  extendedResources: { "nvidia.com/gpu": "8" },
  labels: { accelerator: "nvidia" },
  taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }],
};

const id = (shape: NodeShape = GPU): NodeIdentity => ({
  name: "hollow-node-7",
  shape,
  ip: "100.64.0.8",
  kubeletVersion: "v1.34.1",
  kubeletPort: 10250,
  fleet: "blue",
  nodeLabels: { "hollow-node": "true" },
});

const NOW = "2026-01-01T00:00:00Z";

interface RenderedNode {
  metadata: { name: string; labels: Record<string, string> };
  spec: { providerID: string; taints?: unknown[] };
  status: {
    capacity: Record<string, string>;
    allocatable: Record<string, string>;
    conditions: NodeCondition[];
    addresses: { type: string; address: string }[];
    daemonEndpoints: { kubeletEndpoint: { Port: number } };
    nodeInfo: { kubeletVersion: string; operatingSystem: string; architecture: string };
  };
}

test("renderNode labels the node as a kubelet would, plus hollow-node, fleet and shape", () => {
  const node = renderNode(id(), NOW) as unknown as RenderedNode;
  assert.equal(node.metadata.name, "hollow-node-7");
  assert.deepEqual(node.metadata.labels, {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": "hollow-node-7",
    "kubernetes.io/os": "linux",
    "hollow-node": "true",
    accelerator: "nvidia",
    [FLEET_LABEL]: "blue",
    [SHAPE_LABEL]: "gpu",
  });
});

test("renderNode: the fleet and shape labels win over labels of the same name from flags", () => {
  const labels = nodeLabels({ ...id(), nodeLabels: { [FLEET_LABEL]: "red", [SHAPE_LABEL]: "huge" } });
  assert.equal(labels[FLEET_LABEL], "blue");
  assert.equal(labels[SHAPE_LABEL], "gpu");
});

test("renderNode: providerID, taints, capacity = allocatable with extended resources", () => {
  const node = renderNode(id(), NOW) as unknown as RenderedNode;
  assert.equal(node.spec.providerID, "kubemark://hollow-node-7");
  assert.deepEqual(node.spec.taints, [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }]);
  const want = { cpu: "8", memory: "64Gi", pods: "64", "ephemeral-storage": "100Gi", "nvidia.com/gpu": "8" };
  assert.deepEqual(node.status.capacity, want);
  assert.deepEqual(node.status.allocatable, want);

  const plain = renderNode(id(DEFAULT_SHAPE), NOW) as unknown as RenderedNode;
  assert.equal(plain.spec.taints, undefined, "no empty taints list");
  assert.deepEqual(plain.status.capacity, {
    cpu: "1",
    memory: "4026531840",
    pods: "110",
    "ephemeral-storage": "0",
  });
});

test("renderNode: four healthy conditions with the kubelet's reasons, addresses and kubelet port", () => {
  const node = renderNode(id(), NOW) as unknown as RenderedNode;
  assert.deepEqual(
    node.status.conditions.map((c) => [
      c.type,
      c.status,
      c.reason,
      c.lastHeartbeatTime,
      c.lastTransitionTime,
    ]),
    [
      ["MemoryPressure", "False", "KubeletHasSufficientMemory", NOW, NOW],
      ["DiskPressure", "False", "KubeletHasNoDiskPressure", NOW, NOW],
      ["PIDPressure", "False", "KubeletHasSufficientPID", NOW, NOW],
      ["Ready", "True", "KubeletReady", NOW, NOW],
    ],
  );
  assert.equal(
    node.status.conditions.find((c) => c.type === "Ready")?.message,
    "kubelet is posting ready status",
  );
  assert.deepEqual(node.status.addresses, [
    { type: "InternalIP", address: "100.64.0.8" },
    { type: "Hostname", address: "hollow-node-7" },
  ]);
  assert.deepEqual(node.status.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
  assert.equal(node.status.nodeInfo.kubeletVersion, "v1.34.1");
  assert.equal(node.status.nodeInfo.operatingSystem, "linux");
  assert.equal(node.status.nodeInfo.architecture, "amd64");
});

test("renderNode: with a kubelet endpoint its address is InternalDNS; InternalIP and Hostname stay the node's own", () => {
  const node = renderNode(
    { ...id(), endpointAddress: "127.0.0.1", kubeletPort: 10250 },
    NOW,
  ) as unknown as RenderedNode;
  assert.deepEqual(node.status.addresses, [
    { type: "InternalIP", address: "100.64.0.8" },
    { type: "Hostname", address: "hollow-node-7" },
    { type: "InternalDNS", address: "127.0.0.1" },
  ]);
  assert.equal(
    node.metadata.labels["kubernetes.io/hostname"],
    "hollow-node-7",
    "the hostname label keeps the name",
  );
});

test("renderNode: with --node-ip the endpoint's address is the InternalIP, so no InternalDNS (as a kubelet given --node-ip)", () => {
  const node = renderNode(
    { ...id(), ip: "10.244.0.7", endpointAddress: "10.244.0.7", kubeletPort: 10251 },
    NOW,
  ) as unknown as RenderedNode;
  assert.deepEqual(node.status.addresses, [
    { type: "InternalIP", address: "10.244.0.7" },
    { type: "Hostname", address: "hollow-node-7" },
  ]);
  assert.deepEqual(node.status.daemonEndpoints, { kubeletEndpoint: { Port: 10251 } });
});

test("missingLabels lists only the labels a registered Node lacks or has wrong", () => {
  const full = nodeLabels(id());
  const { "kubernetes.io/hostname": _hostname, ...withoutHostname } = full;
  const cases: Array<[string, Record<string, string> | undefined, Record<string, string>]> = [
    ["all present", full, {}],
    ["extra labels are kept", { ...full, team: "x" }, {}],
    ["no labels at all", undefined, full],
    ["one missing", withoutHostname, { "kubernetes.io/hostname": "hollow-node-7" }],
    ["one changed", { ...full, [SHAPE_LABEL]: "standard" }, { [SHAPE_LABEL]: "gpu" }],
  ];
  for (const [what, current, want] of cases) assert.deepEqual(missingLabels(id(), current), want, what);
});

test("renderLease: holder, duration, owner Node, resourceVersion only when given", () => {
  const renewTime = microTime(Date.UTC(2026, 0, 1, 0, 0, 5, 123));
  const lease = renderLease({ name: "hollow-node-7", nodeUid: "uid-1", durationSeconds: 40, renewTime });
  assert.deepEqual(lease, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: "hollow-node-7",
      namespace: "kube-node-lease",
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "hollow-node-7", uid: "uid-1" }],
    },
    spec: {
      holderIdentity: "hollow-node-7",
      leaseDurationSeconds: 40,
      renewTime: "2026-01-01T00:00:05.123000Z",
    },
  });
  const cases: Array<[string | undefined, string | undefined]> = [
    [undefined, undefined],
    ["", undefined],
    ["42", "42"],
  ];
  for (const [given, want] of cases) {
    const l = renderLease({
      name: "n",
      nodeUid: "u",
      durationSeconds: 40,
      renewTime,
      resourceVersion: given,
    }) as {
      metadata: { resourceVersion?: string };
    };
    assert.equal(l.metadata.resourceVersion, want, `given ${given}`);
    assert.equal("resourceVersion" in l.metadata, want !== undefined);
  }
});

test("encodeLease: the protobuf Lease reads back as the JSON one, microseconds and all", () => {
  const cases = [
    renderLease({
      name: "hollow-node-7",
      nodeUid: "uid-1",
      durationSeconds: 40,
      renewTime: microTime(Date.UTC(2026, 0, 1, 0, 0, 5, 123)),
    }),
    renderLease({
      name: "n",
      nodeUid: "u",
      durationSeconds: 3600,
      renewTime: "2026-01-01T00:00:05.000001Z",
      resourceVersion: "987654",
    }),
    renderLease({ name: "n", nodeUid: "u", durationSeconds: 40, renewTime: "2026-01-01T00:00:05.000000Z" }),
  ];
  for (const lease of cases) {
    const bytes = encodeLease(lease);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00], "the k8s\\0 magic");
    assert.deepEqual(decodeLease(bytes), lease);
  }
  assert.throws(
    () => encodeLease({ ...cases[0]!, spec: { ...cases[0]!.spec, renewTime: "soon" } }),
    /not a MicroTime/,
  );
  assert.throws(() => decodeLease(new TextEncoder().encode('{"kind":"Lease"}')), /not a Kubernetes protobuf/);
});

test("microTime has microseconds, rfc3339 whole seconds", () => {
  const cases: Array<[number, string, string]> = [
    [Date.UTC(2026, 0, 1), "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00Z"],
    [Date.UTC(2026, 0, 1, 12, 34, 56, 789), "2026-01-01T12:34:56.789000Z", "2026-01-01T12:34:56Z"],
    [Date.UTC(2026, 11, 31, 23, 59, 59, 1), "2026-12-31T23:59:59.001000Z", "2026-12-31T23:59:59Z"],
  ];
  for (const [ms, micro, seconds] of cases) {
    assert.equal(microTime(ms), micro);
    assert.match(microTime(ms), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(rfc3339(ms), seconds);
  }
});
