import { test } from "node:test";
import assert from "node:assert/strict";
import type { PodObject } from "../pod-object.ts";
import type { PodState } from "../pod-state.ts";
import { DEFAULT_SHAPE } from "../config.ts";
import { HollowNodeView, usagePod } from "./hollow-node-view.ts";

const T0 = "2026-01-01T00:00:00Z";
const T1 = "2026-01-01T00:00:02Z";
const ms = (t: string): number => Date.parse(t);

const pod = (spec: Partial<PodObject["spec"]>): PodObject => ({
  metadata: {
    name: "web",
    namespace: "ns",
    uid: "u1",
    annotations: { "kubemark-cluster.io/cpu-usage": "200m" },
  },
  spec: { containers: [], ...spec },
});

const state = (p: PodObject, over: Partial<PodState> = {}): PodState => ({
  uid: "u1",
  namespace: "ns",
  name: "web",
  pod: p,
  stage: "running",
  ip: "10.0.0.1",
  startedAt: T0,
  runningAt: T1,
  restarts: 0,
  exits: 0,
  seenAt: ms(T0),
  deleting: false,
  alive: true,
  refs: [],
  ...over,
});

const app = {
  name: "app",
  image: "nginx:1.27",
  resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } },
};

test("a running pod: its containers' requests and limits parsed, started when the containers started", () => {
  assert.deepEqual(usagePod(state(pod({ containers: [app, { name: "bare" }] }))), {
    namespace: "ns",
    name: "web",
    uid: "u1",
    annotations: { "kubemark-cluster.io/cpu-usage": "200m" },
    startedAtMs: ms(T0),
    containers: [
      {
        name: "app",
        cpuRequestMilli: 250,
        cpuLimitMilli: 1000,
        memoryRequestBytes: 64 * 2 ** 20,
        memoryLimitBytes: 2 ** 30,
        startedAtMs: ms(T1),
        image: "nginx:1.27",
      },
      {
        name: "bare",
        cpuRequestMilli: undefined,
        cpuLimitMilli: undefined,
        memoryRequestBytes: undefined,
        memoryLimitBytes: undefined,
        startedAtMs: ms(T1),
      },
    ],
  });
});

test("pods that use nothing: not started, or ended", () => {
  for (const stage of ["new", "creating", "succeeded", "failed", "terminated"] as const) {
    assert.equal(usagePod(state(pod({ containers: [app] }), { stage })), undefined, stage);
  }
});

test("while initializing: the sidecar from the pod's start and the init container that runs; in back-off no main container", () => {
  const p = pod({
    initContainers: [{ name: "proxy", restartPolicy: "Always" }, { name: "setup" }, { name: "migrate" }],
    containers: [app],
  });
  const init = usagePod(state(p, { stage: "initializing" }));
  assert.deepEqual(
    init?.containers.map((c) => [c.name, c.startedAtMs]),
    [
      ["proxy", ms(T0)],
      ["setup", ms(T0)],
    ],
  );
  const backoff = usagePod(state(p, { stage: "backoff" }));
  assert.deepEqual(
    backoff?.containers.map((c) => c.name),
    ["proxy"],
  );
});

test("containers that run on their own: an exited one uses nothing; a resize's allocation counts", () => {
  const p = pod({ containers: [app, { name: "job" }] });
  const st = state(p, {
    containers: [
      { runningAt: "2026-01-01T00:00:05Z", restarts: 1, exits: 0 },
      { runningAt: T1, restarts: 0, exits: 0, exitCode: 0, finishedAt: T1 },
    ],
    resize: { allocated: [{ requests: { cpu: "500m" } }, undefined], actual: [] },
  });
  const u = usagePod(st);
  assert.deepEqual(
    u?.containers.map((c) => [c.name, c.cpuRequestMilli, c.startedAtMs]),
    [["app", 500, ms("2026-01-01T00:00:05Z")]],
  );
});

test("the view: capacity from the shape, only pods that use something", () => {
  const running = state(pod({ containers: [app] }));
  const fresh = state(pod({ containers: [app] }), { uid: "u2", name: "new", stage: "new" });
  const view = new HollowNodeView(
    {
      id: { name: "n-0", shape: { ...DEFAULT_SHAPE, cpu: "4", memory: "16Gi" } },
      hostedPods: () => [running, fresh],
      podInfo: () => undefined,
      listPods: () => [],
    },
    123,
  );
  assert.equal(view.cpuCapacityMilli, 4000);
  assert.equal(view.memoryCapacityBytes, 16 * 2 ** 30);
  assert.equal(view.startedAtMs, 123);
  assert.deepEqual(
    view.usagePods().map((p) => p.name),
    ["web"],
  );
});
