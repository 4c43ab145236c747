import { test } from "node:test";
import assert from "node:assert/strict";
import type { PodObject } from "./pod-object.ts";
import {
  STAGES,
  adoptedStage,
  containerExit,
  containerExitStep,
  initExitStep,
  initFailsAgain,
  perContainerExits,
  podEndStage,
  runningPlan,
  generationUnobserved,
  sandboxReadyAt,
  setupStages,
  startStepDue,
  stopPlan,
  unmountSeenAt,
  type HostedStage,
  type PodStage,
} from "./pod-stage.ts";

const pod = (spec: Partial<PodObject["spec"]> = {}, annotations?: Record<string, string>): PodObject => ({
  metadata: { name: "p", namespace: "default", uid: "u", ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: "app", image: "nginx" }], ...spec },
});

test("STAGES: the phase and what each stage shows", () => {
  const rows: [HostedStage, string, boolean, boolean, boolean, boolean][] = [
    // stage, phase, starting, sandbox, exited, ended
    ["new", "Pending", true, false, false, false],
    ["creating", "Pending", true, false, false, false],
    ["sandbox", "Pending", true, true, false, false],
    ["initializing", "Pending", true, true, false, false],
    ["running", "Running", false, true, false, false],
    ["backoff", "Running", false, true, true, false],
    ["succeeded", "Succeeded", false, true, true, true],
    ["failed", "Failed", false, true, true, true],
    ["terminated", "Succeeded", false, true, true, true],
  ];
  for (const [stage, phase, starting, sandbox, exited, ended] of rows) {
    const f = STAGES[stage];
    assert.deepEqual(
      [f.phase, f.starting, f.sandbox, f.exited, f.ended],
      [phase, starting, sandbox, exited, ended],
      stage,
    );
  }
  const terminating = (Object.keys(STAGES) as HostedStage[]).filter((s) => STAGES[s].terminatesOnDelete);
  assert.deepEqual(terminating, ["creating", "sandbox", "initializing", "running", "backoff"]);
});

test("adoptedStage: ended pods stay ended, a Running pod with an IP runs, anything else starts anew", () => {
  const rows: [string | undefined, string | undefined, HostedStage][] = [
    ["Succeeded", undefined, "succeeded"],
    ["Failed", "10.0.0.1", "failed"],
    ["Running", "10.0.0.1", "running"],
    ["Running", undefined, "new"],
    ["Pending", "10.0.0.1", "new"],
    [undefined, undefined, "new"],
  ];
  for (const [phase, ip, want] of rows) assert.equal(adoptedStage(phase, ip), want, `${phase} ${ip}`);
});

test("setupStages: kubelet traffic reports creating, then initializing with init containers; minimal none", () => {
  const withInit = pod({ initContainers: [{ name: "init" }] });
  assert.deepEqual(setupStages(pod(), true), ["creating"]);
  assert.deepEqual(setupStages(withInit, true), ["creating", "initializing"]);
  assert.deepEqual(setupStages(withInit, false), []);
});

test("setupStages: a sandbox that takes time is reported ready as a stage of its own (kubelet traffic)", () => {
  const withInit = pod({ initContainers: [{ name: "init" }] });
  assert.deepEqual(setupStages(pod(), true, 300), ["creating", "sandbox"]);
  assert.deepEqual(setupStages(withInit, true, 300), ["creating", "sandbox", "initializing"]);
  assert.deepEqual(setupStages(pod(), true, 0), ["creating"]);
  assert.deepEqual(setupStages(withInit, false, 300), []);
});

test("sandboxReadyAt and startStepDue: sandbox after the pod is seen (or its volumes mounted), containers after it", () => {
  assert.equal(sandboxReadyAt(1_000, undefined, 300), 1_300);
  assert.equal(sandboxReadyAt(1_000, 5_000, 300), 5_300, "a pod that waited for its volumes");
  assert.equal(sandboxReadyAt(1_000, undefined, 0), 1_000);
  const rows: [PodStage, number, number, number, number][] = [
    // step, sandboxAt, sandboxMs, containersMs, due
    ["creating", 1_300, 300, 10, -Infinity],
    ["sandbox", 1_300, 300, 10, 1_300],
    ["initializing", 1_300, 300, 10, 1_310],
    ["running", 1_300, 300, 10, 1_310],
    // No start-up latency: everything at once, as before the model.
    ["sandbox", 1_000, 0, 10, 1_000],
    ["running", 1_000, 0, 10, 1_000],
  ];
  for (const [step, at, ms, cms, want] of rows)
    assert.equal(startStepDue(step, at, ms, cms), want, `${step} ${ms}`);
});

test("generationUnobserved: a deleted pod whose generation moved on gets its status first, unless it ended", () => {
  const rows: [HostedStage, number | undefined, number | undefined, boolean][] = [
    // stage, generation, observed by the last written status, write first
    ["running", 2, 1, true],
    ["creating", 2, 1, true],
    ["sandbox", 2, 1, true],
    ["running", 1, 1, false],
    ["running", undefined, undefined, false],
    ["running", 2, undefined, false],
    ["succeeded", 2, 1, false],
    ["terminated", 2, 1, false],
    ["new", 2, 1, false],
  ];
  for (const [stage, gen, observed, want] of rows)
    assert.equal(generationUnobserved(stage, gen, observed), want, `${stage} ${gen} ${observed}`);
});

test("initExitStep: Never fails the pod; otherwise restart at once, then the back-off", () => {
  assert.deepEqual(initExitStep("Never", 1), { stage: "failed" });
  const rows: [number, number][] = [
    [1, 0],
    [2, 10_000],
    [3, 20_000],
    [10, 300_000],
  ];
  for (const [fails, delayMs] of rows)
    assert.deepEqual(initExitStep("Always", fails), { stage: "initializing", delayMs }, `${fails}`);
  assert.equal(initFailsAgain(1, 2), true);
  assert.equal(initFailsAgain(2, 2), false);
  assert.equal(initFailsAgain(5, Infinity), true);
});

test("containerExitStep: restartPolicy decides; the back-off streak grows and a long run resets it", () => {
  const rows: [string | undefined, number, number, number, ReturnType<typeof containerExitStep>][] = [
    ["Never", 0, 1_000, 0, { stage: "succeeded" }],
    ["Never", 3, 1_000, 0, { stage: "failed" }],
    ["OnFailure", 0, 1_000, 0, { stage: "succeeded" }],
    ["OnFailure", 1, 1_000, 0, { stage: "backoff", exits: 1, delayMs: 0 }],
    [undefined, 0, 1_000, 0, { stage: "backoff", exits: 1, delayMs: 0 }],
    ["Always", 1, 1_000, 1, { stage: "backoff", exits: 2, delayMs: 10_000 }],
    ["Always", 1, 1_000, 2, { stage: "backoff", exits: 3, delayMs: 20_000 }],
    ["Always", 1, 700_000, 5, { stage: "backoff", exits: 1, delayMs: 0 }],
  ];
  for (const [policy, code, ranMs, exits, want] of rows)
    assert.deepEqual(
      containerExitStep(policy, code, ranMs, exits),
      want,
      `${policy} ${code} ${ranMs} ${exits}`,
    );
});

test("containerExit: the run model, a failing liveness probe killing first with 137", () => {
  const cfg = { jobRunMs: 5_000 };
  const job = {
    metadata: { name: "j", namespace: "d", uid: "u", ownerReferences: [{ kind: "Job", name: "j" }] },
    spec: { containers: [{ name: "c" }] },
  };
  assert.equal(containerExit(pod(), cfg, undefined), undefined);
  assert.deepEqual(containerExit(pod(), cfg, 30_000), { afterMs: 30_000, exitCode: 137 });
  assert.deepEqual(containerExit(job, cfg, undefined), { afterMs: 5_000, exitCode: 0 });
  assert.deepEqual(containerExit(job, cfg, 30_000), { afterMs: 5_000, exitCode: 0 });
  assert.deepEqual(containerExit(job, cfg, 1_000), { afterMs: 1_000, exitCode: 137 });
});

test("runningPlan: started and ready when the probes pass, readiness lost or flapping by annotation", () => {
  const probe = { periodSeconds: 5, initialDelaySeconds: 10 };
  assert.deepEqual(runningPlan(pod()), {
    notStarted: false,
    unready: false,
    startedAtMs: undefined,
    readyAtMs: undefined,
    unreadyAtMs: undefined,
    flap: undefined,
    killAtMs: undefined,
  });
  const gated = pod({
    containers: [{ name: "app", gate: { startedAfterMs: 5_000, readyAfterMs: 15_000 } }],
  });
  assert.deepEqual(
    [runningPlan(gated).notStarted, runningPlan(gated).startedAtMs, runningPlan(gated).readyAtMs],
    [true, 5_000, 15_000],
  );
  const failing = pod(
    { containers: [{ name: "app", readinessProbe: probe, livenessProbe: probe }] },
    {
      "kubemark-cluster.io/probe-fail-after": "30",
    },
  );
  const f = runningPlan(failing);
  assert.equal(f.unreadyAtMs, 40_000);
  assert.equal(f.killAtMs, 40_000);
  assert.equal(f.flap, undefined);
  const flapping = pod(
    { containers: [{ name: "app", readinessProbe: probe }] },
    {
      "kubemark-cluster.io/probe-flap-period": "20",
    },
  );
  assert.deepEqual(runningPlan(flapping).flap, { firstMs: 20_000, periodMs: 20_000 });
});

test("stopPlan: only running containers take time; killed at the grace period's end they exit 137", () => {
  const sleeper = pod({
    terminationGracePeriodSeconds: 30,
    containers: [{ name: "c", stop: { preStopMs: 0, ignoresTerm: true } }],
  });
  assert.deepEqual(stopPlan("running", pod()), { stopMs: 0, exitCode: 0 });
  assert.deepEqual(stopPlan("running", sleeper), { stopMs: 30_000, exitCode: 137 });
  assert.deepEqual(stopPlan("backoff", sleeper), { stopMs: 0, exitCode: undefined });
  const deleting = { ...sleeper, metadata: { ...sleeper.metadata, deletionGracePeriodSeconds: 5 } };
  assert.deepEqual(stopPlan("running", deleting), { stopMs: 5_000, exitCode: 137 });
  const hook = pod({ containers: [{ name: "c", stop: { preStopMs: 3_000, ignoresTerm: false } }] });
  assert.deepEqual(stopPlan("running", hook), { stopMs: 3_000, exitCode: 0 });
  // A sidecar that ignores SIGTERM stops after the main container, with the rest of the grace.
  const sidecar = pod({
    terminationGracePeriodSeconds: 30,
    initContainers: [{ name: "proxy", restartPolicy: "Always", stop: { preStopMs: 0, ignoresTerm: true } }],
    containers: [{ name: "c", stop: { preStopMs: 3_000, ignoresTerm: false } }],
  });
  assert.deepEqual(stopPlan("running", sidecar), { stopMs: 30_000, exitCode: 0 });
});

test("perContainerExits: containers that do not run alike exit each on their own; alike, they run together", () => {
  const cfg = { jobRunMs: 5_000 };
  const crash = { name: "app", image: "busybox", command: ["sh", "-c", "sleep 2; exit 1"] };
  const web = { name: "web", image: "nginx" };
  assert.equal(perContainerExits(pod({ containers: [crash] }), cfg, undefined), undefined, "one container");
  assert.equal(
    perContainerExits(pod({ containers: [web, { ...web, name: "b" }] }), cfg, undefined),
    undefined,
  );
  assert.deepEqual(perContainerExits(pod({ containers: [crash, web] }), cfg, undefined), [
    { afterMs: 2_000, exitCode: 1 },
    undefined,
  ]);
  assert.deepEqual(
    perContainerExits(pod({ containers: [crash, web] }), cfg, 1_000),
    [
      { afterMs: 1_000, exitCode: 137 },
      { afterMs: 1_000, exitCode: 137 },
    ],
    "a failing liveness probe kills each first",
  );
  assert.equal(
    perContainerExits(
      pod({ containers: [crash, web] }, { "kubemark-cluster.io/run-seconds": "3" }),
      cfg,
      undefined,
    ),
    undefined,
    "run-seconds sets one outcome for all",
  );
});

test("podEndStage: the pod ends once every main container has, Failed when one failed", () => {
  const rows: [(number | undefined)[], string | undefined][] = [
    [[0, undefined], undefined],
    [[3, undefined], undefined],
    [[0, 0], "succeeded"],
    [[3, 0], "failed"],
    [[0, 137], "failed"],
  ];
  for (const [codes, want] of rows) assert.equal(podEndStage(codes), want, JSON.stringify(codes));
});

test("unmountSeenAt: TerminatePod at the first check of WaitForUnmount after the volumes are unmounted", () => {
  const rows: [string, number, boolean, number][] = [
    ["no volumes: at once", 0, false, 0],
    ["volumes the volume manager unmounts in its loops: the second check", 0, true, 300],
    ["unmounted in 250 ms (a CSI volume)", 250, true, 300],
    ["unmounted in 301 ms", 301, true, 600],
    ["unmounted in 900 ms", 900, true, 900],
  ];
  for (const [name, unmountedMs, hasVolumes, want] of rows)
    assert.equal(unmountSeenAt(1_000, 1_000 + unmountedMs, hasVolumes), 1_000 + want, name);
});
