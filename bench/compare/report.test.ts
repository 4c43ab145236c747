import { test } from "node:test";
import assert from "node:assert/strict";
import { fmt, markdown, ratio, scaleOutSummary } from "./report.ts";
import { notMeasured, type CostRow, type FidelityRow, type PodRow } from "./types.ts";

function cost(system: CostRow["system"], nodes: number, over: Partial<CostRow> = {}): CostRow {
  return {
    system,
    nodes,
    readySeconds: 4,
    rssMB: 150,
    rssPerNodeKB: 1536,
    cpuSecondsPerNodeMinute: 0.03,
    mCpuPerNode: 0.5,
    missedLeases: 0,
    apiserverCpuCores: 0.2,
    etcdCpuCores: 0.05,
    apiserverRssMB: 400,
    ...over,
  };
}

const COST: CostRow[] = [
  cost("hollow-node", 100),
  cost("kubemark", 100, {
    readySeconds: 26.6,
    rssMB: 7700,
    rssPerNodeKB: 78_848,
    mCpuPerNode: 4.75,
    cpuSecondsPerNodeMinute: 0.285,
  }),
  cost("hollow-node", 1000, {
    readySeconds: 55.1,
    rssPerNodeKB: 200,
    mCpuPerNode: 0.17,
    missedLeases: 3,
    apiserverCpuCores: 0.46,
    etcdCpuCores: 0.15,
  }),
  notMeasured("kubemark", 1000, "not run: one ~75 MB process per node (--kubemark-max 100)"),
];
const PODS: PodRow[] = [
  {
    system: "hollow-node",
    nodes: 100,
    pods: 1000,
    running: 1000,
    latencyP50Seconds: 4.7,
    latencyP99Seconds: 6.66,
    throughputPerSecond: 38.7,
    distinctPodIPs: 1000,
    jobWithInitCompleted: true,
  },
  {
    system: "kubemark",
    nodes: 100,
    pods: 1000,
    running: 0,
    latencyP50Seconds: null,
    latencyP99Seconds: null,
    throughputPerSecond: null,
    distinctPodIPs: 0,
    jobWithInitCompleted: false,
  },
];
const FIDELITY: FidelityRow[] = [
  {
    system: "hollow-node",
    userAgent: "hollow-kubelet",
    verb: "update",
    resource: "leases",
    registrationPerNode: 1,
    idlePerNodeMinute: 5.86,
    perPod: 0,
  },
  {
    system: "hollow-node",
    userAgent: "hollow-proxy",
    verb: "update",
    resource: "leases",
    registrationPerNode: 0,
    idlePerNodeMinute: 0.5,
    perPod: 0,
  },
  {
    system: "kubemark",
    userAgent: "hollow-kubelet",
    verb: "update",
    resource: "leases",
    registrationPerNode: 1.3,
    idlePerNodeMinute: 5.9,
    perPod: 0,
  },
  {
    system: "kwok",
    userAgent: "kwok",
    verb: "create",
    resource: "nodes",
    registrationPerNode: 0,
    idlePerNodeMinute: 0,
    perPod: 0,
  },
];

test("figures: decimals, '-' for none; ratios with three decimals below 0.1", () => {
  assert.equal(fmt(1.25), "1.3");
  assert.equal(fmt(1.25, 3), "1.250");
  assert.equal(fmt(null), "-");
  assert.equal(fmt(undefined), "-");
  assert.equal(fmt(Number.NaN), "-");
  assert.equal(ratio(1, 2), "0.50x");
  assert.equal(ratio(1, 40), "0.025x");
  assert.equal(ratio(0, 2), "-");
  assert.equal(ratio(1, null), "-");
});

test("scale-out: the largest size held with no missed lease, and the busier side at the largest tried", () => {
  assert.equal(
    scaleOutSummary(COST),
    "One hollow-node process held up to 100 nodes with no missed lease (largest tried: 1000). At 1000 nodes the engine used 0.17 of its one core, the API server 0.46 and etcd 0.15 of the machine's 2 cores: the control plane is the busier side and saturates first.",
  );
  assert.match(
    scaleOutSummary([cost("hollow-node", 10, { mCpuPerNode: 100 })]),
    /used 1\.00 of its one core.*: the engine is the busier side\.$/,
  );
  assert.equal(scaleOutSummary([cost("kwok", 10)]), "hollow-node not run");
});

test("compare.md: the cost, ratio, pod and fidelity tables of a small run", () => {
  const md = markdown({
    when: "2026-01-01T00:00:00.000Z",
    command: "node bench/compare.ts --quick",
    machine: "2 cores, 24 GiB, control plane v1.36.3 on the same machine",
    cost: COST,
    pods: PODS,
    fidelity: FIDELITY,
    scaleOut: "SCALE-OUT",
  });
  const lines = md.split("\n");
  const section = (title: string): string[] => {
    const start = lines.indexOf(title);
    assert.ok(start >= 0, `${title} in\n${md}`);
    const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
    return lines.slice(start, end < 0 ? undefined : end);
  };
  assert.deepEqual(lines.slice(0, 4), [
    "# hollow-node vs kubemark vs KWOK (2026-01-01T00:00:00.000Z)",
    "",
    "Command: `node bench/compare.ts --quick`  ",
    "Machine: 2 cores, 24 GiB, control plane v1.36.3 on the same machine",
  ]);
  assert.deepEqual(section("## Cost (idle nodes)"), [
    "## Cost (idle nodes)",
    "",
    "| system | nodes | Ready after s | RSS MB | KB/node | mCPU/node | CPU-s per node-minute | missed leases | API server cores | etcd cores |",
    "|---|---|---|---|---|---|---|---|---|---|",
    "| hollow-node | 100 | 4.0 | 150 | 1536.0 | 0.500 | 0.0300 | 0 | 0.20 | 0.05 |",
    "| kubemark | 100 | 26.6 | 7700 | 78848.0 | 4.750 | 0.2850 | 0 | 0.20 | 0.05 |",
    "| hollow-node | 1000 | 55.1 | 150 | 200.0 | 0.170 | 0.0300 | 3 | 0.46 | 0.15 |",
    "| kubemark | 1000 | - | 0 | 0.0 | 0.000 | 0.0000 | 0 | 0.00 | 0.00 | not run: one ~75 MB process per node (--kubemark-max 100)",
    "",
    "Ratios, hollow-node / other, same node count:",
    "",
    "| nodes | vs | RSS per node | CPU per node | time to Ready |",
    "|---|---|---|---|---|",
    "| 100 | kubemark | 0.019x | 0.11x | 0.15x |",
    "",
  ]);
  assert.deepEqual(section("## Pods"), [
    "## Pods",
    "",
    "| system | nodes | pods | Running | bound->Running p50 s | p99 s | pods/s | distinct pod IPs | Job with init container |",
    "|---|---|---|---|---|---|---|---|---|",
    "| hollow-node | 100 | 1000 | 1000 | 4.70 | 6.66 | 38.7 | 1000 | completed |",
    "| kubemark | 100 | 1000 | 0 | - | - | - | 0 | never completed |",
    "",
  ]);
  const fidelity = section(
    "## Fidelity: requests by verb and resource (10 nodes of each system at once, audit log, told apart by identity)",
  );
  assert.deepEqual(fidelity.slice(4), [
    "| phase | verb | resource | hollow-node kubelet | hollow-node proxy | kubemark kubelet | KWOK | hollow / kubemark |",
    "|---|---|---|---|---|---|---|---|",
    "| registration | update | leases | 1.00 | 0.00 | 1.30 | 0.00 | 0.77x |",
    "| idle | update | leases | 5.86 | 0.50 | 5.90 | 0.00 | 0.99x |",
    "",
  ]);
  assert.deepEqual(section("## Scale-out"), ["## Scale-out", "", "SCALE-OUT", ""]);
});
