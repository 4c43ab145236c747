/**
 * Field-by-field comparison of the status a hollow node writes with the one upstream kubemark's
 * kubelet (v1.36.3, a real kubelet with fakes) wrote for the same pod (testdata/, captured on the
 * local control plane): the procedure to repeat when the simulated kubelet version moves.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { slimPod, type PodObject } from "./pod-object.ts";
import { renderPodStatus } from "./pod-status.ts";

const observed = JSON.parse(
  readFileSync(new URL("./testdata/kubemark-v1.36.3-pod-running.json", import.meta.url), "utf8"),
) as PodObject & { status: Record<string, unknown> };

/** Every field path of a JSON value, arrays as `[]` (values left out). */
function paths(v: unknown, at = ""): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(v)) {
    for (const x of v) for (const p of paths(x, `${at}[]`)) out.add(p);
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      out.add(`${at}.${k}`);
      for (const p of paths(x, `${at}.${k}`)) out.add(p);
    }
  }
  return out;
}

test("a Running pod's status has the fields upstream kubemark's kubelet writes (differences listed)", () => {
  const start = observed.status["startTime"] as string;
  const ours = renderPodStatus(slimPod(observed), "running", {
    hostIP: "100.64.0.1",
    podIP: "10.128.0.5",
    startedAt: start,
    runningAt: start,
  });
  const theirs = paths(observed.status);
  const mine = paths(ours);
  const missing = [...theirs].filter((p) => !mine.has(p));
  assert.deepEqual(missing, [], "fields kubemark's kubelet writes that a hollow node does not");
  // `started` is the real kubelet's (its prober manager sets it); kubemark's fake prober leaves it out.
  const extra = [...mine].filter((p) => !theirs.has(p));
  assert.deepEqual(extra, [".containerStatuses[].started"], "fields only a hollow node writes");
  // The values that do not depend on the simulation (times, addresses, ids) are the same.
  const o = ours as {
    conditions: { type: string; status: string }[];
    phase: string;
    observedGeneration: number;
  };
  const t = observed.status as unknown as typeof o;
  assert.deepEqual(
    o.conditions.map((c) => `${c.type}=${c.status}`),
    t.conditions.map((c) => `${c.type}=${c.status}`),
  );
  assert.equal(o.phase, t.phase);
  assert.equal(o.observedGeneration, t.observedGeneration);
});
