// renderPodStatus and its helpers: what status a hollow kubelet writes for each stage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type PodObject } from "./pod-object.ts";
import {
  RUN_SECONDS_ANNOTATION,
  containerId,
  normalizeImage,
  renderPodStatus,
  runDurationMs,
  type PodRun,
} from "./pod-status.ts";
import { pod, RUN, FINISHED } from "./testdata/pod-fixtures.ts";

interface ContainerStatus {
  name: string;
  state: {
    running?: { startedAt: string };
    waiting?: { reason: string };
    terminated?: { exitCode: number; reason: string; startedAt: string; finishedAt: string };
  };
  ready: boolean;
  started: boolean;
  restartCount: number;
  image: string;
  containerID: string;
}

interface Status {
  phase: string;
  observedGeneration?: number;
  conditions: {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    lastTransitionTime: string;
  }[];
  hostIP: string;
  podIP: string;
  podIPs: { ip: string }[];
  startTime: string;
  containerStatuses: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

const render = (p: PodObject, stage: Parameters<typeof renderPodStatus>[1], run: PodRun = RUN): Status =>
  renderPodStatus(p, stage, run) as unknown as Status;

const conditionsOf = (s: Status): Record<string, string> =>
  Object.fromEntries(s.conditions.map((c) => [c.type, c.status]));

/** A compact view of container states: name=state[/ready]. */
const states = (list: ContainerStatus[] | undefined): string[] =>
  (list ?? []).map((c) => {
    const state = Object.keys(c.state)[0]!;
    const detail =
      state === "waiting"
        ? `:${c.state.waiting!.reason}`
        : state === "terminated"
          ? `:${c.state.terminated!.reason}:${c.state.terminated!.exitCode}`
          : "";
    return `${c.name}=${state}${detail}${c.ready ? "/ready" : ""}${c.started ? "/started" : ""}`;
  });

test("running: phase Running, all five conditions True, containers running, ready and started", () => {
  const s = render(pod(), "running");
  assert.equal(s.phase, "Running");
  assert.equal(s.observedGeneration, 1);
  assert.deepEqual(conditionsOf(s), {
    PodReadyToStartContainers: "True",
    Initialized: "True",
    Ready: "True",
    ContainersReady: "True",
    PodScheduled: "True",
  });
  assert.ok(s.conditions.every((c) => c.reason === undefined && c.message === undefined));
  assert.equal(s.conditions.find((c) => c.type === "Ready")?.lastTransitionTime, RUN.runningAt);
  assert.deepEqual(states(s.containerStatuses), ["app=running/ready/started", "log=running/ready/started"]);
  assert.deepEqual(
    s.containerStatuses.map((c) => [c.image, c.containerID, c.restartCount, c.state.running?.startedAt]),
    [
      ["docker.io/library/nginx:latest", containerId("uid-web-0", "app"), 0, RUN.runningAt],
      ["registry.k8s.io/busybox:1.36", containerId("uid-web-0", "log"), 0, RUN.runningAt],
    ],
  );
  assert.equal(s.initContainerStatuses, undefined, "no init containers, no list");
  assert.equal(s.podIP, "10.128.3.2");
  assert.deepEqual(s.podIPs, [{ ip: "10.128.3.2" }]);
  assert.equal(s.hostIP, "100.64.0.1");
  assert.equal(s.startTime, RUN.startedAt);
});

const WITH_INITS = pod({
  initContainers: [
    { name: "migrate", image: "migrate:v1" },
    { name: "proxy", image: "envoy", restartPolicy: "Always" },
    { name: "warm", image: "warm" },
  ],
});

test("creating: the kubelet's first report, before the sandbox: Pending, no pod IP, containers ContainerCreating", () => {
  const s = render(WITH_INITS, "creating");
  assert.equal(s.phase, "Pending");
  assert.equal(s.podIP, undefined);
  assert.equal(s.podIPs, undefined);
  assert.deepEqual(conditionsOf(s), {
    PodReadyToStartContainers: "False",
    Initialized: "False",
    Ready: "False",
    ContainersReady: "False",
    PodScheduled: "True",
  });
  assert.deepEqual(states(s.containerStatuses), [
    "app=waiting:PodInitializing",
    "log=waiting:PodInitializing",
  ]);
  const plain = render({ ...WITH_INITS, spec: { ...WITH_INITS.spec, initContainers: [] } }, "creating");
  assert.equal(conditionsOf(plain)["Initialized"], "True", "nothing to initialize");
  assert.deepEqual(states(plain.containerStatuses), [
    "app=waiting:ContainerCreating",
    "log=waiting:ContainerCreating",
  ]);
});

test("initializing: phase Pending, Initialized False, first init container running, the rest waiting", () => {
  const s = render(WITH_INITS, "initializing");
  assert.equal(s.phase, "Pending");
  assert.deepEqual(conditionsOf(s), {
    PodReadyToStartContainers: "True",
    Initialized: "False",
    Ready: "False",
    ContainersReady: "False",
    PodScheduled: "True",
  });
  const initialized = s.conditions.find((c) => c.type === "Initialized")!;
  assert.equal(initialized.reason, "ContainersNotInitialized");
  assert.equal(initialized.message, "containers with incomplete status: [migrate warm]");
  const ready = s.conditions.find((c) => c.type === "Ready")!;
  assert.equal(ready.reason, "ContainersNotReady");
  assert.equal(ready.message, "containers with unready status: [app log]");
  assert.deepEqual(states(s.initContainerStatuses), [
    "migrate=running/started",
    "proxy=waiting:PodInitializing",
    "warm=waiting:PodInitializing",
  ]);
  assert.deepEqual(states(s.containerStatuses), [
    "app=waiting:PodInitializing",
    "log=waiting:PodInitializing",
  ]);
});

test("running with init containers: inits Completed with exit code 0, sidecars keep running", () => {
  const s = render(WITH_INITS, "running");
  assert.equal(s.phase, "Running");
  assert.ok(Object.values(conditionsOf(s)).every((v) => v === "True"));
  // An init container that exited 0 is ready, as the kubelet's prober manager reports it.
  assert.deepEqual(states(s.initContainerStatuses), [
    "migrate=terminated:Completed:0/ready",
    "proxy=running/ready/started",
    "warm=terminated:Completed:0/ready",
  ]);
  const migrate = s.initContainerStatuses![0]!.state.terminated!;
  assert.deepEqual([migrate.startedAt, migrate.finishedAt], [RUN.startedAt, RUN.runningAt]);
  assert.deepEqual(states(s.containerStatuses), ["app=running/ready/started", "log=running/ready/started"]);
});

test("succeeded and terminated: phase Succeeded, every container exited 0, Ready False with PodCompleted", () => {
  for (const stage of ["succeeded", "terminated"] as const) {
    const s = render(WITH_INITS, stage, FINISHED);
    assert.equal(s.phase, "Succeeded", stage);
    assert.deepEqual(
      conditionsOf(s),
      {
        PodReadyToStartContainers: "False",
        Initialized: "True",
        Ready: "False",
        ContainersReady: "False",
        PodScheduled: "True",
      },
      stage,
    );
    for (const type of ["Ready", "ContainersReady"]) {
      const c = s.conditions.find((x) => x.type === type)!;
      assert.equal(c.reason, "PodCompleted", `${stage} ${type}`);
      assert.equal(c.message, undefined);
      assert.equal(c.lastTransitionTime, FINISHED.finishedAt);
    }
    assert.deepEqual(
      states(s.containerStatuses),
      ["app=terminated:Completed:0", "log=terminated:Completed:0"],
      stage,
    );
    assert.deepEqual(
      states(s.initContainerStatuses),
      [
        "migrate=terminated:Completed:0/ready",
        "proxy=terminated:Completed:0/ready",
        "warm=terminated:Completed:0/ready",
      ],
      stage,
    );
    const app = s.containerStatuses[0]!.state.terminated!;
    assert.deepEqual([app.startedAt, app.finishedAt], [FINISHED.runningAt, FINISHED.finishedAt]);
  }
});

test("renderPodStatus leaves out observedGeneration when the pod has none", () => {
  const s = render(pod({}, { generation: undefined }), "running");
  assert.equal("observedGeneration" in s, false);
  assert.ok(s.conditions.every((c) => !("observedGeneration" in c)));
});

test("runDurationMs: Job pods run jobRunMs, the annotation wins, others run until deleted", () => {
  const job = [{ kind: "Job", name: "pi", controller: true }];
  const rs = [{ kind: "ReplicaSet", name: "web-abc", controller: true }];
  const cases: Array<[string, Partial<PodObject["metadata"]>, number | undefined]> = [
    ["Job pod", { ownerReferences: job }, 5_000],
    ["ReplicaSet pod", { ownerReferences: rs }, undefined],
    ["bare pod", {}, undefined],
    ["annotated", { annotations: { [RUN_SECONDS_ANNOTATION]: "30" } }, 30_000],
    ["annotated fraction", { annotations: { [RUN_SECONDS_ANNOTATION]: "0.5" } }, 500],
    ["annotated Job pod", { ownerReferences: job, annotations: { [RUN_SECONDS_ANNOTATION]: "2" } }, 2_000],
    [
      "bad annotation on a Job pod",
      { ownerReferences: job, annotations: { [RUN_SECONDS_ANNOTATION]: "soon" } },
      5_000,
    ],
    ["negative annotation", { annotations: { [RUN_SECONDS_ANNOTATION]: "-1" } }, undefined],
    ["other annotations", { annotations: { "example.com/x": "30" } }, undefined],
  ];
  for (const [what, metadata, want] of cases)
    assert.equal(runDurationMs(pod({}, metadata), 5_000), want, what);
});

test("normalizeImage spells references as a container runtime does", () => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, ""],
    ["", ""],
    ["nginx", "docker.io/library/nginx:latest"],
    ["nginx:1.27", "docker.io/library/nginx:1.27"],
    ["bitnami/redis", "docker.io/bitnami/redis:latest"],
    ["bitnami/redis:7", "docker.io/bitnami/redis:7"],
    ["docker.io/library/nginx:latest", "docker.io/library/nginx:latest"],
    ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"],
    ["quay.io/org/app", "quay.io/org/app:latest"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/app:dev", "localhost:5000/app:dev"],
    ["nginx@sha256:abc123", "docker.io/library/nginx@sha256:abc123"],
    ["ghcr.io/org/app@sha256:abc", "ghcr.io/org/app@sha256:abc"],
  ];
  for (const [image, want] of cases) assert.equal(normalizeImage(image), want, String(image));
});

test("containerId is stable, distinct per pod and container, and shaped like a runtime id", () => {
  const ids = [
    containerId("uid-1", "app"),
    containerId("uid-1", "sidecar"),
    containerId("uid-2", "app"),
    containerId("uid-12", "pp"),
  ];
  assert.equal(containerId("uid-1", "app"), ids[0]);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^hollow:\/\/[0-9a-f]{64}$/);
});
