/**
 * The pod phase: pods created at a steady rate on one system's nodes, timed from bound to Running
 * through a watch, their IPs counted, then a Job whose pod has an init container.
 */
import { quantile } from "../../src/kernel/quantile.ts";
import { LABEL } from "./launchers.ts";
import type { CompareContext, PodRow, SystemName } from "./types.ts";
import { log, sleep, waitFor } from "./waiting.ts";

/**
 * Creates `pods` pods at `rate` per second on the system's nodes and times bound -> Running; the
 * Job gets `jobTimeoutMs` to complete. Latency p50 and p99 are nearest-rank quantiles.
 */
export async function podPhase(
  ctx: CompareContext,
  system: SystemName,
  nodes: number,
  pods: number,
  rate: number,
  jobTimeoutMs: number,
): Promise<PodRow> {
  const ns = `bench-pods-${system}`;
  const client = ctx.client;
  await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns } } });
  await waitFor(`default ServiceAccount in ${ns}`, 30_000, async () => {
    return client.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`).then(
      () => true,
      () => false,
    );
  });
  const bound = new Map<string, number>();
  const running = new Map<string, number>();
  const ips = new Map<string, string>();
  const abort = new AbortController();
  // The API server may end a watch at any time (a slow reader, a timeout): resume it from the
  // last resourceVersion seen, so no transition is missed, until the phase is over.
  const watching = (async () => {
    let rv: string | undefined;
    while (!abort.signal.aborted) {
      try {
        for await (const ev of client.watch<{
          metadata: { name: string; resourceVersion?: string };
          spec?: { nodeName?: string };
          status?: { phase?: string; podIP?: string };
        }>(
          `/api/v1/namespaces/${ns}/pods`,
          { labelSelector: "app=bench", ...(rv ? { resourceVersion: rv } : {}) },
          abort.signal,
        )) {
          const p = ev.object;
          if (ev.type === "ERROR") {
            rv = undefined; // 410 Gone: start over (pods already seen keep their first times)
            break;
          }
          if (p.metadata.resourceVersion) rv = p.metadata.resourceVersion;
          if (ev.type === "BOOKMARK") continue;
          const now = performance.now();
          if (p.spec?.nodeName && !bound.has(p.metadata.name)) bound.set(p.metadata.name, now);
          if (p.status?.phase === "Running" && !running.has(p.metadata.name)) {
            running.set(p.metadata.name, now);
            if (p.status.podIP) ips.set(p.metadata.name, p.status.podIP);
          }
        }
        if (!abort.signal.aborted) log("  pod watch closed by the server; resuming");
      } catch (err) {
        if (!abort.signal.aborted) log(`  pod watch ended (${String(err)}); resuming`);
      }
      if (!abort.signal.aborted) await sleep(100);
    }
  })();
  await sleep(500);
  const t0 = performance.now();
  for (let i = 0; i < pods; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    void client
      .request({
        method: "POST",
        path: `/api/v1/namespaces/${ns}/pods`,
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `p-${i}`, labels: { app: "bench" } },
          spec: {
            nodeSelector: { [LABEL]: system },
            tolerations: [{ operator: "Exists" }],
            containers: [{ name: "c", image: "registry.k8s.io/pause:3.10", imagePullPolicy: "IfNotPresent" }],
          },
        },
      })
      .catch((err: unknown) => log(`  create p-${i}: ${String(err)}`));
  }
  const deadline = Date.now() + Math.max(120_000, (pods / rate) * 1000 * 3);
  while (running.size < pods && Date.now() < deadline) await sleep(500);
  const t1 = Math.max(...running.values(), t0);
  const latencies = [...running.entries()]
    .filter(([name]) => bound.has(name))
    .map(([name, at]) => (at - bound.get(name)!) / 1000);
  // A Job whose pod has an init container.
  await client.request({
    method: "POST",
    path: `/apis/batch/v1/namespaces/${ns}/jobs`,
    body: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "init-job" },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: "Never",
            nodeSelector: { [LABEL]: system },
            tolerations: [{ operator: "Exists" }],
            initContainers: [
              { name: "init", image: "registry.k8s.io/pause:3.10", imagePullPolicy: "IfNotPresent" },
            ],
            // A container that exits (pause never does, on a kubelet as on hollow nodes).
            containers: [
              {
                name: "main",
                image: "busybox:1.36",
                imagePullPolicy: "IfNotPresent",
                command: ["sh", "-c", "sleep 1"],
              },
            ],
          },
        },
      },
    },
  });
  const jobDone = await waitFor("the Job", jobTimeoutMs, async () => {
    const j = await client.get<{ status?: { succeeded?: number } }>(
      `/apis/batch/v1/namespaces/${ns}/jobs/init-job`,
    );
    return (j.status?.succeeded ?? 0) > 0;
  }).then(
    () => true,
    () => false,
  );
  abort.abort();
  await watching;
  await client
    .request({ method: "DELETE", path: `/api/v1/namespaces/${ns}`, query: { gracePeriodSeconds: 0 } })
    .catch(() => undefined);
  await waitFor(`namespace ${ns} gone`, 120_000, async () =>
    client.get(`/api/v1/namespaces/${ns}`).then(
      () => false,
      () => true,
    ),
  ).catch(() => log(`  namespace ${ns} still terminating; going on`));
  return {
    system,
    nodes,
    pods,
    running: running.size,
    latencyP50Seconds: quantile(latencies, 0.5) ?? null,
    latencyP99Seconds: quantile(latencies, 0.99) ?? null,
    throughputPerSecond: running.size > 0 ? running.size / ((t1 - t0) / 1000) : null,
    distinctPodIPs: new Set(ips.values()).size,
    jobWithInitCompleted: jobDone,
  };
}
