import { test } from "node:test";
import assert from "node:assert/strict";
import { againstTarget, apiserverLines, atMost } from "./report-apiserver.ts";
import { notMeasured, type ApiserverCost, type CostRow } from "./types.ts";

const api = (goroutinesPerNode: number, mCpuPerNode: number): ApiserverCost => ({
  baselineRssMB: 400,
  rssPerNodeKB: 100,
  heapPerNodeKB: null,
  baselineGoroutines: 1000,
  goroutines: 1000 + goroutinesPerNode * 100,
  goroutinesPerNode,
  baselineCores: 0.05,
  mCpuPerNode,
  flows: [{ flowSchema: "system-nodes", priorityLevel: "system", requests: 600, perSecond: 10 }],
});
const row = (system: CostRow["system"], a: ApiserverCost): CostRow => ({
  ...notMeasured(system, 100, ""),
  note: undefined,
  apiserver: a,
});

test("against the ±15 % target: the ratio and whether it is within", () => {
  assert.equal(againstTarget(1.1, 1), "1.10x (within ±15 %)");
  assert.equal(againstTarget(0.8, 1), "0.80x (outside ±15 %)");
  assert.equal(againstTarget(null, 1), "-");
  assert.equal(againstTarget(1, 0), "-");
});

test("at most kubemark's (issue #22's CPU target): equal counts as met", () => {
  assert.equal(atMost(0.45, 0.45), "≤ kubemark");
  assert.equal(atMost(0.47, 0.45), "over kubemark");
  assert.equal(atMost(null, 0.45), "-");
});

test("the API-server table, the hollow-node/kubemark ratios and the identity table", () => {
  const text = apiserverLines(
    [row("hollow-node", api(9, 2)), row("kubemark", api(10, 1))],
    [
      {
        system: "hollow-node",
        nodeUsers: 10,
        kubeletRequests: 200,
        kubeletRequestsAsNode: 200,
        csrsCreated: 10,
      },
      { system: "kubemark", nodeUsers: 10, kubeletRequests: 100, kubeletRequestsAsNode: 100, csrsCreated: 0 },
    ],
  ).join("\n");
  assert.match(
    text,
    /\| hollow-node \| 100 \| 400 \| 100 \| - \| 1900 \(1000\) \| 9\.00 \| 0\.050 \| 2\.00 \| system-nodes\/system 10\.0\/s \|/,
  );
  assert.match(
    text,
    /\| 100 \| 1\.00x \(within ±15 %\) \| - \| 0\.90x \(within ±15 %\) \| 2\.00x \(outside ±15 %\), over kubemark \|/,
  );
  assert.match(text, /\| hollow-node \| 10 \| 200 \| 200 \(100\.0 %\) \| 10 \|/);
  assert.match(text, /\| kubemark \| 10 \| 100 \| 100 \(100\.0 %\) \| - \(certificates handed over\) \|/);
});

test("each system on a control plane of its own: the table says its RSS figures compare, not that the second reads low", () => {
  const rows = [row("hollow-node", api(9, 2)), row("kubemark", api(10, 1))];
  assert.match(apiserverLines(rows, undefined, true).join("\n"), /control plane of its own, started fresh/);
  assert.doesNotMatch(apiserverLines(rows, undefined, true).join("\n"), /reads low/);
  assert.match(apiserverLines(rows, undefined).join("\n"), /the second system's RSS per node reads low/);
});

test("no API-server rows, no identity rows: no sections", () => {
  assert.deepEqual(apiserverLines([notMeasured("kwok", 10, "failed")], undefined), []);
});
