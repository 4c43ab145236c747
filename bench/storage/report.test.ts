import { test } from "node:test";
import assert from "node:assert/strict";
import { reportLines } from "./report.ts";
import type { ModeResult, StorageResult } from "./types.ts";

const progress = (done: number, all: number | null, last: number | null) => ({
  seen: done,
  done,
  allDoneSeconds: all,
  lastDoneSeconds: last,
});
const spread = { samples: 1000, p50: 10, p90: 20, p99: 25.04, max: 30 };
const run = (mode: "attach" | "no-attach", running: number, all: number | null): ModeResult => ({
  mode,
  attachRequired: mode === "attach",
  nodes: 100,
  pods: 1000,
  statefulSets: 10,
  registerSeconds: 20,
  complete: all !== null,
  missing: all === null ? [`${1000 - running} pods not Running (60 Pending)`] : [],
  claims: progress(1000, 30, 30),
  attachments: mode === "attach" ? progress(1000, 40, 40) : progress(0, null, null),
  podsRunning: progress(running, all, 44.5),
  podCreatedToRunning: spread,
  claimCreatedToBound: spread,
  attachmentCreatedToAttached: spread,
  podsPerNode: { min: 10, max: 10 },
  engine: { cpuSeconds: 12.34, peakRssMB: 250.4 },
  controlPlane: null,
  requests: [
    ["PATCH pods/status", 2000],
    ["POST events", 500],
  ],
  cleanupSeconds: 60,
});
const result = (runs: ModeResult[]): StorageResult => ({
  when: "2026-11-30T18:00:00.000Z",
  command: "npm run bench:storage --",
  machine: "2 cores, 8 GiB",
  runs,
});

test("the table: one row per mode, attach's cost, the results file and the command", () => {
  const lines = reportLines(result([run("attach", 1000, 50), run("no-attach", 1000, 20)]), "/r/s.json");
  assert.match(lines[0]!, /^mode\s+nodes\/pods\s+claims Bound\s+VAs attached\s+pods Running/);
  assert.match(
    lines[1]!,
    /^attach\s+100\/1000\s+30\.0 s\s+40\.0 s\s+50\.0 s\s+10\.0 \/ 20\.0 \/ 25\.0\s+12\.3 s \/ 250 MB\s+2500$/,
  );
  assert.match(lines[2]!, /^no-attach\s+100\/1000\s+30\.0 s\s+n\/a\s+20\.0 s/);
  assert.ok(lines.includes("attach requests: PATCH pods/status 2000, POST events 500"));
  assert.ok(lines.includes("attach step: +30.0 s to all Running (2.50x)"));
  assert.deepEqual(lines.slice(-2), ["results: /r/s.json", "reproduce: npm run bench:storage --"]);
});

test("a run cut by the deadline says how far it got and what was missing", () => {
  const lines = reportLines(result([run("attach", 940, null)]), "/r/s.json");
  assert.match(lines[1]!, /940\/1000 \(last 44\.5 s\)/);
  assert.ok(
    lines.includes("attach: incomplete at the end of the run; missing: 60 pods not Running (60 Pending)"),
  );
  assert.ok(!lines.some((l) => l.startsWith("attach step")));
});
