/**
 * Pods as a kubelet runs them, on a real control plane (Job and ReplicaSet controllers): a Job of
 * pause pods runs until deleted, a failing Job ends Failed after its backoffLimit, a crashing
 * container reaches CrashLoopBackOff with its restart count; a pod that ignores SIGTERM stays
 * Terminating for its grace period.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { adminClientFor, eventually } from "../harness.ts";
import {
  removeTestObjects,
  startFleetEngine,
  type EngineProcess,
  fleetNodesReady,
  defaultServiceAccount,
} from "../engine-process.ts";
import { isNotFound } from "../../src/client/api-error.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";

const FLEET = "it-lifecycle";
const NS = `it-lifecycle-${process.pid}`;

interface Pod {
  metadata: { name: string };
  status?: {
    phase?: string;
    containerStatuses?: {
      restartCount: number;
      state: { waiting?: { reason: string }; terminated?: { exitCode: number; reason: string } };
      lastState: { terminated?: { exitCode: number } };
    }[];
  };
}
interface ProbedPod {
  status?: {
    conditions?: { type: string; lastTransitionTime: string }[];
    containerStatuses?: { state: { running?: { startedAt: string } } }[];
  };
}
interface CrashStatus {
  restartCount: number;
  state: { running?: { startedAt: string } };
  lastState: { terminated?: { finishedAt: string } };
}
interface Job {
  status?: { succeeded?: number; failed?: number; conditions?: { type: string; status: string }[] };
}

describe("pod lifecycle on a real control plane", () => {
  let client: KubeClient;
  let engine: EngineProcess;

  const pods = async (selector: string): Promise<Pod[]> =>
    (await client.get<{ items: Pod[] }>(`/api/v1/namespaces/${NS}/pods`, { labelSelector: selector })).items;
  const job = (
    name: string,
    backoffLimit: number,
    container: Record<string, unknown>,
  ): Record<string, unknown> => ({
    metadata: { name },
    spec: {
      backoffLimit,
      template: {
        metadata: { labels: { job: name } },
        spec: {
          restartPolicy: "Never",
          nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
          containers: [{ name: "c", ...container }],
        },
      },
    },
  });

  /** A Service selecting `labels`. */
  const service = (name: string, labels: Record<string, string>): Promise<unknown> =>
    client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/services`,
      body: { metadata: { name }, spec: { selector: labels, ports: [{ port: 80 }] } },
    });
  /** The first endpoint of the Service's EndpointSlices, as the EndpointSlice controller lists it. */
  const firstEndpoint = async (svc: string): Promise<{ conditions?: { ready?: boolean } } | undefined> => {
    const slices = await client.get<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] }>(
      `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`,
      { labelSelector: `kubernetes.io/service-name=${svc}` },
    );
    return slices.items.flatMap((sl) => sl.endpoints ?? [])[0];
  };

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    engine = startFleetEngine({ nodes: 5, fleet: FLEET, namePrefix: "it-lifecycle" }, [
      "--job-run-seconds",
      "2s",
    ]);
    await fleetNodesReady(client, FLEET, 5);
    await defaultServiceAccount(client, NS);
  });

  after(async () => {
    await engine?.stop();
    await removeTestObjects(client, NS, FLEET);
  });

  test("a Job of pause pods runs until deleted (the default run time does not apply); a failing Job ends Failed after backoffLimit 2 with 3 pods", async () => {
    const post = (body: Record<string, unknown>) =>
      client.request({ method: "POST", path: `/apis/batch/v1/namespaces/${NS}/jobs`, body });
    await post(job("pause", 6, { image: "registry.k8s.io/pause:3.10" }));
    await post(job("failing", 2, { image: "busybox", command: ["sh", "-c", "sleep 1; exit 3"] }));
    await eventually("the failing Job to end Failed", 180_000, async () => {
      const j = await client.get<Job>(`/apis/batch/v1/namespaces/${NS}/jobs/failing`);
      const failed = j.status?.conditions?.some((c) => c.type === "Failed" && c.status === "True") ?? false;
      return { done: failed, status: `failed pods ${j.status?.failed ?? 0}` };
    });
    const failedPods = await pods("job=failing");
    assert.equal(failedPods.length, 3, "backoffLimit 2: three pods ran");
    for (const p of failedPods) {
      assert.equal(p.status?.phase, "Failed");
      assert.deepEqual(
        [
          p.status?.containerStatuses?.[0]?.state.terminated?.exitCode,
          p.status?.containerStatuses?.[0]?.state.terminated?.reason,
        ],
        [3, "Error"],
      );
    }
    // By now (well past the 2 s default run time) the pause Job's pod still runs.
    const pausePods = await pods("job=pause");
    assert.equal(pausePods.length, 1);
    assert.equal(pausePods[0]!.status?.phase, "Running");
    const pauseJob = await client.get<Job>(`/apis/batch/v1/namespaces/${NS}/jobs/pause`);
    assert.equal(pauseJob.status?.succeeded ?? 0, 0);
  });

  test("a readinessProbe with initialDelaySeconds 5: Ready no sooner than 5 s after the start, the EndpointSlice follows", async () => {
    const labels = { app: "probed" };
    await service("probed", labels);
    await client.request({
      method: "POST",
      path: `/apis/apps/v1/namespaces/${NS}/deployments`,
      body: {
        metadata: { name: "probed" },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
              containers: [
                {
                  name: "web",
                  image: "nginx:1.27",
                  readinessProbe: {
                    httpGet: { path: "/", port: 80 },
                    initialDelaySeconds: 5,
                    periodSeconds: 1,
                  },
                },
              ],
            },
          },
        },
      },
    });
    const endpointStates = new Set<string>();
    await eventually("the probed pod Ready and its endpoint ready", 60_000, async () => {
      const ep = await firstEndpoint("probed");
      if (ep) endpointStates.add(ep.conditions?.ready ? "ready" : "not ready");
      return {
        done: ep?.conditions?.ready === true,
        status: ep ? `endpoint ready=${ep.conditions?.ready}` : "no endpoint",
      };
    });
    assert.ok(endpointStates.has("not ready"), "the endpoint was listed not ready while the probe waited");
    const [p] = await client
      .get<{ items: ProbedPod[] }>(`/api/v1/namespaces/${NS}/pods`, { labelSelector: "app=probed" })
      .then((l) => l.items);
    const started = Date.parse(p!.status!.containerStatuses![0]!.state.running!.startedAt);
    const readyAt = Date.parse(p!.status!.conditions!.find((c) => c.type === "Ready")!.lastTransitionTime);
    process.stderr.write(`readiness: Ready ${(readyAt - started) / 1000} s after the container started\n`);
    assert.ok(readyAt - started >= 5_000, `Ready ${readyAt - started} ms after the start`);
  });

  test("an init container failing twice then passing completes, and the pod runs; a Job with a sidecar completes", async () => {
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/pods`,
      body: {
        metadata: { name: "flaky-init", annotations: { "kubemark-cluster.io/init-failures": "2" } },
        spec: {
          nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
          initContainers: [{ name: "setup", image: "busybox" }],
          containers: [{ name: "app", image: "nginx:1.27" }],
        },
      },
    });
    await client.request({
      method: "POST",
      path: `/apis/batch/v1/namespaces/${NS}/jobs`,
      body: {
        metadata: { name: "with-sidecar" },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: "Never",
              nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
              initContainers: [{ name: "proxy", image: "envoyproxy/envoy:v1.31", restartPolicy: "Always" }],
              containers: [{ name: "work", image: "busybox", command: ["sh", "-c", "sleep 2"] }],
            },
          },
        },
      },
    });
    type InitPod = {
      status?: {
        phase?: string;
        initContainerStatuses?: { restartCount: number; state: { terminated?: { reason: string } } }[];
      };
    };
    await eventually("the flaky-init pod Running after two init failures", 60_000, async () => {
      const p = await client.get<InitPod>(`/api/v1/namespaces/${NS}/pods/flaky-init`);
      const init = p.status?.initContainerStatuses?.[0];
      return {
        done: p.status?.phase === "Running" && init?.state.terminated?.reason === "Completed",
        status: `${p.status?.phase}, init restarts ${init?.restartCount ?? 0}`,
      };
    });
    await eventually("the Job with a sidecar to complete", 60_000, async () => {
      const j = await client.get<Job>(`/apis/batch/v1/namespaces/${NS}/jobs/with-sidecar`);
      const complete =
        j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") ?? false;
      return { done: complete, status: `succeeded ${j.status?.succeeded ?? 0}` };
    });
  });

  test("a Deployment whose container exits reaches CrashLoopBackOff, its restart count rising", async () => {
    await client.request({
      method: "POST",
      path: `/apis/apps/v1/namespaces/${NS}/deployments`,
      body: {
        metadata: { name: "crash" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "crash" } },
          template: {
            metadata: { labels: { app: "crash" } },
            spec: {
              nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
              containers: [{ name: "app", image: "busybox", command: ["sh", "-c", "sleep 1; exit 1"] }],
            },
          },
        },
      },
    });
    await eventually("the pod in CrashLoopBackOff after restarts", 90_000, async () => {
      const [p] = await pods("app=crash");
      const c = p?.status?.containerStatuses?.[0];
      return {
        done: c?.state.waiting?.reason === "CrashLoopBackOff" && c.restartCount >= 1,
        status: `${p?.status?.phase ?? "none"}, ${c?.state.waiting?.reason ?? "running"}, restarts ${c?.restartCount ?? 0}`,
      };
    });
    const [p] = await pods("app=crash");
    const c = p!.status!.containerStatuses![0]!;
    assert.equal(p!.status!.phase, "Running", "a restarting pod stays Running");
    assert.equal(c.lastState.terminated?.exitCode, 1);
    // The back-off between an exit (lastState.finishedAt) and the next start: the kubelet's 10 s,
    // then 20 s (within 10 %, plus the API's whole-second timestamps).
    const gaps: number[] = [];
    let seenRestarts = c.restartCount;
    await eventually("two back-off restarts", 90_000, async () => {
      const [q] = await pods("app=crash");
      const cs = q?.status?.containerStatuses?.[0] as CrashStatus | undefined;
      if (cs && cs.restartCount > seenRestarts && cs.state.running && cs.lastState.terminated) {
        seenRestarts = cs.restartCount;
        gaps.push(Date.parse(cs.state.running.startedAt) - Date.parse(cs.lastState.terminated.finishedAt));
      }
      return {
        done: gaps.length >= 2,
        status: `restarts ${cs?.restartCount ?? 0}, gaps ${gaps.join(", ")} ms`,
      };
    });
    process.stderr.write(`back-off gaps: ${gaps.map((g) => g / 1000).join(" s, ")} s\n`);
    const want = gaps[0]! < 15_000 ? [10_000, 20_000] : [20_000, 40_000];
    for (const [i, g] of gaps.slice(0, 2).entries())
      assert.ok(
        Math.abs(g - want[i]!) <= want[i]! * 0.1 + 1_000,
        `back-off ${g} ms, the kubelet's ${want[i]} ms`,
      );
  });

  test("graceful termination: a pod that ignores SIGTERM stays Terminating for its 30 s grace period; one that handles it is gone in seconds", async () => {
    const create = (name: string, container: Record<string, unknown>) =>
      client.request({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/pods`,
        body: {
          metadata: { name },
          spec: {
            terminationGracePeriodSeconds: 30,
            nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
            containers: [{ name: "c", ...container }],
          },
        },
      });
    // A shell as PID 1 has no SIGTERM handler: the kubelet kills it when the grace period ends.
    await create("ignores-term", { image: "busybox", command: ["sh", "-c", "sleep 3600"] });
    await create("handles-term", { image: "nginx:1.27" });
    for (const name of ["ignores-term", "handles-term"])
      await eventually(`${name} Running`, 60_000, async () => {
        const p = await client.get<Pod>(`/api/v1/namespaces/${NS}/pods/${name}`);
        return { done: p.status?.phase === "Running", status: p.status?.phase ?? "no status" };
      });
    const t0 = Date.now();
    for (const name of ["ignores-term", "handles-term"])
      await client.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}/pods/${name}` });
    const goneAfter = new Map<string, number>();
    await eventually("both pods gone", 60_000, async () => {
      for (const name of ["ignores-term", "handles-term"]) {
        if (goneAfter.has(name)) continue;
        const gone = await client.get(`/api/v1/namespaces/${NS}/pods/${name}`).then(
          () => false,
          (err: unknown) => {
            if (isNotFound(err)) return true;
            throw err;
          },
        );
        if (gone) goneAfter.set(name, Date.now() - t0);
      }
      return { done: goneAfter.size === 2, status: JSON.stringify(Object.fromEntries(goneAfter)) };
    });
    const ignored = goneAfter.get("ignores-term")!;
    const handled = goneAfter.get("handles-term")!;
    process.stderr.write(
      `graceful termination: SIGTERM ignored ${ignored / 1000} s, handled ${handled / 1000} s\n`,
    );
    assert.ok(
      ignored >= 27_000 && ignored <= 40_000,
      `ignoring SIGTERM: gone after ${ignored} ms (grace 30 s)`,
    );
    assert.ok(handled <= 5_000, `handling SIGTERM: gone after ${handled} ms`);
  });

  test("start-up as a kubelet reports it: Pending, the sandbox ready, Running after the sandbox latency; deletion's generation observed before the kill", async () => {
    interface Seen {
      metadata: { generation?: number; deletionTimestamp?: string };
      status?: {
        phase?: string;
        observedGeneration?: number;
        podIP?: string;
        conditions?: { type: string; status: string; observedGeneration?: number }[];
      };
    }
    const name = "slow-sandbox";
    const seen: Seen[] = [];
    const watch = client.watchStream(
      `/api/v1/namespaces/${NS}/pods`,
      { fieldSelector: `metadata.name=${name}` },
      {
        onEvent: (ev) => {
          if (ev.type === "ADDED" || ev.type === "MODIFIED") seen.push(ev.object as Seen);
        },
        onEnd: () => undefined,
      },
    );
    try {
      const t0 = Date.now();
      await client.request({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/pods`,
        body: {
          metadata: { name, annotations: { "kubemark-cluster.io/sandbox-latency": "2s" } },
          spec: {
            // A shell as PID 1 ignores SIGTERM: the pod stays Terminating long enough to be seen.
            terminationGracePeriodSeconds: 5,
            nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
            containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "sleep 3600"] }],
          },
        },
      });
      await eventually(`${name} Running`, 60_000, () =>
        Promise.resolve({
          done: seen.some((p) => p.status?.phase === "Running"),
          status: `${seen.length} events`,
        }),
      );
      const running = Date.now() - t0;
      const sandboxReady = (p: Seen): string | undefined =>
        p.status?.conditions?.find((c) => c.type === "PodReadyToStartContainers")?.status;
      // The statuses the node wrote (the API server's first Pending has no conditions of a kubelet).
      const steps = seen
        .filter((p) => sandboxReady(p) !== undefined)
        .map((p) => `${p.status!.phase} ${sandboxReady(p) ?? "-"}`)
        .filter((x, i, all) => all[i - 1] !== x);
      process.stderr.write(`start-up: ${steps.join(" -> ")}, Running seen after ${running} ms\n`);
      assert.deepEqual(steps.slice(0, 3), ["Pending False", "Pending True", "Running True"]);
      assert.ok(running >= 2_000, `Running after ${running} ms, before the annotated 2 s sandbox latency`);
      assert.equal(
        seen.find((p) => sandboxReady(p) === "True")?.status?.podIP,
        undefined,
        "no pod IP before Running",
      );

      const before = seen.length;
      await client.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}/pods/${name}` });
      await eventually(`${name} terminated`, 60_000, () =>
        Promise.resolve({
          done: seen
            .slice(before)
            .some((p) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed"),
          status: `${seen.length - before} events`,
        }),
      );
      const deleting = seen.slice(before).filter((p) => p.metadata.deletionTimestamp);
      const generation = deleting[0]?.metadata.generation;
      assert.ok(
        generation !== undefined && generation > 1,
        `the graceful deletion bumps the generation (${generation})`,
      );
      // SyncTerminatingPod's first status: still Running, observing the new generation.
      const observed = deleting.find(
        (p) => p.status?.phase === "Running" && p.status.observedGeneration === generation,
      );
      assert.ok(observed, "a Running status observing the deletion's generation before the terminal one");
      assert.ok(observed.status!.conditions!.every((c) => c.observedGeneration === generation));
    } finally {
      watch.cancel();
    }
  });

  test("a flapping readiness probe moves the pod in and out of its Service's endpoints", async () => {
    const labels = { app: "flappy" };
    await service("flappy", labels);
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/pods`,
      body: {
        metadata: {
          name: "flappy",
          labels,
          annotations: { "kubemark-cluster.io/probe-flap-period": "4" },
        },
        spec: {
          nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
          containers: [
            {
              name: "web",
              image: "nginx:1.27",
              readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    const flips: boolean[] = [];
    await eventually("the endpoint to turn ready and not ready twice", 60_000, async () => {
      const ep = await firstEndpoint("flappy");
      const ready = ep?.conditions?.ready;
      if (ready !== undefined && flips.at(-1) !== ready) flips.push(ready);
      return { done: flips.length >= 4, status: `endpoint readiness seen: ${flips.join(" -> ")}` };
    });
    assert.deepEqual(flips.slice(-4).sort(), [false, false, true, true]);
  });
});
