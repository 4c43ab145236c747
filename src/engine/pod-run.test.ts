// A pod's run: exits, restarts and back-off, probes, resize, adoption, failing init containers.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PodObject } from "./pod-object.ts";
import {
  type ContainerState,
  registered,
  makePod,
  podPath,
  bind,
  withNodeCidr,
  writtenStatuses,
} from "./testdata/hollow-node-harness.ts";

test("pods: a Job of pause pods runs until deleted; `exit 3` with restartPolicy Never fails the pod", async () => {
  const h = await registered({ traffic: "minimal", jobRunMs: 5_000 });
  const job = { ownerReferences: [{ kind: "Job", name: "j", controller: true }] };
  bind(
    h,
    makePod(
      "pause-1",
      { restartPolicy: "Never", containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] },
      job,
    ),
  );
  bind(
    h,
    makePod(
      "fail-1",
      {
        restartPolicy: "Never",
        containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "sleep 2; exit 3"] }],
      },
      job,
    ),
  );
  await h.clock.advance(60_000);
  assert.deepEqual(
    writtenStatuses(h.api, "pause-1").map((s) => s.phase),
    ["Running"],
    "pause never exits",
  );
  const failed = writtenStatuses(h.api, "fail-1");
  assert.deepEqual(
    failed.map((s) => s.phase),
    ["Running", "Failed"],
  );
  assert.deepEqual(failed[1]!.containerStatuses[0]!.state.terminated, {
    containerID: (failed[1]!.containerStatuses[0] as unknown as { containerID: string }).containerID,
    exitCode: 3,
    reason: "Error",
    startedAt: failed[0]!.containerStatuses[0]!.state.running!.startedAt,
    finishedAt: new Date(Date.parse(failed[0]!.containerStatuses[0]!.state.running!.startedAt) + 2_000)
      .toISOString()
      .replace(/\.\d+Z$/, "Z"),
  });
});

test("pods: a crashing container restarts with the kubelet's back-off (at once, 10 s, 20 s) in CrashLoopBackOff", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod("crash-1", {
      restartPolicy: "Always",
      containers: [{ name: "app", image: "busybox", command: ["sh", "-c", "sleep 2; exit 1"] }],
    }),
  );
  const t0 = h.clock.now();
  const seen: string[] = [];
  const record = (): void => {
    const all = writtenStatuses(h.api, "crash-1");
    for (const s of all.slice(seen.length)) {
      const c = s.containerStatuses[0] as unknown as {
        restartCount: number;
        state: ContainerState;
        lastState: { terminated?: { exitCode: number } };
      };
      const state = c.state.running ? "running" : (c.state.waiting?.reason ?? "terminated");
      seen.push(
        `${Math.round((h.clock.now() - t0) / 1000)}s ${s.phase} ${state} restarts=${c.restartCount} last=${c.lastState.terminated?.exitCode ?? "-"}`,
      );
    }
  };
  for (let i = 0; i < 40; i++) {
    await h.clock.advance(1_000);
    record();
  }
  assert.deepEqual(seen, [
    "1s Running running restarts=0 last=-",
    "2s Running running restarts=1 last=1", // first exit at 2 s: restarted at once
    "4s Running CrashLoopBackOff restarts=1 last=1", // second exit: back-off 10 s
    "14s Running running restarts=2 last=1",
    "16s Running CrashLoopBackOff restarts=2 last=1", // third exit: back-off 20 s
    "36s Running running restarts=3 last=1",
    "38s Running CrashLoopBackOff restarts=3 last=1", // fourth exit: back-off 40 s
  ]);
  const waiting = writtenStatuses(h.api, "crash-1")[2]!.containerStatuses[0]!.state.waiting as unknown as {
    message: string;
  };
  assert.equal(
    waiting.message,
    "back-off 10s restarting failed container=app pod=crash-1_default(uid-crash-1)",
  );
});

test("pods: startup and readiness probes: started, then ready, each when its probe first passes", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod("probed", {
      containers: [
        {
          name: "app",
          image: "nginx",
          startupProbe: { initialDelaySeconds: 2, periodSeconds: 1 },
          readinessProbe: { initialDelaySeconds: 5, periodSeconds: 1 },
        },
      ],
    }),
  );
  const t0 = h.clock.now();
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) {
    await h.clock.advance(1_000);
    for (const s of writtenStatuses(h.api, "probed").slice(seen.length)) {
      const c = s.containerStatuses[0] as unknown as { started: boolean; ready: boolean };
      const ready = s.conditions.find((x) => x.type === "Ready") as unknown as {
        status: string;
        lastTransitionTime: string;
      };
      const since = (Date.parse(ready.lastTransitionTime) - Math.floor(t0 / 1000) * 1000) / 1000;
      seen.push(
        `${(h.clock.now() - t0) / 1000}s started=${c.started} ready=${c.ready} Ready=${ready.status} since ${since}s`,
      );
    }
  }
  assert.deepEqual(seen, [
    "1s started=false ready=false Ready=False since 0s",
    "2s started=true ready=false Ready=False since 0s",
    "5s started=true ready=true Ready=True since 5s",
  ]);
});

test("pods: probe-fail-after: readiness lost after its failure threshold; a failing liveness probe restarts the container", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod(
      "sick",
      {
        restartPolicy: "Always",
        containers: [
          {
            name: "app",
            image: "nginx",
            readinessProbe: { periodSeconds: 2, failureThreshold: 2 },
            livenessProbe: { periodSeconds: 5, failureThreshold: 3 },
          },
        ],
      },
      { annotations: { "kubemark-cluster.io/probe-fail-after": "10" } },
    ),
  );
  const t0 = h.clock.now();
  const seen: string[] = [];
  for (let i = 0; i < 30; i++) {
    await h.clock.advance(1_000);
    for (const s of writtenStatuses(h.api, "sick").slice(seen.length)) {
      const c = s.containerStatuses[0] as unknown as {
        ready: boolean;
        restartCount: number;
        lastState: { terminated?: { exitCode: number } };
      };
      seen.push(
        `${(h.clock.now() - t0) / 1000}s ready=${c.ready} restarts=${c.restartCount} last=${c.lastState.terminated?.exitCode ?? "-"}`,
      );
    }
  }
  assert.deepEqual(seen, [
    "1s ready=true restarts=0 last=-",
    "12s ready=false restarts=0 last=-", // readiness ticks at 10 s, 12 s fail: threshold 2
    "20s ready=true restarts=1 last=137", // liveness ticks at 10, 15, 20 s fail: killed, restarted at once
  ]);
});

test("pods: probe-flap-period: readiness alternates", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod(
      "flappy",
      { containers: [{ name: "app", image: "nginx", readinessProbe: { periodSeconds: 1 } }] },
      { annotations: { "kubemark-cluster.io/probe-flap-period": "5" } },
    ),
  );
  await h.clock.advance(21_000);
  const ready = writtenStatuses(h.api, "flappy").map(
    (s) => (s.containerStatuses[0] as unknown as { ready: boolean }).ready,
  );
  assert.deepEqual(ready, [true, false, true, false, true]);
});

test("pods: an in-place resize is reported: in progress (allocated, not yet applied), then the containers' new resources; the new generation observed", async () => {
  const h = await registered({ traffic: "minimal" });
  const pod = makePod(
    "big",
    {
      containers: [
        { name: "app", image: "nginx", resources: { requests: { cpu: "100m" }, limits: { cpu: "200m" } } },
      ],
    },
    { generation: 1 },
  );
  bind(h, pod);
  await h.clock.advance(1_000);
  const resized: PodObject = {
    ...pod,
    metadata: { ...pod.metadata, generation: 2 },
    spec: {
      ...pod.spec,
      containers: [
        { name: "app", image: "nginx", resources: { requests: { cpu: "300m" }, limits: { cpu: "400m" } } },
      ],
    },
  };
  h.api.pods.set(podPath("big"), resized);
  h.node.onPod("MODIFIED", resized);
  h.node.onPod("MODIFIED", resized); // an unrelated update: nothing more to write
  await h.clock.advance(2_000);
  const written = writtenStatuses(h.api, "big") as unknown as Array<{
    observedGeneration: number;
    conditions: { type: string; $patch?: string; observedGeneration?: number }[];
    containerStatuses: { resources: unknown; allocatedResources: unknown }[];
  }>;
  assert.equal(written.length, 3);
  const old = { requests: { cpu: "100m" }, limits: { cpu: "200m" } };
  assert.deepEqual(written[0]!.containerStatuses[0]!.resources, old);
  // Allocated at once, applied at the next relist: PodResizeInProgress meanwhile.
  assert.deepEqual(written[1]!.containerStatuses[0]!.resources, old);
  assert.deepEqual(written[1]!.containerStatuses[0]!.allocatedResources, { cpu: "300m" });
  const inProgress = written[1]!.conditions.find((c) => c.type === "PodResizeInProgress");
  assert.equal(inProgress?.observedGeneration, 2);
  assert.deepEqual(written[2]!.containerStatuses[0]!.resources, {
    requests: { cpu: "300m" },
    limits: { cpu: "400m" },
  });
  assert.deepEqual(written[2]!.containerStatuses[0]!.allocatedResources, { cpu: "300m" });
  assert.deepEqual(
    written[2]!.conditions.filter((c) => c.type.startsWith("PodResize")),
    [{ type: "PodResizeInProgress", $patch: "delete" }],
    "the condition is removed once applied",
  );
  assert.equal(written[2]!.observedGeneration, 2);
});

test("pods: a pod that already ended (Failed, Succeeded without an IP) is adopted as ended: nothing is written", async () => {
  const h = await registered({ traffic: "minimal" });
  for (const [name, phase] of [
    ["failed-1", "Failed"],
    ["done-1", "Succeeded"],
  ] as const) {
    const pod = makePod(name, { restartPolicy: "Never" });
    bind(h, { ...pod, status: { phase, startTime: "2026-01-01T00:00:00Z" } });
  }
  await h.clock.advance(30_000);
  assert.deepEqual(writtenStatuses(h.api, "failed-1"), []);
  assert.deepEqual(writtenStatuses(h.api, "done-1"), []);
});

test("pods: an init container failing twice is restarted with the back-off, then the pod runs; with restartPolicy Never it fails the pod", async () => {
  const h = await registered({ traffic: "kubelet" });
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  const pod = (name: string, restartPolicy: string): PodObject =>
    makePod(
      name,
      { restartPolicy, initContainers: [{ name: "setup", image: "busybox" }] },
      { annotations: { "kubemark-cluster.io/init-failures": "2" } },
    );
  bind(h, pod("flaky-init", "Always"));
  bind(h, pod("fatal-init", "Never"));
  const t0 = h.clock.now();
  const seen = (name: string): string[] =>
    writtenStatuses(h.api, name).map((s) => {
      const init = s.initContainerStatuses?.[0] as unknown as {
        restartCount: number;
        state: ContainerState;
      };
      const state = init.state.running
        ? "running"
        : init.state.terminated
          ? `terminated(${init.state.terminated.exitCode})`
          : init.state.waiting!.reason;
      return `${s.phase} init=${state} restarts=${init.restartCount}`;
    });
  await h.clock.advance(5_000);
  // The init container fails the moment it starts: its start and its failure come while the
  // first status is being written, and the status manager writes only the newest.
  assert.deepEqual(seen("fatal-init"), [
    "Pending init=PodInitializing restarts=0",
    "Failed init=terminated(1) restarts=0",
  ]);
  await h.clock.advance(10_000);
  assert.deepEqual(seen("flaky-init"), [
    "Pending init=PodInitializing restarts=0",
    // Its first run, its restart at once after the first failure, and the second failure all
    // come while the first status is written: the newest is written next.
    "Pending init=CrashLoopBackOff restarts=1", // the second failure: back-off 10 s
    "Pending init=running restarts=2",
    "Running init=terminated(0) restarts=0", // the third run passes: the pod runs
  ]);
  assert.ok(h.clock.now() - t0 >= 10_000);
});

test("pods: restartPolicy OnFailure: exit 0 succeeds the pod", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(h, makePod("ok-1", { restartPolicy: "OnFailure", containers: [{ name: "c", command: ["true"] }] }));
  await h.clock.advance(2_000);
  assert.deepEqual(
    writtenStatuses(h.api, "ok-1").map((s) => s.phase),
    ["Running", "Succeeded"],
  );
});
