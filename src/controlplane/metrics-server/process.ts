/**
 * metrics-server as a process of a local cluster: its certificates and kubeconfig, its start and
 * stop, the objects it needs applied, and the wait until the aggregator reports its APIService
 * Available.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeClient } from "../../client/kube-client.ts";
import { NO_RETRY } from "../../client/retry.ts";
import type { Clock } from "../../kernel/clock.ts";
import { KubemarkError, describeError } from "../../kernel/errors.ts";
import { waitUntil } from "../../kernel/wait.ts";
import { isDaemonAlive, startDaemon, stopDaemon, type DaemonRecord } from "../../host/daemon.ts";
import { issueCert } from "../../host/pki.ts";
import { lastLines } from "../../host/run-command.ts";
import type { ClusterLayout, ClusterRecord } from "../cluster-state.ts";
import { renderKubeconfig, writeKubeconfig } from "../kubeconfig-file.ts";
import { METRICS_SERVER_USER, metricsServerArgs, metricsServerFiles } from "./args.ts";
import {
  METRICS_APISERVICE,
  METRICS_SERVER_SERVICE,
  apiServiceAvailability,
  apiServicePath,
  metricsServerObjects,
} from "./objects.ts";

/** metrics-server's state as `up` and `status` report it. */
export interface MetricsServerInfo {
  readonly pid: number | null;
  readonly port: number | null;
  readonly running: boolean;
  /** The aggregator reports v1beta1.metrics.k8s.io Available. */
  readonly available: boolean;
  readonly detail: string;
  readonly log: string;
}

async function exists(...files: string[]): Promise<boolean> {
  try {
    for (const f of files) await access(f);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes what metrics-server is missing: a serving certificate of the cluster CA for the name the
 * aggregator verifies (`metrics-server.kube-system.svc`) and 127.0.0.1, its client certificate
 * (user {@link METRICS_SERVER_USER}) and its kubeconfig.
 */
export async function ensureMetricsServerCredentials(
  layout: ClusterLayout,
  rec: ClusterRecord,
): Promise<void> {
  const f = metricsServerFiles(layout);
  const ca = { certFile: join(layout.pki, "ca.crt"), keyFile: join(layout.pki, "ca.key") };
  const { name, namespace } = METRICS_SERVER_SERVICE;
  if (!(await exists(f.servingCert, f.servingKey))) {
    await issueCert(layout.pki, ca, {
      name: "metrics-server-serving",
      commonName: "metrics-server",
      usage: "server",
      altNames: [`DNS:${name}.${namespace}.svc`, "DNS:localhost", "IP:127.0.0.1"],
    });
  }
  if (!(await exists(f.clientCert, f.clientKey))) {
    await issueCert(layout.pki, ca, {
      name: "metrics-server",
      commonName: METRICS_SERVER_USER,
      usage: "client",
    });
  }
  const text = await renderKubeconfig({
    clusterName: `kubemark-${rec.name}`,
    userName: METRICS_SERVER_USER,
    server: `https://127.0.0.1:${rec.ports.apiserver}`,
    caFile: ca.certFile,
    certFile: f.clientCert,
    keyFile: f.clientKey,
  });
  await writeKubeconfig(f.kubeconfig, text);
}

/** Starts metrics-server with the cluster's flags; output goes to its log file. */
export function startMetricsServer(
  layout: ClusterLayout,
  rec: ClusterRecord,
  binary: string,
  env: NodeJS.ProcessEnv,
): Promise<DaemonRecord> {
  return startDaemon({
    file: binary,
    args: metricsServerArgs(rec, layout),
    logFile: metricsServerFiles(layout).log,
    env,
  });
}

/** Stops a cluster's metrics-server, if it runs; true when it did. */
export async function stopMetricsServer(rec: ClusterRecord, clock: Clock): Promise<boolean> {
  const d = rec.metricsServer?.process;
  return d ? stopDaemon(d, clock) : false;
}

/** Applies metrics-server's RBAC, Service and APIService (server-side apply, idempotent). */
export async function applyMetricsServerObjects(
  admin: KubeClient,
  layout: ClusterLayout,
  port: number,
): Promise<void> {
  const caBundle = await readFile(join(layout.pki, "ca.crt"), "utf8");
  for (const o of metricsServerObjects(port, caBundle)) {
    await admin.request({
      method: "PATCH",
      path: o.path,
      query: { fieldManager: "kubemark-cluster", force: true },
      patchType: "apply",
      body: o.body,
    });
  }
}

/** Reads whether the aggregator reports the metrics APIService Available. */
export async function metricsAvailability(
  admin: KubeClient,
): Promise<{ available: boolean; detail: string }> {
  try {
    // One try: a poll, or a status of a cluster whose API server may be down.
    const obj = await admin.request({
      method: "GET",
      path: apiServicePath(),
      retry: NO_RETRY,
      timeoutMs: 5_000,
    });
    return apiServiceAvailability(obj);
  } catch (err) {
    return { available: false, detail: describeError(err) };
  }
}

/**
 * Waits until the aggregator reports {@link METRICS_APISERVICE} Available; gives up at once when
 * metrics-server exits. The error names the condition's last reason and metrics-server's last log
 * lines.
 */
export async function waitMetricsAvailable(opts: {
  readonly admin: KubeClient;
  readonly layout: ClusterLayout;
  readonly process: DaemonRecord;
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly onPoll?: (status: string) => void;
}): Promise<void> {
  await waitUntil(
    async () => {
      const a = await metricsAvailability(opts.admin);
      return { done: a.available, status: a.detail };
    },
    {
      what: `the API server to report APIService ${METRICS_APISERVICE} Available`,
      timeoutMs: opts.timeoutMs,
      intervalMs: 500,
      clock: opts.clock,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onPoll: (r) => opts.onPoll?.(r.status),
      failFast: () => (isDaemonAlive(opts.process) ? undefined : "metrics-server exited"),
    },
  ).catch(async (err: unknown) => {
    if (opts.signal?.aborted) throw err;
    const log = metricsServerFiles(opts.layout).log;
    const tail = await readFile(log, "utf8").then(
      (t) => lastLines(t, 15),
      () => "(no log)",
    );
    throw new KubemarkError("START_FAILED", `${describeError(err)}\nlast lines of ${log}:\n${tail}`, {
      cause: err,
    });
  });
}

/** metrics-server's state in a recorded cluster (`admin` absent: availability is not asked). */
export async function metricsServerStatus(
  layout: ClusterLayout,
  rec: ClusterRecord,
  admin: KubeClient | undefined,
): Promise<MetricsServerInfo | undefined> {
  if (!rec.metricsServer) return undefined;
  const d = rec.metricsServer.process;
  const running = d !== undefined && isDaemonAlive(d);
  const a = running && admin ? await metricsAvailability(admin) : undefined;
  return {
    pid: running ? d.pid : null,
    port: rec.ports.metricsServer ?? null,
    running,
    available: a?.available ?? false,
    detail: running ? (a?.detail ?? "running") : "not running",
    log: metricsServerFiles(layout).log,
  };
}
