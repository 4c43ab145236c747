/*
 * The engine's view of a pod is the same whether the pod came in protobuf, decoded with the Pod
 * read schema (src/client/protobuf-pod.ts), or in JSON: for the real API server's pods captured
 * in both (src/client/testdata/captured-pods.ts), everything the engine takes from a pod event
 * and from the status manager's read of the pod is equal.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeAs, type Schema } from "../client/protobuf-schema.ts";
import { POD } from "../client/protobuf-pod.ts";
import { CAPTURED_PODS, capturedPod } from "../client/testdata/captured-pods.ts";
import { projectOn } from "../client/testdata/protobuf-project.ts";
import { referencedObjects, resourcesKey, slimPod, tokenRequests, type PodObject } from "./pod-object.ts";
import { podClaims } from "./csi/volume-decisions.ts";
import { adoptedStage } from "./pod-stage.ts";
import { sandboxLatencyMs } from "./container-run.ts";
import { statusUnchanged } from "./status-manager.ts";
import { bind, makePod, podPath, registered, withNodeCidr } from "./testdata/hollow-node-harness.ts";
import { renderPodStatus, type PodRun } from "./pod-status.ts";
import type { PodStage } from "./pod-stage.ts";
import { pod, RUN, FINISHED } from "./testdata/pod-fixtures.ts";

/** What the engine takes from a pod as it arrives (pod-lifecycle.ts onPod and adopt, the Watcher). */
function engineView(p: PodObject) {
  return {
    uid: p.metadata.uid,
    nodeName: p.spec.nodeName,
    deletionTimestamp: p.metadata.deletionTimestamp,
    resourceVersion: p.metadata.resourceVersion,
    stage: adoptedStage(p.status?.phase, p.status?.podIP),
    podIP: p.status?.podIP,
    startTime: p.status?.startTime,
    hostNetwork: p.spec.hostNetwork,
    refs: referencedObjects(p),
    claims: podClaims(p),
    sandboxMs: sandboxLatencyMs(p, { minMs: 0, maxMs: 1000 }, () => 0.5),
    // What it keeps of the pod, which everything after reads (pod-object.ts).
    slim: slimPod(p),
    tokens: tokenRequests(p),
    resources: resourcesKey(slimPod(p)),
  };
}

test("the captured pods include the rich one and the engine's status tests' real ones", () => {
  for (const want of ["pod-running", "pod-deleted", "pod-kubelet-burstable-real", "pod-kubemark-running"])
    assert.ok(CAPTURED_PODS.includes(want), `${want} captured`);
});

for (const name of CAPTURED_PODS) {
  test(`${name}: what the engine takes from the pod is the same from protobuf as from JSON`, () => {
    const { pb, json } = capturedPod(name);
    const view = engineView(decodeAs<PodObject>(POD, pb));
    assert.deepEqual(view, engineView(json as unknown as PodObject));
    // The slim pod is no empty shell: it has the containers and their models.
    assert.ok(view.slim.spec.containers.length > 0);
  });

  test(`${name}: the status manager's comparison with the server's status is the same from protobuf`, () => {
    const { pb, json } = capturedPod(name);
    const decoded = decodeAs<{ status?: Record<string, unknown> }>(POD, pb).status;
    const server = (json["status"] ?? {}) as Record<string, unknown>;
    // The server's status in the fields the engine writes (the read schema's): unchanged either way.
    const desired = projectOn(server, POD.read["status"]!.t as Schema);
    assert.equal(statusUnchanged(decoded, desired), true);
    assert.equal(statusUnchanged(server, desired), true);
    // Any one of its values otherwise: changed, either way.
    let n = 0;
    for (const v of oneChanged(desired)) {
      assert.equal(statusUnchanged(decoded, v.status), false, v.path);
      assert.equal(statusUnchanged(server, v.status), false, v.path);
      n++;
    }
    assert.ok(n > 10, `${n} variants`);
  });
}

type Variant = { path: string; status: Record<string, unknown> };

/** `status` with one value changed, for each value in it (list items keep their merge key). */
function* oneChanged(status: Record<string, unknown>): Generator<Variant> {
  const keys = new Set(["type", "name", "ip"]);
  function* walk(v: unknown, path: string, set: (x: unknown) => Record<string, unknown>): Generator<Variant> {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++)
        yield* walk(v[i], `${path}[${i}]`, (x) => set(v.map((y: unknown, j) => (j === i ? x : y))));
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (!keys.has(k)) yield* walk(x, `${path}.${k}`, (y) => set({ ...v, [k]: y }));
      }
    } else {
      const changed = typeof v === "string" ? `${v}~` : typeof v === "number" ? v + 1 : v === null ? "x" : !v;
      yield { path, status: set(changed) };
    }
  }
  yield* walk(status, "status", (x) => x as Record<string, unknown>);
}

test("a kubelet's pod reads and status PATCHes ask for protobuf Pods, none with --kube-api-content-type json", async () => {
  for (const leaseContentType of ["protobuf", "json"] as const) {
    const h = await registered({ traffic: "kubelet", leaseContentType });
    h.node.observeNode(withNodeCidr("10.128.3.0/24"));
    bind(h, makePod("web-0"));
    await h.clock.advance(1_000);
    const sent = h.api.requests
      .filter((r) => r.path.startsWith(podPath("web-0")))
      .map((r) => `${r.method} ${r.path} ${r.wire.body} ${r.wire.proto ?? "json"}`);
    const as = leaseContentType === "protobuf" ? "Pod" : "json";
    assert.deepEqual(sent, [
      `GET ${podPath("web-0")} none ${as}`,
      `PATCH ${podPath("web-0")}/status json ${as}`,
      `GET ${podPath("web-0")} none ${as}`,
      `PATCH ${podPath("web-0")}/status json ${as}`,
    ]);
  }
});

test("every status field the engine writes is in the Pod read schema (the status manager compares them)", () => {
  const p = pod(
    {
      initContainers: [
        { name: "setup", image: "busybox" },
        { name: "proxy", image: "envoy", restartPolicy: "Always" },
      ],
      containers: [
        {
          name: "app",
          image: "nginx",
          resources: { requests: { cpu: "100m" }, limits: { memory: "64Mi" } },
          volumeMounts: [{ name: "data", mountPath: "/data", readOnly: true }],
        },
      ],
    },
    { generation: 2 },
  );
  const last = { exitCode: 1, startedAt: RUN.startedAt, finishedAt: RUN.runningAt };
  const runs: PodRun[] = [
    RUN,
    FINISHED,
    {
      ...RUN,
      restarts: 2,
      lastRun: last,
      backoffMs: 20_000,
      initIndex: 0,
      initRestarts: 1,
      initLastRun: last,
    },
  ];
  const missing = new Set<string>();
  const walk = (v: unknown, schema: Schema, at: string): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, schema, at);
      return;
    }
    if (v === null || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v)) {
      const f = schema[k];
      if (!f) missing.add(`${at}.${k}`);
      else if (typeof f.t !== "string") walk(x, f.t, `${at}.${k}`);
    }
  };
  const stages: PodStage[] = [
    "creating",
    "sandbox",
    "initializing",
    "running",
    "backoff",
    "succeeded",
    "failed",
    "terminated",
  ];
  for (const stage of stages)
    for (const run of runs)
      walk(renderPodStatus(slimPod(p), stage, run), POD.read["status"]!.t as Schema, "status");
  assert.deepEqual([...missing], []);
});
