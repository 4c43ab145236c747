import assert from "node:assert/strict";
import { test } from "node:test";
import {
  NO_MARK,
  nodeStartEvents,
  podEvents,
  restoredConditionEvents,
  stopEvents,
  type PodEventFacts,
  type PodEventMark,
} from "./kubelet-events.ts";
import { slimPod, type PodObject } from "./pod-object.ts";
import { pod } from "./testdata/pod-fixtures.ts";

const PRESENT = (image: string): string =>
  `Pulled: Container image "${image}" already present on machine and can be accessed by the pod`;
const START = (c: string, image: string): string[] => [
  `${c} ${PRESENT(image)}`,
  `${c} Created: Container created`,
  `${c} Started: Container started`,
];

/** Runs a pod's status writes through podEvents, as the recorder does; one line per event. */
function replay(p: PodObject, writes: Partial<PodEventFacts>[]): string[][] {
  let mark: PodEventMark = NO_MARK;
  return writes.map((w) => {
    const r = podEvents({ pod: p, stage: "running", runningAt: "t0", ...w }, mark);
    mark = r.mark;
    return r.events.map((e) => `${e.init ? "init:" : ""}${e.container} ${e.reason}: ${e.message}`);
  });
}

test("a starting pod: nothing while the sandbox is made, then each container's image, Created and Started once", () => {
  const p = slimPod(pod());
  assert.deepEqual(
    replay(p, [
      { stage: "creating" },
      { stage: "running" },
      // Probe passes and other status writes of the same run record nothing more.
      { stage: "running", unready: undefined, readyAt: "t1" },
    ]),
    [[], [...START("app", "nginx"), ...START("log", "registry.k8s.io/busybox:1.36")], []],
  );
});

test("init containers start in order before the main containers; with imagePullPolicy Always the image is pulled", () => {
  const p = slimPod(
    pod({
      initContainers: [
        { name: "setup", image: "busybox:1.36" },
        { name: "proxy", image: "envoy:latest", restartPolicy: "Always", imagePullPolicy: "Always" },
      ],
      containers: [{ name: "app", image: "nginx:1.27" }],
    }),
  );
  const [creating, init, running] = replay(p, [
    { stage: "creating" },
    { stage: "initializing" },
    { stage: "running" },
  ]);
  assert.deepEqual(creating, []);
  assert.deepEqual(init, [
    ...START("setup", "busybox:1.36").map((l) => `init:${l}`),
    'init:proxy Pulling: Pulling image "envoy:latest"',
    'init:proxy Pulled: Successfully pulled image "envoy:latest" in 0s (0s including waiting). Image size: 0 bytes.',
    "init:proxy Created: Container created",
    "init:proxy Started: Container started",
  ]);
  assert.deepEqual(running, START("app", "nginx:1.27"));
});

test("a failing init container: started, BackOff while it waits, started again, then the rest of the pod", () => {
  const p = slimPod(
    pod(
      {
        restartPolicy: "Always",
        initContainers: [
          { name: "a", image: "busybox" },
          { name: "b", image: "busybox" },
          { name: "c", image: "busybox" },
        ],
        containers: [{ name: "app", image: "nginx" }],
      },
      { annotations: { "kubemark-cluster.io/init-failures": "2" } },
    ),
  );
  const exit1 = { exitCode: 1, startedAt: "t0", finishedAt: "t1" };
  const exit2 = { exitCode: 1, startedAt: "t2", finishedAt: "t3" };
  const byWrite = replay(p, [
    { stage: "initializing" },
    // First exit: restarted at once.
    { stage: "initializing", initIndex: 0, initRestarts: 1, initLastRun: exit1 },
    // Second exit: back-off, then the restart that passes.
    { stage: "initializing", initIndex: 0, initRestarts: 1, initLastRun: exit2, backoffMs: 10_000 },
    { stage: "initializing", initIndex: 0, initRestarts: 2, initLastRun: exit2 },
    { stage: "running", initLastRun: exit2 },
  ]);
  assert.deepEqual(byWrite, [
    START("a", "busybox").map((l) => `init:${l}`),
    START("a", "busybox").map((l) => `init:${l}`),
    ["init:a BackOff: Back-off restarting failed container a in pod web-0_default(uid-web-0)"],
    START("a", "busybox").map((l) => `init:${l}`),
    [
      ...START("b", "busybox").map((l) => `init:${l}`),
      ...START("c", "busybox").map((l) => `init:${l}`),
      ...START("app", "nginx"),
    ],
  ]);
});

test("a crash loop: restarted at once the first time, then BackOff once per exit and a start per restart", () => {
  const p = slimPod(pod({ containers: [{ name: "app", image: "busybox" }] }));
  const run = (n: number): { exitCode: number; startedAt: string; finishedAt: string } => ({
    exitCode: 1,
    startedAt: `r${n}`,
    finishedAt: `f${n}`,
  });
  assert.deepEqual(
    replay(p, [
      { stage: "running", runningAt: "r0" },
      { stage: "running", runningAt: "r1", lastRun: run(0) },
      { stage: "backoff", runningAt: "r1", lastRun: run(1), backoffMs: 10_000 },
      // The back-off status written again (a retry) records nothing new.
      { stage: "backoff", runningAt: "r1", lastRun: run(1), backoffMs: 10_000 },
      { stage: "running", runningAt: "r2", lastRun: run(1) },
    ]),
    [
      START("app", "busybox"),
      START("app", "busybox"),
      ["app BackOff: Back-off restarting failed container app in pod web-0_default(uid-web-0)"],
      [],
      START("app", "busybox"),
    ],
  );
});

test("probes made to fail: readiness lost records failureThreshold Unhealthy; a liveness kill records them and Killing", () => {
  const p = slimPod(
    pod(
      {
        containers: [
          {
            name: "app",
            image: "nginx",
            readinessProbe: { periodSeconds: 5, failureThreshold: 2 },
            livenessProbe: { periodSeconds: 10, failureThreshold: 1 },
          },
        ],
      },
      { annotations: { "kubemark-cluster.io/probe-fail-after": "30" } },
    ),
  );
  const killed = { exitCode: 137, startedAt: "r0", finishedAt: "f0" };
  assert.deepEqual(
    replay(p, [
      { stage: "running", runningAt: "r0", unready: true },
      { stage: "running", runningAt: "r0", readyAt: "t5" },
      { stage: "running", runningAt: "r0", unready: true, readyAt: "t30" },
      { stage: "running", runningAt: "r0", unready: true, readyAt: "t30" },
      { stage: "running", runningAt: "r1", lastRun: killed, unready: true },
    ]),
    [
      START("app", "nginx"),
      [],
      ["app Unhealthy: Readiness probe failed: ", "app Unhealthy: Readiness probe failed: "],
      [],
      [
        "app Unhealthy: Liveness probe failed: ",
        "app Killing: Container app failed liveness probe, will be restarted",
        ...START("app", "nginx"),
      ],
    ],
  );
});

test("containers restarted on their own: only the one that exited gets BackOff and a new start", () => {
  const p = slimPod(pod());
  const exit = { exitCode: 1, startedAt: "r0", finishedAt: "f1" };
  assert.deepEqual(
    replay(p, [
      { stage: "running", runningAt: "r0" },
      {
        stage: "running",
        runningAt: "r0",
        containers: [{ runningAt: "r0" }, { runningAt: "r0", lastRun: exit, backoffMs: 10_000 }],
      },
      {
        stage: "running",
        runningAt: "r0",
        containers: [{ runningAt: "r0" }, { runningAt: "r2", lastRun: exit }],
      },
    ]),
    [
      [...START("app", "nginx"), ...START("log", "registry.k8s.io/busybox:1.36")],
      ["log BackOff: Back-off restarting failed container log in pod web-0_default(uid-web-0)"],
      START("log", "registry.k8s.io/busybox:1.36"),
    ],
  );
});

test("ended pods record nothing; a deleted pod's running containers are each killed, sidecars included", () => {
  const p = slimPod(
    pod({
      initContainers: [
        { name: "setup", image: "busybox" },
        { name: "proxy", image: "envoy", restartPolicy: "Always" },
      ],
    }),
  );
  for (const stage of ["succeeded", "failed", "terminated"] as const) {
    assert.deepEqual(podEvents({ pod: p, stage, runningAt: "r0" }, NO_MARK).events, [], stage);
  }
  assert.deepEqual(
    stopEvents(p).map((e) => `${e.init ? "init:" : ""}${e.container} ${e.reason}: ${e.message}`),
    [
      "app Killing: Stopping container app",
      "log Killing: Stopping container log",
      "init:proxy Killing: Stopping container proxy",
    ],
  );
});

test("a starting kubelet's node events, as `kubectl describe node` lists them", () => {
  assert.deepEqual(
    nodeStartEvents("hollow-node-0").map((e) => `${e.type} ${e.reason}: ${e.message}`),
    [
      "Normal Starting: Starting kubelet.",
      "Normal NodeHasSufficientMemory: Node hollow-node-0 status is now: NodeHasSufficientMemory",
      "Normal NodeHasNoDiskPressure: Node hollow-node-0 status is now: NodeHasNoDiskPressure",
      "Normal NodeHasSufficientPID: Node hollow-node-0 status is now: NodeHasSufficientPID",
      "Normal NodeAllocatableEnforced: Updated Node Allocatable limit across pods",
    ],
  );
});

test("conditions the node lifecycle controller set Unknown: one event per condition the kubelet's setters turn healthy", () => {
  const cases: { name: string; server: { type: string; status: string }[]; want: string[] }[] = [
    {
      name: "all four Unknown after missed heartbeats",
      server: ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map((type) => ({
        type,
        status: "Unknown",
      })),
      want: ["NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"],
    },
    {
      name: "only Ready differs",
      server: [
        { type: "MemoryPressure", status: "False" },
        { type: "DiskPressure", status: "False" },
        { type: "PIDPressure", status: "False" },
        { type: "Ready", status: "False" },
      ],
      want: ["NodeReady"],
    },
    {
      name: "healthy",
      server: [
        { type: "MemoryPressure", status: "False" },
        { type: "DiskPressure", status: "False" },
        { type: "PIDPressure", status: "False" },
        { type: "Ready", status: "True" },
      ],
      want: [],
    },
  ];
  for (const { name, server, want } of cases) {
    const events = restoredConditionEvents("n1", server);
    assert.deepEqual(
      events.map((e) => e.reason),
      want,
      name,
    );
    for (const e of events) assert.equal(e.message, `Node n1 status is now: ${e.reason}`);
  }
});
