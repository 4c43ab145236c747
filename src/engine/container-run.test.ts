import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SANDBOX_LATENCY_ANNOTATION,
  parseLatencyRange,
  sandboxLatencyMs,
  RUNS_FOREVER,
  afterExit,
  commandOutcome,
  initFailure,
  podOutcome,
  resetsBackoff,
  restartDelayMs,
  type RunOutcome,
} from "./container-run.ts";

test("commandOutcome: what an image and command tell of a container's run", () => {
  const cases: Array<[string, Parameters<typeof commandOutcome>[0], RunOutcome | undefined]> = [
    ["pause image", { image: "registry.k8s.io/pause:3.10" }, RUNS_FOREVER],
    ["pause by digest", { image: "k8s.gcr.io/pause@sha256:abc" }, RUNS_FOREVER],
    ["a server image tells nothing", { image: "nginx:1.27" }, undefined],
    ["no image, no command", {}, undefined],
    ["sleep infinity", { image: "busybox", command: ["sleep", "infinity"] }, RUNS_FOREVER],
    ["sleep 30", { command: ["sleep"], args: ["30"] }, { afterMs: 30_000, exitCode: 0 }],
    ["sleep 1m 30s", { command: ["/bin/sleep", "1m", "30s"] }, { afterMs: 90_000, exitCode: 0 }],
    ["sleep 0.5", { command: ["sleep", "0.5"] }, { afterMs: 500, exitCode: 0 }],
    ["true", { command: ["true"] }, { afterMs: 0, exitCode: 0 }],
    ["false", { command: ["/bin/false"] }, { afterMs: 0, exitCode: 1 }],
    ["sh -c 'exit 0'", { command: ["sh", "-c", "exit 0"] }, { afterMs: 0, exitCode: 0 }],
    ["sh -c 'exit 3'", { command: ["/bin/sh", "-c"], args: ["exit 3"] }, { afterMs: 0, exitCode: 3 }],
    [
      "sh -c 'sleep 5; exit 1'",
      { command: ["sh", "-c", "sleep 5; exit 1"] },
      { afterMs: 5_000, exitCode: 1 },
    ],
    [
      "bash -c 'echo hi && sleep 2'",
      { command: ["bash", "-c", "echo hi && sleep 2"] },
      { afterMs: 2_000, exitCode: 0 },
    ],
    ["sh -c 'false && sleep 9'", { command: ["sh", "-c", "false && sleep 9"] }, { afterMs: 0, exitCode: 1 }],
    ["sh -c 'false; sleep 2'", { command: ["sh", "-c", "false; sleep 2"] }, { afterMs: 2_000, exitCode: 0 }],
    ["sh -c 'sleep infinity'", { command: ["sh", "-c", "sleep infinity"] }, RUNS_FOREVER],
    [
      "busybox sh -c 'sleep 3'",
      { command: ["busybox", "sh", "-c", "sleep 3"] },
      { afterMs: 3_000, exitCode: 0 },
    ],
    ["a loop tells nothing", { command: ["sh", "-c", "while true; do sleep 1; done"] }, undefined],
    ["a pipe tells nothing", { command: ["sh", "-c", "cat /x | wc -l"] }, undefined],
    ["an unknown program", { command: ["/app/server", "--port=80"] }, undefined],
    ["sleep with a bad operand", { command: ["sleep", "soon"] }, undefined],
    ["sh without -c", { command: ["sh", "/script.sh"] }, undefined],
    ["exit 256 wraps", { command: ["sh", "-c", "exit 257"] }, { afterMs: 0, exitCode: 1 }],
  ];
  for (const [name, c, want] of cases) assert.deepEqual(commandOutcome(c), want, name);
});

const pod = (
  runs: Array<RunOutcome | undefined>,
  meta: { annotations?: Record<string, string>; job?: boolean } = {},
): Parameters<typeof podOutcome>[0] => ({
  metadata: {
    ...(meta.annotations ? { annotations: meta.annotations } : {}),
    ...(meta.job ? { ownerReferences: [{ kind: "Job" }] } : {}),
  },
  spec: { containers: runs.map((run) => ({ run })) },
});

test("podOutcome: annotation, then command, then the fleet default; the last container ends the pod", () => {
  const d = { jobRunMs: 5_000 };
  assert.deepEqual(podOutcome(pod([undefined]), d), RUNS_FOREVER, "a Deployment's server runs until deleted");
  assert.deepEqual(
    podOutcome(pod([undefined], { job: true }), d),
    { afterMs: 5_000, exitCode: 0 },
    "Job default",
  );
  assert.deepEqual(
    podOutcome(pod([RUNS_FOREVER], { job: true }), d),
    RUNS_FOREVER,
    "a Job of pause pods runs on",
  );
  assert.deepEqual(podOutcome(pod([{ afterMs: 2_000, exitCode: 1 }]), d), { afterMs: 2_000, exitCode: 1 });
  assert.deepEqual(
    podOutcome(
      pod([
        { afterMs: 2_000, exitCode: 0 },
        { afterMs: 7_000, exitCode: 3 },
      ]),
      d,
    ),
    { afterMs: 7_000, exitCode: 3 },
    "the last one ends the pod; the first non-zero code",
  );
  assert.deepEqual(podOutcome(pod([{ afterMs: 1_000, exitCode: 0 }, RUNS_FOREVER]), d), RUNS_FOREVER);
  assert.deepEqual(
    podOutcome(pod([RUNS_FOREVER], { annotations: { "kubemark-cluster.io/run-seconds": "4" } }), d),
    { afterMs: 4_000, exitCode: 0 },
    "the annotation overrides the model",
  );
  assert.deepEqual(
    podOutcome(
      pod([undefined], {
        annotations: { "kubemark-cluster.io/run-seconds": "1", "kubemark-cluster.io/exit-code": "2" },
      }),
      d,
    ),
    { afterMs: 1_000, exitCode: 2 },
  );
  assert.deepEqual(
    podOutcome(pod([undefined], { job: true, annotations: { "kubemark-cluster.io/exit-code": "1" } }), d),
    { afterMs: 5_000, exitCode: 1 },
    "an exit code alone applies to the default run",
  );
  assert.deepEqual(
    podOutcome(pod([undefined], { annotations: { "kubemark-cluster.io/run-seconds": "x" } }), d),
    RUNS_FOREVER,
    "a bad annotation is ignored",
  );
});

test("afterExit: the kubelet's restartPolicy rules", () => {
  assert.equal(afterExit(undefined, 0), "restart", "Always is the default");
  assert.equal(afterExit("Always", 1), "restart");
  assert.equal(afterExit("OnFailure", 0), "succeed");
  assert.equal(afterExit("OnFailure", 2), "restart");
  assert.equal(afterExit("Never", 0), "succeed");
  assert.equal(afterExit("Never", 137), "fail");
});

test("restartDelayMs: at once, then 10 s doubling to 5 min; a run over 10 min resets", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 20].map(restartDelayMs),
    [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000],
  );
  assert.equal(resetsBackoff(600_000), false);
  assert.equal(resetsBackoff(600_001), true);
});

test("initFailure: by annotation (the first regular init container, N times) or by command (every run)", () => {
  const pod = (inits: Record<string, unknown>[], annotations?: Record<string, string>) => ({
    metadata: annotations ? { annotations } : {},
    spec: { initContainers: inits },
  });
  assert.equal(initFailure(pod([{ image: "busybox" }])), undefined);
  assert.deepEqual(
    initFailure(
      pod([{ restartPolicy: "Always" }, { image: "busybox" }], { "kubemark-cluster.io/init-failures": "2" }),
    ),
    { index: 1, times: 2, exitCode: 1, runMs: 0 },
    "a sidecar is not the one that fails",
  );
  assert.deepEqual(initFailure(pod([{ command: ["true"] }, { command: ["sh", "-c", "sleep 2; exit 4"] }])), {
    index: 1,
    times: Infinity,
    exitCode: 4,
    runMs: 2_000,
  });
  assert.equal(initFailure(pod([{}], { "kubemark-cluster.io/init-failures": "x" })), undefined);
});

test("parseLatencyRange: a duration or a range of two; malformed or inverted ones are not", () => {
  const rows: [string, { minMs: number; maxMs: number } | undefined][] = [
    ["300ms", { minMs: 300, maxMs: 300 }],
    ["0.3s", { minMs: 300, maxMs: 300 }],
    ["2", { minMs: 2000, maxMs: 2000 }],
    ["1m", { minMs: 60_000, maxMs: 60_000 }],
    ["0", { minMs: 0, maxMs: 0 }],
    ["250ms-350ms", { minMs: 250, maxMs: 350 }],
    ["0-1s", { minMs: 0, maxMs: 1000 }],
    ["350ms-250ms", undefined],
    ["fast", undefined],
    ["-1s", undefined],
    ["1s-2s-3s", undefined],
    ["", undefined],
  ];
  for (const [text, want] of rows) assert.deepEqual(parseLatencyRange(text), want, text);
});

test("sandboxLatencyMs: the annotation over the fleet's range, drawn uniformly", () => {
  const fleet = { minMs: 290, maxMs: 340 };
  const pod = (a?: string) => ({
    metadata: a === undefined ? {} : { annotations: { [SANDBOX_LATENCY_ANNOTATION]: a } },
  });
  const rows: [string | undefined, number, number][] = [
    // annotation, random, latency
    [undefined, 0, 290],
    [undefined, 0.5, 315],
    [undefined, 0.999, 340],
    ["1s", 0.5, 1000],
    ["0", 0.5, 0],
    ["100ms-200ms", 0.25, 125],
    ["bogus", 0.5, 315],
  ];
  for (const [a, r, want] of rows)
    assert.equal(
      sandboxLatencyMs(pod(a), fleet, () => r),
      want,
      `${a} ${r}`,
    );
});
