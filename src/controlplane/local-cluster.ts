import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Agent, request } from "undici";
import type { Clock } from "../clock.ts";
import { KubeClient } from "../client/kube-client.ts";
import { certificateAccess } from "../client/kubeconfig.ts";
import { KubemarkError, describeError } from "../errors.ts";
import { isDaemonAlive, startDaemon, stopDaemon, type DaemonRecord } from "../host/daemon.ts";
import { isPortFree, pickFreePorts } from "../host/ports.ts";
import { lastLines } from "../host/run-command.ts";
import type { Paths } from "../paths.ts";
import { waitUntil } from "../wait.ts";
import { CONTROL_PLANE_BINARIES, resolveBinaries, type BinarySource } from "./binaries.ts";
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
import { PACKAGE_VERSION } from "../version.ts";
import { removeLocalFleetsOf } from "../fleet/local-runner.ts";
import { renderKubeconfig, writeKubeconfig } from "./kubeconfig-file.ts";
import { createCertAuthority, createServiceAccountKeys, issueCert } from "../host/pki.ts";

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

/** Probes a component's health endpoint. */
async function probe(
  component: Component,
  rec: ClusterRecord,
  admin: KubeClient | undefined,
): Promise<string> {
  const p = rec.ports;
  if (component === "kube-apiserver") {
    if (!admin) return "no client";
    return (await admin.getText("/readyz")).trim();
  }
  const url =
    component === "etcd"
      ? `http://127.0.0.1:${p.etcdClient}/health`
      : `https://127.0.0.1:${component === "kube-scheduler" ? p.scheduler : p.controllerManager}/healthz`;
  const res = await request(url, { dispatcher: insecureAgent, headersTimeout: 3_000, bodyTimeout: 3_000 });
  const text = (await res.body.text()).trim();
  if (component === "etcd") return /"health":\s*"true"/.test(text) ? "ok" : text;
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
  let admin: KubeClient | undefined;
  try {
    admin = await adminClient(layout, rec);
  } catch {
    admin = undefined;
  }
  try {
    return await Promise.all(
      COMPONENTS.map(async (c): Promise<ComponentStatus> => {
        const d = rec.processes[c];
        const running = d !== undefined && isDaemonAlive(d);
        let detail = running ? "" : "not running";
        let healthy = false;
        if (running) {
          try {
            detail = await probe(c, rec, admin);
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
    await admin?.close();
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

/**
 * Starts a local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on
 * loopback, or reports that it already runs. A cluster whose processes died is restarted with its
 * data. On failure everything this call started is stopped again, a cluster that did not exist
 * before is removed, and the error carries the failing component's last log lines.
 */
export async function upCluster(deps: ControlPlaneDeps, opts: UpOptions): Promise<ClusterInfo> {
  const { clock, paths } = deps;
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
  const layout = clusterLayout(paths.stateDir, name);
  await ensureWritableDir(paths.stateDir);
  const existing = await readRecord(layout);
  if (existing) {
    if (existing.version !== version.git && opts.kubeVersion !== undefined) {
      throw new KubemarkError("BAD_INPUT", `cluster "${name}" runs ${existing.version}, not ${version.git}`, {
        hint: `run 'kubemark-cluster down --name ${name}' first, or choose another --name`,
        exitCode: 2,
      });
    }
    const statuses = await componentStatuses(layout, existing);
    if (statuses.every((s) => s.healthy)) {
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
      const w = await upWorkers(
        deps,
        layout,
        existing,
        parseKubeVersion(existing.version),
        wanted,
        opts,
      ).catch(async (err: unknown) => {
        // Leave no half-made worker behind (the control plane keeps running).
        await stopWorkers(layout, clock).catch(() => undefined);
        throw err;
      });
      return info(layout, existing, await componentStatuses(layout, existing), {
        alreadyRunning: true,
        ...w,
      });
    }
  }
  await ensureWritableDir(layout.dir);
  const fresh = existing === undefined;
  const started: Partial<Record<Component, DaemonRecord>> = {};
  let rec: ClusterRecord | undefined = existing;
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
    if (rec) {
      // Restart after a crash: stop what is left, keep data, certificates and ports.
      rec = await stopProcesses(layout, rec, clock);
      for (const c of COMPONENTS) {
        if (!(await isPortFree(portOf(c, rec.ports)))) {
          throw new KubemarkError(
            "PORT_IN_USE",
            `port ${portOf(c, rec.ports)} of cluster "${name}" (${c}) is taken by another program`,
            {
              hint: `stop that program, or 'kubemark-cluster down --name ${name}' and up again`,
            },
          );
        }
      }
    } else {
      if (opts.port !== undefined && !(await isPortFree(opts.port))) {
        throw new KubemarkError("PORT_IN_USE", `port ${opts.port} is already in use on 127.0.0.1`, {
          hint: "choose another with --port, or omit --port to pick a free one",
        });
      }
      const avoid = await portsClaimedByOthers(paths.stateDir, name);
      const [apiserver] =
        opts.port !== undefined ? [opts.port] : await pickFreePorts(1, { preferred: [6443], avoid });
      avoid.add(apiserver!);
      const [etcdClient, etcdPeer, controllerManager, scheduler] = await pickFreePorts(4, { avoid });
      deps.onEvent?.({ kind: "step", message: "making certificates" });
      await mkdir(layout.logs, { recursive: true });
      await makePki(layout, name);
      rec = {
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
        createdAt: new Date(clock.now()).toISOString(),
        processes: {},
      };
      await writeRecord(layout, rec);
      await writeKubeconfigs(layout, rec);
      if (rec.audit) await writeFile(layout.auditPolicy, AUDIT_POLICY);
    }
    if (opts.audit !== undefined || opts.loadTest !== undefined) {
      rec = { ...rec, audit: opts.audit ?? rec.audit, loadTest: opts.loadTest ?? rec.loadTest };
      if (rec.audit) await writeFile(layout.auditPolicy, AUDIT_POLICY);
    }
    await mkdir(layout.logs, { recursive: true });
    const deadline = t0 + (opts.timeoutMs ?? 120_000);
    const binaryOf: Record<Component, BinaryName> = {
      etcd: "etcd",
      "kube-apiserver": "kube-apiserver",
      "kube-controller-manager": "kube-controller-manager",
      "kube-scheduler": "kube-scheduler",
    };
    let admin: KubeClient | undefined;
    try {
      for (const c of COMPONENTS) {
        deps.signal?.throwIfAborted();
        deps.onEvent?.({ kind: "step", message: `starting ${c}` });
        const d = await startDaemon({
          file: bins[binaryOf[c]].path,
          args: componentArgs(c, rec, layout),
          logFile: layout.log(c),
          env: deps.env,
        });
        started[c] = d;
        rec = { ...rec, processes: { ...rec.processes, [c]: d } };
        await writeRecord(layout, rec);
        if (c === "kube-apiserver") admin = await adminClient(layout, rec);
        const current = rec;
        await waitUntil(
          async () => {
            const text = await probe(c, current, admin);
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
            timeoutMs: Math.max(5_000, deadline - clock.now()),
            intervalMs: 250,
            clock,
            ...(deps.signal ? { signal: deps.signal } : {}),
            onPoll: (r) => deps.onEvent?.({ kind: "wait", component: c, status: r.status }),
            failFast: () => (isDaemonAlive(d) ? undefined : `${c} exited`),
          },
        ).catch(async (err: unknown) => {
          if (deps.signal?.aborted) throw err;
          const tail = await readLogTail(layout.log(c));
          throw new KubemarkError(
            "START_FAILED",
            `${describeError(err)}\nlast lines of ${layout.log(c)}:\n${tail}`,
            {
              cause: err,
            },
          );
        });
      }
      // Ready means usable: the controllers have made the default ServiceAccount pods need.
      await waitUntil(
        async () => {
          await admin!.get("/api/v1/namespaces/default/serviceaccounts/default");
          return { done: true, status: "ok" };
        },
        {
          what: "the controller-manager to create the default ServiceAccount",
          timeoutMs: Math.max(5_000, deadline - clock.now()),
          intervalMs: 250,
          clock,
          ...(deps.signal ? { signal: deps.signal } : {}),
          onPoll: (r) => deps.onEvent?.({ kind: "wait", component: "controllers", status: r.status }),
        },
      );
      const readySeconds = Math.round((clock.now() - t0) / 100) / 10;
      const wanted = opts.workers ?? (await readWorkers(layout)).workers.length;
      const w = wanted > 0 ? await upWorkers(deps, layout, rec, runVersion, wanted, opts, admin) : {};
      const statuses = await componentStatuses(layout, rec);
      return info(layout, rec, statuses, {
        binaries: Object.fromEntries(Object.entries(bins).map(([k, v]) => [k, v.source])),
        readySeconds,
        ...w,
      });
    } finally {
      await admin?.close();
    }
  } catch (err) {
    // Leave nothing running and, for a new cluster, nothing behind.
    await stopWorkers(layout, clock).catch(() => undefined);
    for (const c of [...COMPONENTS].reverse()) {
      const d = started[c];
      if (d) await stopDaemon(d, clock).catch(() => undefined);
    }
    if (fresh) {
      await rm(layout.dir, { recursive: true, force: true }).catch(() => undefined);
    } else if (rec) {
      await writeRecord(layout, { ...rec, processes: {} }).catch(() => undefined);
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
