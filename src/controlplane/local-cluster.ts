import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Agent, request } from "undici";
import type { Clock } from "../kernel/clock.ts";
import { KubeClient } from "../client/kube-client.ts";
import { certificateAccess } from "../client/kubeconfig.ts";
import { KubemarkError, describeError } from "../kernel/errors.ts";
import { isDaemonAlive, startDaemon, stopDaemon, type DaemonRecord } from "../host/daemon.ts";
import { isPortFree, pickFreePorts } from "../host/ports.ts";
import { lastLines } from "../host/run-command.ts";
import type { Paths } from "../kernel/paths.ts";
import { waitUntil, type PollResult } from "../kernel/wait.ts";
import {
  CONTROL_PLANE_BINARIES,
  resolveBinaries,
  type BinarySource,
  type ResolvedBinary,
} from "./binaries.ts";
import {
  COMPONENTS,
  DEFAULT_CLUSTER_NAME,
  clusterLayout,
  ensureWritableDir,
  listClusterNames,
  readRecord,
  validateClusterName,
  writeRecord,
  type ClusterLayout,
  type ClusterPorts,
  type ClusterRecord,
  type Component,
} from "./cluster-state.ts";
import { AUDIT_POLICY, componentArgs } from "./component-args.ts";
import type { BinaryName, BuildEvent } from "./go-build.ts";
import { parseKubeVersion, DEFAULT_KUBE_VERSION, type KubeVersion } from "./kube-version.ts";
import {
  readWorkers,
  startWorkers,
  stopWorkers,
  workerInfos,
  type WorkerImages,
  type WorkerInfo,
} from "../workers/workers.ts";
import { PACKAGE_VERSION } from "../kernel/version.ts";
import { removeLocalFleetsOf } from "../fleet/local-runner.ts";
import { renderKubeconfig, writeKubeconfig } from "./kubeconfig-file.ts";
import { createCertAuthority, createServiceAccountKeys, issueCert } from "../host/pki.ts";
import { ensureEtcdTls, etcdClientAgent } from "./etcd-tls.ts";
import { restartPlan, type ComponentAction } from "./restart-plan.ts";

/** Progress of `up`, for the CLI to draw. */
export type UpEvent =
  | { readonly kind: "build"; readonly build: BuildEvent }
  | { readonly kind: "step"; readonly message: string }
  | { readonly kind: "wait"; readonly component: Component | "controllers"; readonly status: string };

/** What the control-plane operations need from their caller. */
export interface ControlPlaneDeps {
  readonly paths: Paths;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  readonly onEvent?: (e: UpEvent) => void;
  /** Aborting it stops `up` at the next step and undoes what it started. */
  readonly signal?: AbortSignal;
}

/** Options of {@link upCluster}. Defaults are documented per field. */
export interface UpOptions {
  /** Cluster name (default `kubemark`). */
  readonly name?: string | undefined;
  /** Kubernetes release (default v1.36.3). */
  readonly kubeVersion?: string | undefined;
  /** API server port; default 6443 when free, else any free port. */
  readonly port?: number | undefined;
  /** Directory with prebuilt binaries (flag `--bin-dir`, else `KUBEMARK_BIN_DIR`). */
  readonly binDir?: string | undefined;
  /** Write an audit log of every request (Metadata level) to logs/audit.log. */
  readonly audit?: boolean;
  /** Lift the API server's in-flight limits and priority-and-fairness for load tests. */
  readonly loadTest?: boolean;
  /** Deadline for the whole start, building excluded (default 120 s). */
  readonly timeoutMs?: number;
  /** Real worker nodes (kubelet + containerd) to run beside the control plane; default: as recorded, else 0. */
  readonly workers?: number | undefined;
}

/** A component's state as `status` reports it. */
export interface ComponentStatus {
  readonly component: Component;
  readonly pid: number | null;
  readonly port: number;
  readonly running: boolean;
  readonly healthy: boolean;
  readonly detail: string;
}

/** What `up` and `status` return. */
export interface ClusterInfo {
  readonly name: string;
  readonly version: string;
  readonly server: string;
  readonly kubeconfig: string;
  readonly stateDir: string;
  readonly alreadyRunning: boolean;
  readonly healthy: boolean;
  readonly components: readonly ComponentStatus[];
  readonly binaries?: Readonly<Record<string, BinarySource>>;
  readonly auditLog?: string | undefined;
  readonly readySeconds?: number;
  /** Real worker nodes, when the cluster has any. */
  readonly workers?: readonly WorkerInfo[];
  /** Images loaded into the workers (when `up` started them). */
  readonly workerImages?: WorkerImages;
  readonly workersReadySeconds?: number;
  /**
   * What `up` restarted in a cluster that was not wholly healthy, and why; the other components
   * kept running. Absent for a new cluster and one that was already running.
   */
  readonly restarted?: readonly RestartedComponent[];
}

/** A component `up` restarted, and why. */
export interface RestartedComponent {
  readonly component: Component;
  readonly reason: string;
}

/** The admin client of a local cluster (client-certificate access, no kubeconfig parsing). */
export async function adminClient(layout: ClusterLayout, rec: ClusterRecord): Promise<KubeClient> {
  const f = (n: string): Promise<Buffer> => readFile(join(layout.pki, n));
  return new KubeClient(
    certificateAccess({
      server: `https://127.0.0.1:${rec.ports.apiserver}`,
      ca: await f("ca.crt"),
      cert: await f("admin.crt"),
      key: await f("admin.key"),
      source: `local cluster ${rec.name}`,
    }),
    { userAgent: "kubemark-cluster", connections: 1 },
  );
}

const insecureAgent = new Agent({ connect: { rejectUnauthorized: false }, connections: 4 });

/** Clients of the health probes: the admin's for the API server, the API server's own for etcd. */
interface ProbeClients {
  readonly admin: KubeClient | undefined;
  /** etcd answers only clients with a certificate of its CA (undefined: the files are missing). */
  readonly etcd: Agent | undefined;
  close(): Promise<void>;
}

/** Opens the probes' clients; `required`: fail when their certificates cannot be read. */
async function openProbeClients(
  layout: ClusterLayout,
  rec: ClusterRecord,
  opts: { required?: boolean } = {},
): Promise<ProbeClients> {
  const optional = <T>(p: Promise<T>): Promise<T | undefined> =>
    opts.required ? p : p.catch(() => undefined);
  const admin = await optional(adminClient(layout, rec));
  const etcd = await optional(etcdClientAgent(layout.pki)).catch(async (err: unknown) => {
    await admin?.close();
    throw err;
  });
  return {
    admin,
    etcd,
    close: async () => {
      await admin?.close();
      await etcd?.close();
    },
  };
}

/** Probes a component's health endpoint. */
async function probe(component: Component, rec: ClusterRecord, clients: ProbeClients): Promise<string> {
  const p = rec.ports;
  const timeouts = { headersTimeout: 3_000, bodyTimeout: 3_000 };
  if (component === "kube-apiserver") {
    if (!clients.admin) return "no client";
    return (await clients.admin.getText("/readyz")).trim();
  }
  if (component === "etcd") {
    if (!clients.etcd) return "no etcd client certificate";
    const res = await request(`https://127.0.0.1:${p.etcdClient}/health`, {
      dispatcher: clients.etcd,
      ...timeouts,
    });
    const text = (await res.body.text()).trim();
    return /"health":\s*"true"/.test(text) ? "ok" : text;
  }
  const url = `https://127.0.0.1:${component === "kube-scheduler" ? p.scheduler : p.controllerManager}/healthz`;
  const res = await request(url, { dispatcher: insecureAgent, ...timeouts });
  const text = (await res.body.text()).trim();
  return res.statusCode === 200 ? text : `${res.statusCode} ${text}`;
}

function portOf(component: Component, p: ClusterPorts): number {
  switch (component) {
    case "etcd":
      return p.etcdClient;
    case "kube-apiserver":
      return p.apiserver;
    case "kube-controller-manager":
      return p.controllerManager;
    case "kube-scheduler":
      return p.scheduler;
  }
}

/** Ports every other local cluster has claimed, so a new one never collides with them. */
async function portsClaimedByOthers(stateDir: string, name: string): Promise<Set<number>> {
  const out = new Set<number>();
  for (const other of await listClusterNames(stateDir)) {
    if (other === name) continue;
    const rec = await readRecord(clusterLayout(stateDir, other)).catch(() => undefined);
    if (rec) for (const v of Object.values(rec.ports) as number[]) out.add(v);
  }
  return out;
}

async function readLogTail(file: string, n = 15): Promise<string> {
  try {
    return lastLines(await readFile(file, "utf8"), n);
  } catch {
    return "(no log)";
  }
}

async function makePki(layout: ClusterLayout, name: string): Promise<void> {
  const dir = layout.pki;
  const ca = await createCertAuthority(dir, `kubemark-cluster-${name}-ca`);
  await issueCert(dir, ca, {
    name: "apiserver",
    commonName: "kube-apiserver",
    usage: "server",
    altNames: [
      "IP:127.0.0.1",
      "IP:10.0.0.1",
      "DNS:localhost",
      "DNS:kubernetes",
      "DNS:kubernetes.default",
      "DNS:kubernetes.default.svc",
      "DNS:kubernetes.default.svc.cluster.local",
    ],
  });
  await issueCert(dir, ca, {
    name: "admin",
    commonName: "kubemark-admin",
    organizations: ["system:masters"],
    usage: "client",
  });
  await issueCert(dir, ca, {
    name: "controller-manager",
    commonName: "system:kube-controller-manager",
    usage: "client",
  });
  await issueCert(dir, ca, { name: "scheduler", commonName: "system:kube-scheduler", usage: "client" });
  await issueCert(dir, ca, {
    name: "apiserver-kubelet-client",
    commonName: "kube-apiserver-kubelet-client",
    organizations: ["system:masters"],
    usage: "client",
  });
  await createServiceAccountKeys(dir);
  await ensureEtcdTls(dir, name);
}

async function writeKubeconfigs(layout: ClusterLayout, rec: ClusterRecord): Promise<void> {
  const server = `https://127.0.0.1:${rec.ports.apiserver}`;
  const caFile = join(layout.pki, "ca.crt");
  const files: [string, string, string][] = [
    [layout.kubeconfig, "admin", `kubemark-admin`],
    [
      join(layout.dir, "controller-manager.kubeconfig"),
      "controller-manager",
      "system:kube-controller-manager",
    ],
    [join(layout.dir, "scheduler.kubeconfig"), "scheduler", "system:kube-scheduler"],
  ];
  for (const [path, stem, user] of files) {
    const text = await renderKubeconfig({
      clusterName: `kubemark-${rec.name}`,
      userName: user,
      server,
      caFile,
      certFile: join(layout.pki, `${stem}.crt`),
      keyFile: join(layout.pki, `${stem}.key`),
    });
    await writeKubeconfig(path, text);
  }
}

/** Stops every recorded process of a cluster, last-started first, and waits for each to exit. */
async function stopProcesses(
  layout: ClusterLayout,
  rec: ClusterRecord,
  clock: Clock,
): Promise<ClusterRecord> {
  const processes: Partial<Record<Component, DaemonRecord>> = { ...rec.processes };
  for (const c of [...COMPONENTS].reverse()) {
    const d = processes[c];
    if (!d) continue;
    await stopDaemon(d, clock);
    delete processes[c];
    const next = { ...rec, processes };
    await writeRecord(layout, next).catch(() => undefined);
  }
  return { ...rec, processes };
}

/** Status of each component of a recorded cluster. */
async function componentStatuses(layout: ClusterLayout, rec: ClusterRecord): Promise<ComponentStatus[]> {
  const clients = await openProbeClients(layout, rec);
  try {
    return await Promise.all(
      COMPONENTS.map(async (c): Promise<ComponentStatus> => {
        const d = rec.processes[c];
        const running = d !== undefined && isDaemonAlive(d);
        let detail = running ? "" : "not running";
        let healthy = false;
        if (running) {
          try {
            detail = await probe(c, rec, clients);
            healthy = detail === "ok";
          } catch (err) {
            detail = describeError(err);
          }
        }
        return {
          component: c,
          pid: running ? d.pid : null,
          port: portOf(c, rec.ports),
          running,
          healthy,
          detail,
        };
      }),
    );
  } finally {
    await clients.close();
  }
}

function info(
  layout: ClusterLayout,
  rec: ClusterRecord,
  components: ComponentStatus[],
  extra: Partial<ClusterInfo>,
): ClusterInfo {
  return {
    name: rec.name,
    version: rec.version,
    server: `https://127.0.0.1:${rec.ports.apiserver}`,
    kubeconfig: layout.kubeconfig,
    stateDir: layout.dir,
    alreadyRunning: false,
    healthy: components.every((c) => c.healthy),
    components,
    auditLog: rec.audit ? layout.auditLog : undefined,
    ...extra,
  };
}

/** How long a component that runs but is unhealthy gets to recover once what it needs is back. */
const RECOVERY_GRACE_MS = 20_000;

/** The binary each component runs. */
const BINARY_OF: Record<Component, BinaryName> = {
  etcd: "etcd",
  "kube-apiserver": "kube-apiserver",
  "kube-controller-manager": "kube-controller-manager",
  "kube-scheduler": "kube-scheduler",
};

/** Every port a component listens on. */
function portsOf(component: Component, p: ClusterPorts): number[] {
  return component === "etcd" ? [p.etcdClient, p.etcdPeer] : [portOf(component, p)];
}

/** Checks `up`'s options: the cluster name and release they ask for. */
function checkUpOptions(opts: UpOptions): { name: string; version: KubeVersion } {
  const name = validateClusterName(opts.name ?? DEFAULT_CLUSTER_NAME);
  const version = parseKubeVersion(opts.kubeVersion ?? DEFAULT_KUBE_VERSION);
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)) {
    throw new KubemarkError(
      "BAD_INPUT",
      `--port must be a port number between 1 and 65535, got "${opts.port}"`,
      {
        exitCode: 2,
      },
    );
  }
  return { name, version };
}

/** `up` of a cluster whose control plane is healthy: says so, and starts workers it lacks. */
async function upHealthyCluster(
  deps: ControlPlaneDeps,
  layout: ClusterLayout,
  existing: ClusterRecord,
  statuses: ComponentStatus[],
  opts: UpOptions,
): Promise<ClusterInfo> {
  const name = existing.name;
  const workers = await workerInfos(layout);
  const wanted = opts.workers ?? workers.length;
  if (wanted < workers.length) {
    throw new KubemarkError(
      "BAD_INPUT",
      `cluster "${name}" runs ${workers.length} workers; fewer cannot be asked of a running cluster`,
      {
        hint: `'kubemark-cluster down${name === DEFAULT_CLUSTER_NAME ? "" : ` --name ${name}`}' and up again with --workers ${wanted}`,
        exitCode: 2,
      },
    );
  }
  if (wanted === workers.length && workers.every((w) => w.running)) {
    return info(layout, existing, statuses, {
      alreadyRunning: true,
      ...(workers.length ? { workers } : {}),
    });
  }
  const w = await upWorkers(deps, layout, existing, parseKubeVersion(existing.version), wanted, opts).catch(
    async (err: unknown) => {
      // Leave no half-made worker behind (the control plane keeps running).
      await stopWorkers(layout, deps.clock).catch(() => undefined);
      throw err;
    },
  );
  return info(layout, existing, await componentStatuses(layout, existing), {
    alreadyRunning: true,
    ...w,
  });
}

/** A new cluster: its ports, certificates, record and kubeconfigs. */
async function createCluster(
  deps: ControlPlaneDeps,
  layout: ClusterLayout,
  name: string,
  version: KubeVersion,
  opts: UpOptions,
): Promise<ClusterRecord> {
  if (opts.port !== undefined && !(await isPortFree(opts.port))) {
    throw new KubemarkError("PORT_IN_USE", `port ${opts.port} is already in use on 127.0.0.1`, {
      hint: "choose another with --port, or omit --port to pick a free one",
    });
  }
  const avoid = await portsClaimedByOthers(deps.paths.stateDir, name);
  const [apiserver] =
    opts.port !== undefined ? [opts.port] : await pickFreePorts(1, { preferred: [6443], avoid });
  avoid.add(apiserver!);
  const [etcdClient, etcdPeer, controllerManager, scheduler] = await pickFreePorts(4, { avoid });
  deps.onEvent?.({ kind: "step", message: "making certificates" });
  await mkdir(layout.logs, { recursive: true });
  await makePki(layout, name);
  const rec: ClusterRecord = {
    name,
    version: version.git,
    ports: {
      etcdClient: etcdClient!,
      etcdPeer: etcdPeer!,
      apiserver: apiserver!,
      controllerManager: controllerManager!,
      scheduler: scheduler!,
    },
    audit: opts.audit ?? false,
    loadTest: opts.loadTest ?? false,
    serviceCIDR: "10.0.0.0/16",
    clusterCIDR: "10.128.0.0/9",
    createdAt: new Date(deps.clock.now()).toISOString(),
    processes: {},
  };
  await writeRecord(layout, rec);
  await writeKubeconfigs(layout, rec);
  if (rec.audit) await writeFile(layout.auditPolicy, AUDIT_POLICY);
  return rec;
}

/**
 * What to restart in an existing cluster that is not wholly healthy: what is down, what `--audit`
 * or `--load-test` give other flags, and etcd with its API server when etcd's certificates had to
 * be made (a cluster from a version that ran etcd without TLS).
 */
async function planRestart(
  layout: ClusterLayout,
  existing: ClusterRecord,
  statuses: readonly ComponentStatus[],
  opts: UpOptions,
): Promise<{ rec: ClusterRecord; plan: Record<Component, ComponentAction> }> {
  const rec = {
    ...existing,
    audit: opts.audit ?? existing.audit,
    loadTest: opts.loadTest ?? existing.loadTest,
  };
  if (rec.audit) await writeFile(layout.auditPolicy, AUDIT_POLICY);
  const mustRestart = new Map<Component, string>();
  const made = await ensureEtcdTls(layout.pki, rec.name);
  if (made.length > 0) {
    const reason = `etcd's TLS certificates were missing (made ${made.join(", ")})`;
    mustRestart.set("etcd", reason);
    mustRestart.set("kube-apiserver", reason);
  }
  const changed = [
    rec.audit !== existing.audit ? "--audit" : "",
    rec.loadTest !== existing.loadTest ? "--load-test" : "",
  ].filter((f) => f !== "");
  for (const c of COMPONENTS) {
    const before = componentArgs(c, existing, layout).join("\0");
    if (!mustRestart.has(c) && componentArgs(c, rec, layout).join("\0") !== before) {
      mustRestart.set(c, `${changed.join(" and ")} changed its flags`);
    }
  }
  return { rec, plan: restartPlan(statuses, mustRestart) };
}

/** One `up`'s start of components, and what it started (undone if `up` fails). */
interface StartRun {
  readonly deps: ControlPlaneDeps;
  readonly layout: ClusterLayout;
  readonly bins: Record<BinaryName, ResolvedBinary>;
  readonly deadline: number;
  readonly probes: ProbeClients;
  /** Restarting an existing cluster: its recorded ports must be free again before each start. */
  readonly restart: boolean;
  rec: ClusterRecord;
  readonly started: Partial<Record<Component, DaemonRecord>>;
}

/** Waits until a component's health endpoint answers ok; gives up at once if its process exits. */
function waitHealthy(run: StartRun, c: Component, d: DaemonRecord, timeoutMs: number): Promise<PollResult> {
  const { deps } = run;
  const rec = run.rec;
  return waitUntil(
    async () => {
      const text = await probe(c, rec, run.probes);
      return {
        done: text === "ok",
        status:
          text
            .split("\n")
            .filter((l) => l.includes("[-]"))
            .join(", ") || text,
      };
    },
    {
      what: `${c} to become healthy`,
      timeoutMs,
      intervalMs: 250,
      clock: deps.clock,
      ...(deps.signal ? { signal: deps.signal } : {}),
      onPoll: (r) => deps.onEvent?.({ kind: "wait", component: c, status: r.status }),
      failFast: () => (isDaemonAlive(d) ? undefined : `${c} exited`),
    },
  );
}

/** Stops a component's recorded process, if any, and forgets it. */
async function stopComponent(run: StartRun, c: Component): Promise<void> {
  const d = run.rec.processes[c];
  if (!d) return;
  await stopDaemon(d, run.deps.clock);
  const processes = { ...run.rec.processes };
  delete processes[c];
  run.rec = { ...run.rec, processes };
  await writeRecord(run.layout, run.rec);
}

/** Starts one component and waits until it is healthy; the error carries its last log lines. */
async function startComponent(run: StartRun, c: Component): Promise<void> {
  const { deps, layout } = run;
  if (run.restart) {
    for (const port of portsOf(c, run.rec.ports)) {
      if (!(await isPortFree(port))) {
        throw new KubemarkError(
          "PORT_IN_USE",
          `port ${port} of cluster "${run.rec.name}" (${c}) is taken by another program`,
          {
            hint: `stop that program, or 'kubemark-cluster down --name ${run.rec.name}' and up again`,
          },
        );
      }
    }
  }
  deps.signal?.throwIfAborted();
  deps.onEvent?.({ kind: "step", message: `starting ${c}` });
  const d = await startDaemon({
    file: run.bins[BINARY_OF[c]].path,
    args: componentArgs(c, run.rec, layout),
    logFile: layout.log(c),
    env: deps.env,
  });
  run.started[c] = d;
  run.rec = { ...run.rec, processes: { ...run.rec.processes, [c]: d } };
  await writeRecord(layout, run.rec);
  await waitHealthy(run, c, d, Math.max(5_000, run.deadline - deps.clock.now())).catch(
    async (err: unknown) => {
      if (deps.signal?.aborted) throw err;
      const tail = await readLogTail(layout.log(c));
      throw new KubemarkError(
        "START_FAILED",
        `${describeError(err)}\nlast lines of ${layout.log(c)}:\n${tail}`,
        {
          cause: err,
        },
      );
    },
  );
}

/**
 * Carries out the plan for one component: keeps it, (re)starts it, or gives it
 * {@link RECOVERY_GRACE_MS} to recover behind a restarted dependency before restarting it.
 * Returns why it was restarted, or undefined when it kept running.
 */
async function bringUp(run: StartRun, c: Component, action: ComponentAction): Promise<string | undefined> {
  if (action.action === "keep") return undefined;
  let reason = action.reason;
  const d = run.rec.processes[c];
  if (action.action === "recheck" && d) {
    const { deps } = run;
    deps.onEvent?.({ kind: "step", message: `waiting for ${c} to recover` });
    const timeoutMs = Math.min(RECOVERY_GRACE_MS, Math.max(5_000, run.deadline - deps.clock.now()));
    const recovered = await waitHealthy(run, c, d, timeoutMs).then(
      () => true,
      (err: unknown) => {
        if (deps.signal?.aborted) throw err;
        return false;
      },
    );
    if (recovered) return undefined;
    reason = `${reason}, and still after ${Math.round(timeoutMs / 1000)}s`;
  }
  await stopComponent(run, c);
  await startComponent(run, c);
  return reason;
}

/** Ready means usable: the controllers have made the default ServiceAccount pods need. */
async function waitForControllers(run: StartRun): Promise<void> {
  const { deps } = run;
  const admin = run.probes.admin;
  if (!admin) throw new KubemarkError("START_FAILED", "no admin client to check the controllers with");
  await waitUntil(
    async () => {
      await admin.get("/api/v1/namespaces/default/serviceaccounts/default");
      return { done: true, status: "ok" };
    },
    {
      what: "the controller-manager to create the default ServiceAccount",
      timeoutMs: Math.max(5_000, run.deadline - deps.clock.now()),
      intervalMs: 250,
      clock: deps.clock,
      ...(deps.signal ? { signal: deps.signal } : {}),
      onPoll: (r) => deps.onEvent?.({ kind: "wait", component: "controllers", status: r.status }),
    },
  );
}

/**
 * Starts a local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on
 * loopback, or reports that it already runs. In a cluster where some components died or are
 * unhealthy, only those are restarted, with its data; healthy ones keep running. On failure
 * everything this call started is stopped again, a cluster that did not exist before is removed,
 * and the error carries the failing component's last log lines.
 */
export async function upCluster(deps: ControlPlaneDeps, opts: UpOptions): Promise<ClusterInfo> {
  const { clock, paths } = deps;
  const { name, version } = checkUpOptions(opts);
  const layout = clusterLayout(paths.stateDir, name);
  await ensureWritableDir(paths.stateDir);
  const existing = await readRecord(layout);
  let statuses: ComponentStatus[] = [];
  if (existing) {
    if (existing.version !== version.git && opts.kubeVersion !== undefined) {
      throw new KubemarkError("BAD_INPUT", `cluster "${name}" runs ${existing.version}, not ${version.git}`, {
        hint: `run 'kubemark-cluster down --name ${name}' first, or choose another --name`,
        exitCode: 2,
      });
    }
    statuses = await componentStatuses(layout, existing);
    if (statuses.every((s) => s.healthy)) return upHealthyCluster(deps, layout, existing, statuses, opts);
  }
  await ensureWritableDir(layout.dir);
  const fresh = existing === undefined;
  const started: Partial<Record<Component, DaemonRecord>> = {};
  let rec: ClusterRecord | undefined = existing;
  let run: StartRun | undefined;
  try {
    const runVersion = existing ? parseKubeVersion(existing.version) : version;
    const bins = await resolveBinaries({
      version: runVersion,
      binaries: CONTROL_PLANE_BINARIES,
      binDir: opts.binDir ?? deps.env["KUBEMARK_BIN_DIR"],
      cacheDir: paths.cacheDir,
      env: deps.env,
      now: () => clock.now() / 1000,
      onBuildEvent: (build) => deps.onEvent?.({ kind: "build", build }),
    });
    deps.signal?.throwIfAborted();
    const t0 = clock.now();
    let plan: Record<Component, ComponentAction>;
    if (existing) {
      // Restart after a crash: keep data, certificates, ports and every healthy component.
      ({ rec, plan } = await planRestart(layout, existing, statuses, opts));
    } else {
      rec = await createCluster(deps, layout, name, version, opts);
      plan = restartPlan([]);
    }
    await mkdir(layout.logs, { recursive: true });
    const probes = await openProbeClients(layout, rec, { required: true });
    run = {
      deps,
      layout,
      bins,
      deadline: t0 + (opts.timeoutMs ?? 120_000),
      probes,
      restart: !fresh,
      rec,
      started,
    };
    try {
      const restarted: RestartedComponent[] = [];
      for (const c of COMPONENTS) {
        deps.signal?.throwIfAborted();
        const reason = await bringUp(run, c, plan[c]);
        if (reason !== undefined) restarted.push({ component: c, reason });
      }
      rec = run.rec;
      await waitForControllers(run);
      const readySeconds = Math.round((clock.now() - t0) / 100) / 10;
      const wanted = opts.workers ?? (await readWorkers(layout)).workers.length;
      const w = wanted > 0 ? await upWorkers(deps, layout, rec, runVersion, wanted, opts, probes.admin) : {};
      const statuses = await componentStatuses(layout, rec);
      return info(layout, rec, statuses, {
        binaries: Object.fromEntries(Object.entries(bins).map(([k, v]) => [k, v.source])),
        readySeconds,
        ...(fresh ? {} : { restarted }),
        ...w,
      });
    } finally {
      await probes.close();
    }
  } catch (err) {
    // Leave nothing running that this call started and, for a new cluster, nothing behind.
    await stopWorkers(layout, clock).catch(() => undefined);
    for (const c of [...COMPONENTS].reverse()) {
      const d = started[c];
      if (d) await stopDaemon(d, clock).catch(() => undefined);
    }
    const last = run?.rec ?? rec;
    if (fresh) {
      await rm(layout.dir, { recursive: true, force: true }).catch(() => undefined);
    } else if (last) {
      const processes = { ...last.processes };
      for (const c of COMPONENTS) if (started[c]) delete processes[c];
      await writeRecord(layout, { ...last, processes }).catch(() => undefined);
    }
    throw err;
  }
}

/** Result of {@link downCluster}. */
export interface DownResult {
  readonly name: string;
  readonly existed: boolean;
  readonly stopped: readonly string[];
  readonly removed: string | null;
  /** Hollow-node engine processes of local fleets bound to the cluster that were stopped. */
  readonly fleetProcesses?: number;
}

/** Stops a local cluster's processes (waiting until they have exited) and removes its state. */
export async function downCluster(
  deps: ControlPlaneDeps,
  opts: { name?: string | undefined },
): Promise<DownResult> {
  const name = validateClusterName(opts.name ?? DEFAULT_CLUSTER_NAME);
  const layout = clusterLayout(deps.paths.stateDir, name);
  const rec = await readRecord(layout);
  if (!rec) return { name, existed: false, stopped: [], removed: null };
  const fleets = await removeLocalFleetsOf(deps.paths.stateDir, layout, rec, deps.clock);
  const stopped: string[] = await stopWorkers(layout, deps.clock);
  stopped.push(
    ...COMPONENTS.filter((c) => {
      const d = rec.processes[c];
      return d !== undefined && isDaemonAlive(d);
    }),
  );
  await stopProcesses(layout, rec, deps.clock);
  await rm(layout.dir, { recursive: true, force: true });
  return { name, existed: true, stopped, removed: layout.dir, fleetProcesses: fleets.processes };
}

/** Health of one local cluster, or of every one when `name` is absent and several exist. */
export async function clusterStatus(
  deps: ControlPlaneDeps,
  opts: { name?: string | undefined },
): Promise<ClusterInfo[]> {
  const names = opts.name ? [validateClusterName(opts.name)] : await listClusterNames(deps.paths.stateDir);
  const out: ClusterInfo[] = [];
  for (const n of names) {
    const layout = clusterLayout(deps.paths.stateDir, n);
    const rec = await readRecord(layout);
    if (!rec) {
      if (opts.name) {
        throw new KubemarkError("NOT_FOUND", `no local cluster named "${n}"`, {
          hint: `start it with 'kubemark-cluster up --name ${n}'`,
        });
      }
      continue;
    }
    const workers = await workerInfos(layout);
    const components = await componentStatuses(layout, rec);
    out.push(
      info(
        layout,
        rec,
        components,
        workers.length
          ? { workers, healthy: components.every((c) => c.healthy) && workers.every((w) => w.running) }
          : {},
      ),
    );
  }
  return out;
}

/** Starts (or completes) a cluster's real workers; the caller undoes them on failure. */
async function upWorkers(
  deps: ControlPlaneDeps,
  layout: ClusterLayout,
  rec: ClusterRecord,
  version: KubeVersion,
  count: number,
  opts: UpOptions,
  existingAdmin?: KubeClient,
): Promise<Partial<ClusterInfo>> {
  const { clock } = deps;
  const t0 = clock.now();
  const bins = await resolveBinaries({
    version,
    binaries: ["kubelet"],
    binDir: opts.binDir ?? deps.env["KUBEMARK_BIN_DIR"],
    cacheDir: deps.paths.cacheDir,
    env: deps.env,
    now: () => clock.now() / 1000,
    onBuildEvent: (build) => deps.onEvent?.({ kind: "build", build }),
  });
  const admin = existingAdmin ?? (await adminClient(layout, rec));
  try {
    const r = await startWorkers({
      layout,
      rec,
      count,
      admin,
      kubeletBinary: bins.kubelet.path,
      cacheDir: deps.paths.cacheDir,
      stateDir: deps.paths.stateDir,
      packageVersion: PACKAGE_VERSION,
      env: deps.env,
      clock,
      deadline: clock.now() + (opts.timeoutMs ?? 120_000),
      onStep: (message) => deps.onEvent?.({ kind: "step", message }),
      signal: deps.signal,
    });
    return {
      workers: r.workers,
      workerImages: r.images,
      workersReadySeconds: Math.round((clock.now() - t0) / 100) / 10,
    };
  } finally {
    if (!existingAdmin) await admin.close();
  }
}
