import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditRows, auditRowsFromLines, identityRowsFromLines, systemOfUser, type Phases } from "./audit.ts";

const T = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const at = (s: number): number => Date.UTC(2026, 0, 1, 0, 0, s);

/** Registration 0-10 s, idle 10-70 s (one minute), pods 70-100 s; 10 nodes; 20 pods of hollow-node, 4 of kubemark. */
const PHASES: Phases = {
  start: at(0),
  idleStart: at(10),
  idleEnd: at(70),
  podsEnd: at(100),
  pods: { "hollow-node": 20, kubemark: 4 },
  nodes: 10,
};

function event(
  id: string,
  s: number,
  user: string,
  ua: string,
  verb: string,
  resource: string,
  subresource?: string,
): string {
  return JSON.stringify({
    auditID: id,
    stage: "ResponseComplete",
    verb,
    userAgent: ua,
    user: { username: user },
    requestReceivedTimestamp: T(s),
    objectRef: { resource, ...(subresource ? { subresource } : {}) },
  });
}

const LOG = [
  // Registration: hollow-node's kubelet creates its 10 Nodes; one request logged at two stages counts once.
  ...Array.from({ length: 10 }, (_, i) =>
    event(`c${i}`, 1, "bench-hollow-node", "hollow-kubelet/v1.36.3 (linux/amd64)", "create", "nodes"),
  ),
  event("c0", 1, "bench-hollow-node", "hollow-kubelet/v1.36.3 (linux/amd64)", "create", "nodes"),
  // Idle: 60 Lease updates from hollow-node (6 per node-minute), 30 from kubemark, status patches from the proxy.
  ...Array.from({ length: 60 }, (_, i) =>
    event(`h${i}`, 10 + i / 2, "bench-hollow-node", "hollow-kubelet/x", "update", "leases"),
  ),
  ...Array.from({ length: 30 }, (_, i) =>
    event(`k${i}`, 10 + i, "bench-kubemark", "hollow-kubelet/x", "update", "leases"),
  ),
  ...Array.from({ length: 5 }, (_, i) =>
    event(`p${i}`, 20 + i, "bench-hollow-node", "hollow-proxy/x", "patch", "nodes", "status"),
  ),
  // Pods: 40 status patches for 20 pods (2 per pod); kubemark 20 for 4 (5 per pod); the boundary podsEnd is in.
  ...Array.from({ length: 40 }, (_, i) =>
    event(`s${i}`, 70 + i / 2, "bench-hollow-node", "hollow-kubelet/x", "patch", "pods", "status"),
  ),
  ...Array.from({ length: 20 }, (_, i) =>
    event(`t${i}`, 80 + i, "bench-kubemark", "hollow-kubelet/x", "patch", "pods", "status"),
  ),
  // Not counted: before the start, after the end, another identity, no user agent, no resource, not JSON, blank.
  event("x1", -5, "bench-hollow-node", "hollow-kubelet/x", "get", "nodes"),
  event("x2", 101, "bench-hollow-node", "hollow-kubelet/x", "get", "nodes"),
  event("x3", 20, "system:kube-scheduler", "kube-scheduler/v1.36.3", "create", "bindings"),
  event("x4", 20, "bench-kwok", "", "get", "nodes"),
  JSON.stringify({
    auditID: "x5",
    verb: "get",
    userAgent: "kwok/x",
    user: { username: "bench-kwok" },
    requestReceivedTimestamp: T(20),
  }),
  "{ not json",
  "",
];

test("audit log: requests per node at registration, per node-minute idle, per pod, by identity, agent, verb and resource", async () => {
  const rows = await auditRowsFromLines(LOG, PHASES);
  const byKey = new Map(rows.map((r) => [`${r.system} ${r.userAgent} ${r.verb} ${r.resource}`, r]));
  assert.deepEqual([...byKey.keys()].sort(), [
    "hollow-node hollow-kubelet create nodes",
    "hollow-node hollow-kubelet patch pods/status",
    "hollow-node hollow-kubelet update leases",
    "hollow-node hollow-proxy patch nodes/status",
    "kubemark hollow-kubelet patch pods/status",
    "kubemark hollow-kubelet update leases",
  ]);
  assert.deepEqual(byKey.get("hollow-node hollow-kubelet create nodes"), {
    system: "hollow-node",
    userAgent: "hollow-kubelet",
    verb: "create",
    resource: "nodes",
    registrationPerNode: 1,
    idlePerNodeMinute: 0,
    perPod: 0,
  });
  assert.equal(byKey.get("hollow-node hollow-kubelet update leases")?.idlePerNodeMinute, 6);
  assert.equal(byKey.get("kubemark hollow-kubelet update leases")?.idlePerNodeMinute, 3);
  assert.equal(byKey.get("hollow-node hollow-proxy patch nodes/status")?.idlePerNodeMinute, 0.5);
  assert.equal(byKey.get("hollow-node hollow-kubelet patch pods/status")?.perPod, 2);
  assert.equal(byKey.get("kubemark hollow-kubelet patch pods/status")?.perPod, 5);
});

test("audit log: a system that ran no pods gets 0 per pod, not a division by zero", async () => {
  const rows = await auditRowsFromLines(LOG, { ...PHASES, pods: {} });
  assert.ok(rows.every((r) => r.perPod === 0));
});

test("audit log: read from a file line by line", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bench-audit-test-"));
  try {
    const file = join(dir, "audit.log");
    await writeFile(file, LOG.join("\n") + "\n");
    assert.deepEqual(await auditRows(file, PHASES), await auditRowsFromLines(LOG, PHASES));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a request's system by its identity: the system's certificate or, with --identity node, one of its nodes'", () => {
  assert.equal(systemOfUser("bench-kwok"), "kwok");
  assert.equal(systemOfUser("system:node:b-hn-100-7"), "hollow-node");
  assert.equal(systemOfUser("system:node:b-km-10-0"), "kubemark");
  assert.equal(systemOfUser("system:node:worker-1"), undefined);
  assert.equal(systemOfUser("system:admin"), undefined);
});

test("identity rows: distinct node users, kubelet requests made as a node, the bootstrap users' CSRs", async () => {
  const csr = (id: string, s: number, code: number): string =>
    JSON.stringify({
      auditID: id,
      verb: "create",
      userAgent: "hollow-kubelet/x",
      user: { username: "system:bootstrap:abcdef" },
      requestReceivedTimestamp: T(s),
      objectRef: { resource: "certificatesigningrequests" },
      responseStatus: { code },
    });
  const log = [
    csr("r0", 1, 201),
    csr("r1", 1, 201),
    csr("r1", 1, 201), // one request at two stages
    csr("r2", 1, 403), // refused: not created
    event("n0", 2, "system:node:b-hn-10-0", "hollow-kubelet/x", "create", "nodes"),
    event("n1", 3, "system:node:b-hn-10-1", "hollow-kubelet/x", "create", "nodes"),
    event("n2", 12, "system:node:b-hn-10-1", "hollow-kubelet/x", "update", "leases"),
    event("p0", 12, "bench-hollow-node", "hollow-proxy/x", "watch", "services"), // the proxy: not a kubelet's
    event("k0", 12, "system:node:b-km-10-0", "kubemark/x", "update", "leases"),
    event("k1", 12, "bench-kubemark", "kubemark/x", "get", "nodes"), // a kubelet request not as a node
    event("late", 200, "system:node:b-hn-10-2", "hollow-kubelet/x", "update", "leases"), // after the run
  ];
  assert.deepEqual(await identityRowsFromLines(log, PHASES, ["hollow-node", "kubemark"]), [
    { system: "hollow-node", nodeUsers: 2, kubeletRequests: 3, kubeletRequestsAsNode: 3, csrsCreated: 2 },
    { system: "kubemark", nodeUsers: 1, kubeletRequests: 2, kubeletRequestsAsNode: 1, csrsCreated: 0 },
  ]);
});
