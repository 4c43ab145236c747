import { isDaemonAlive } from "../host/daemon.ts";
import { KubeApiError } from "../client/api-error.ts";
import type { KubeClient } from "../client/kube-client.ts";
import { KubemarkError, describeError } from "../kernel/errors.ts";
import type { Clock } from "../kernel/clock.ts";
import type { ProgressView } from "../cli/progress.ts";
import {
  applyObject,
  createIfAbsent,
  deleteObject,
  forEachLimit,
  getObject,
  objectPath,
  refOf,
  requirePermissions,
  type Permission,
} from "./apply.ts";
import { engineBundle } from "./bundle.ts";
import { MAX_KUBELET_MINORS_BEHIND, kubeletSkew } from "./version-skew.ts";
import { readClusterIdentity, type ClusterIdentity } from "./cluster-identity.ts";
import { suggestCommand } from "./command-hint.ts";
import { connect, type ClusterFlags, type Endpoint } from "./endpoints.ts";
import { SERVICE_IP } from "../workers/workers.ts";
import {
  deadShards,
  localClusterChange,
  localFleetLayout,
  logTail,
  readLocalFleet,
  reconcileLocal,
  removeLocal,
  type LocalFleetLayout,
  type LocalFleetRecord,
  type LocalShard,
} from "./local-runner.ts";
import {
  ENGINE_CONFIGMAP,
  FLEET_CONFIGMAP,
  KUBEMARK_KUBECONFIG,
  TARGET_SECRET,
  TOKEN_SECRET,
  clusterRoleName,
  fleetConfigMap,
  identityObjects,
  namespaceObject,
  targetSecret,
  workloadObjects,
  type KubeObject,
  type TargetCredentials,
} from "./objects.ts";
import {
  DEFAULT_NODES_PER_SHARD,
  DEFAULT_NODE_IMAGE,
  FLEET_LABEL,
  HOLLOW_LABEL,
  WORKLOAD_LABEL,
  WORKLOAD_NAME,
  nodeIndex,
  shardCount,
  shardNodes,
  type FleetEngine,
  type FleetMode,
  type FleetSpec,
} from "./spec.ts";

/** Where a fleet lives: the hosting cluster (workload) and the target (Nodes), and the namespace. */
export interface FleetScope {
  readonly hosting: ClusterFlags;
  /** The cluster the Nodes register into, when not the hosting one. */
  readonly target?: ClusterFlags | undefined;
  readonly namespace: string;
}

/** What every fleet operation needs from the CLI. */
export interface FleetDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stateDir: string;
  readonly clock: Clock;
  readonly progress: ProgressView;
  readonly signal: AbortSignal;
}

/** An open connection to a fleet's clusters. */
export interface Session {
  readonly deps: FleetDeps;
  readonly hosting: Endpoint;
  readonly target: Endpoint;
  readonly namespace: string;
  readonly twoCluster: boolean;
  /** The fleet's name (the value of its ownership label on Nodes and objects). */
  readonly fleet: string;
  /** `kubemark-cluster <verbAndArgs>` with the flags the user gave (for hints). */
  suggest(verbAndArgs: string): string;
  /** The target cluster's identity (read once): local processes are bound to it. */
  targetIdentity(): Promise<ClusterIdentity>;
  close(): Promise<void>;
}

/** Connects to the hosting (and target) cluster; fails fast when either is unreachable. */
export async function openSession(deps: FleetDeps, scope: FleetScope): Promise<Session> {
  const hosting = await connect(scope.hosting, deps.env, deps.stateDir, "hosting");
  let target = hosting;
  if (scope.target && (scope.target.kubeconfig || scope.target.context)) {
    try {
      target = await connect(
        { kubeconfig: scope.target.kubeconfig ?? hosting.kubeconfig, context: scope.target.context },
        deps.env,
        deps.stateDir,
        "target",
      );
    } catch (err) {
      await hosting.client.close();
      throw err;
    }
  }
  const twoCluster = target !== hosting && target.access.server !== hosting.access.server;
  const flags = {
    kubeconfig: scope.hosting.kubeconfig,
    context: scope.hosting.context,
    namespace: scope.namespace,
    targetKubeconfig: scope.target?.kubeconfig,
    targetContext: scope.target?.context,
  };
  let identity: Promise<ClusterIdentity> | undefined;
  return {
    deps,
    hosting,
    target,
    namespace: scope.namespace,
    twoCluster,
    fleet: scope.namespace,
    suggest: (verbAndArgs) => suggestCommand(flags, verbAndArgs),
    targetIdentity: () => (identity ??= readClusterIdentity(target.client, target.access.ca)),
    close: async () => {
      await hosting.client.close();
      if (target !== hosting) await target.client.close();
    },
  };
}

/** The fleet recorded in the hosting cluster, or undefined when there is none. */
export async function readFleet(s: Session): Promise<FleetSpec | undefined> {
  let cm: { data?: Record<string, string> } | undefined;
  try {
    cm = await getObject(s.hosting.client, objectPath("ConfigMap", FLEET_CONFIGMAP, s.namespace));
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) {
      throw new KubemarkError(
        "FORBIDDEN",
        `your identity may not read configmaps in namespace ${s.namespace} of ${s.hosting.access.server} (where the fleet is recorded)`,
        {
          hint: "use a kubeconfig with cluster-admin rights (or one granted the fleet's permissions)",
          cause: err,
        },
      );
    }
    throw err;
  }
  const text = cm?.data?.["spec.json"];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as FleetSpec;
  } catch {
    throw new KubemarkError("API_ERROR", `configmap/${FLEET_CONFIGMAP} -n ${s.namespace} is damaged`, {
      hint: `run '${s.suggest("cleanup")}' and create the fleet again`,
    });
  }
}

function localLayout(s: Session): LocalFleetLayout {
  return localFleetLayout(s.deps.stateDir, s.hosting.access.server, s.namespace);
}

const NODE_LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";

/** What the CLI's identity must be allowed before `setup`/`create` change anything. */
function setupPermissions(
  s: Session,
  mode: FleetMode,
  engine: FleetEngine,
  nsExists: { hosting: boolean; target: boolean },
): {
  hosting: Permission[];
  target: Permission[];
} {
  const ns = s.namespace;
  const rbac = "rbac.authorization.k8s.io";
  const identity: Permission[] = [
    { verb: "patch", resource: "serviceaccounts", namespace: ns },
    { verb: "patch", resource: "clusterroles", group: rbac },
    { verb: "patch", resource: "clusterrolebindings", group: rbac },
    { verb: "patch", resource: "roles", group: rbac, namespace: "kube-node-lease" },
    { verb: "patch", resource: "rolebindings", group: rbac, namespace: "kube-node-lease" },
  ];
  const tokens = mode === "local" || s.twoCluster;
  if (tokens)
    identity.push(
      { verb: "patch", resource: "secrets", namespace: ns },
      { verb: "get", resource: "secrets", namespace: ns },
    );
  const nodes: Permission[] = [
    { verb: "list", resource: "nodes" },
    { verb: "delete", resource: "nodes" },
    { verb: "delete", resource: "leases", group: "coordination.k8s.io", namespace: "kube-node-lease" },
  ];
  const hosting: Permission[] = [{ verb: "patch", resource: "configmaps", namespace: ns }];
  if (!nsExists.hosting) hosting.push({ verb: "create", resource: "namespaces" });
  if (mode === "in-cluster") {
    hosting.push(
      { verb: "patch", resource: "statefulsets", group: "apps", namespace: ns },
      { verb: "patch", resource: "services", namespace: ns },
      { verb: "list", resource: "pods", namespace: ns },
      { verb: "delete", resource: "pods", namespace: ns },
    );
  }
  if (s.twoCluster) {
    hosting.push(
      { verb: "patch", resource: "serviceaccounts", namespace: ns },
      { verb: "patch", resource: "secrets", namespace: ns },
    );
    const target = [...identity, ...nodes];
    if (!nsExists.target) target.push({ verb: "create", resource: "namespaces" });
    return { hosting, target };
  }
  void engine;
  return { hosting: [...hosting, ...identity, ...nodes], target: [] };
}

async function namespaceExists(client: KubeClient, ns: string): Promise<boolean> {
  return (await getObject(client, objectPath("Namespace", ns))) !== undefined;
}

/** What `setup` made or found. */
export interface SetupResult {
  /** Credentials for local engine processes or the two-cluster Secret. */
  readonly credentials: TargetCredentials | undefined;
  readonly namespaceCreated: boolean;
}

/**
 * `setup`: the namespace and the hollow nodes' identity, idempotent. Same cluster: a
 * ServiceAccount with least-privilege RBAC. Two clusters: that identity in the target, and a
 * Secret in the hosting cluster with its token for the target (never printed).
 */
export async function setup(
  s: Session,
  mode: FleetMode,
  engine: FleetEngine = "hollow-node",
): Promise<SetupResult> {
  const nsExists = {
    hosting: await namespaceExists(s.hosting.client, s.namespace),
    target: s.twoCluster ? await namespaceExists(s.target.client, s.namespace) : true,
  };
  const perms = setupPermissions(s, mode, engine, nsExists);
  await requirePermissions(
    s.hosting.client,
    perms.hosting,
    `setting up the fleet in ${s.hosting.access.server}`,
  );
  if (perms.target.length > 0)
    await requirePermissions(
      s.target.client,
      perms.target,
      `setting up the hollow nodes' identity in ${s.target.access.server}`,
    );
  const spec = { namespace: s.namespace, fleet: s.fleet };
  const namespaceCreated = await createIfAbsent(s.hosting.client, namespaceObject(spec));
  if (s.twoCluster) await createIfAbsent(s.target.client, namespaceObject(spec));
  const withToken = mode === "local" || s.twoCluster;
  for (const obj of identityObjects(spec, withToken)) await applyObject(s.target.client, obj);
  if (s.twoCluster) {
    // The pods' own ServiceAccount in the hosting cluster: no rights, no token mounted.
    await applyObject(s.hosting.client, identityObjects(spec, false)[0]!);
  }
  let credentials: TargetCredentials | undefined;
  if (withToken) {
    credentials = await readToken(s);
    if (s.twoCluster) {
      await applyObject(
        s.hosting.client,
        targetSecret(spec, { ...credentials, server: podReachableServer(s.hosting, credentials.server) }),
      );
    }
  }
  return { credentials, namespaceCreated };
}

/** Waits for the token controller to fill the ServiceAccount token Secret and returns the credentials. */
async function readToken(s: Session): Promise<TargetCredentials> {
  const deadline = s.deps.clock.now() + 30_000;
  for (;;) {
    const secret = await getObject<{ data?: Record<string, string> }>(
      s.target.client,
      objectPath("Secret", TOKEN_SECRET, s.namespace),
    );
    const token = secret?.data?.["token"];
    const ca = secret?.data?.["ca.crt"];
    if (token && ca) {
      const own = s.target.access.ca;
      return {
        server: s.target.access.server,
        caCrt: own ? own.toString() : Buffer.from(ca, "base64").toString(),
        token: Buffer.from(token, "base64").toString(),
      };
    }
    if (s.deps.clock.now() > deadline) {
      throw new KubemarkError(
        "TIMEOUT",
        `secret/${TOKEN_SECRET} -n ${s.namespace} got no token within 30 s`,
        {
          hint: "is kube-controller-manager running with its service-account token controller?",
        },
      );
    }
    await s.deps.clock.sleep(500, s.deps.signal);
  }
}

/** Options of {@link createFleet}. */
export interface CreateOptions {
  readonly nodes: number;
  /** undefined: local against the project's own control plane, in-cluster otherwise. */
  readonly mode?: FleetMode | undefined;
  readonly nodesPerShard?: number | undefined;
  readonly kubeletVersion?: string | undefined;
  readonly engine?: FleetEngine | undefined;
  /** An image that carries the engine (the Dockerfile's), or upstream kubemark's. */
  readonly image?: string | undefined;
  /** A stock Node.js 24 image (a mirror of the default) to run the ConfigMap-shipped engine on. */
  readonly nodeImage?: string | undefined;
  readonly namePrefix?: string | undefined;
  readonly traffic?: "kubelet" | "minimal" | undefined;
  readonly proxy?: boolean | undefined;
  readonly timeoutMs: number;
  readonly stallMs: number;
  readonly wait: boolean;
  /** `server`: the API server validates and admits every object without storing it; `client`: only print. */
  readonly dryRun?: "server" | "client" | undefined;
  /** `scale` (the fleet must exist) or `create`. */
  readonly verb: "create" | "scale";
  /** Start kubelets newer than the API server although the version skew policy forbids it. */
  readonly force?: boolean | undefined;
}

/** What `create`/`scale` did. */
export interface CreateResult {
  readonly spec: FleetSpec;
  readonly action: "created" | "scaled" | "unchanged" | "updated" | "dry-run";
  readonly ready: number;
  readonly removedNodes: number;
  readonly seconds: number;
  /** Objects of a dry run. */
  readonly objects?: KubeObject[];
  /** What the user should know although it did not stop the command (version skew). */
  readonly warnings: string[];
}

/** Builds the spec `create` asks for, over the existing fleet's settings. */
function desiredSpec(s: Session, opts: CreateOptions, existing: FleetSpec | undefined): FleetSpec {
  const mode: FleetMode = opts.mode ?? existing?.mode ?? defaultMode(s.hosting);
  if (existing && opts.mode && opts.mode !== existing.mode) {
    throw new KubemarkError(
      "CONFLICT",
      `the fleet in namespace ${s.namespace} runs ${existing.mode}; it cannot be switched to ${opts.mode}`,
      {
        hint: `run '${s.suggest("cleanup")}' first, or use another -n/--namespace`,
      },
    );
  }
  const engine = opts.engine ?? existing?.engine ?? "hollow-node";
  if (existing && opts.engine && opts.engine !== existing.engine) {
    throw new KubemarkError(
      "CONFLICT",
      `the fleet in namespace ${s.namespace} runs ${existing.engine}, not ${opts.engine}`,
      {
        hint: `run '${s.suggest("cleanup")}' first, or use another -n/--namespace`,
      },
    );
  }
  if (engine === "kubemark") {
    if (mode === "local") {
      throw new KubemarkError("BAD_INPUT", "--engine kubemark runs in a cluster only (one pod per node)", {
        hint: "add --in-cluster and --image with a kubemark image",
      });
    }
    if (!(opts.image ?? existing?.image)) {
      throw new KubemarkError(
        "BAD_INPUT",
        "--engine kubemark needs --image (a kubemark image for your Kubernetes version)",
        {
          hint: "e.g. --image registry.example.com/kubemark:v1.36.3 (build it with the kubemark Dockerfile of kubernetes/kubernetes)",
        },
      );
    }
  }
  const targetMinor = /^v\d+\.\d+\.\d+/.exec(s.target.version)?.[0];
  return {
    namespace: s.namespace,
    fleet: s.fleet,
    nodes: opts.nodes,
    nodesPerShard:
      engine === "kubemark"
        ? 1
        : (opts.nodesPerShard ?? existing?.nodesPerShard ?? DEFAULT_NODES_PER_SHARD[mode]),
    namePrefix: existing?.namePrefix ?? opts.namePrefix ?? WORKLOAD_NAME,
    kubeletVersion:
      opts.kubeletVersion ?? existing?.kubeletVersion ?? (engine === "kubemark" ? targetMinor : undefined),
    mode,
    engine,
    image:
      opts.image ?? opts.nodeImage ?? existing?.image ?? (engine === "hollow-node" ? DEFAULT_NODE_IMAGE : ""),
    prebuiltEngine:
      engine === "hollow-node" &&
      (opts.image !== undefined || (opts.nodeImage === undefined && existing?.prebuiltEngine === true)),
    twoCluster: s.twoCluster,
    targetServer: s.target.access.server,
    traffic: opts.traffic ?? existing?.traffic ?? "kubelet",
    proxy: opts.proxy ?? existing?.proxy ?? true,
  };
}

/** Fleet Nodes as the target has them. */
export interface NodeCensus {
  /** Nodes of the fleet with an index below the desired count. */
  readonly registered: number;
  readonly ready: number;
  readonly notReady: string[];
  /** Fleet Nodes past the desired count (no longer backed). */
  readonly extra: string[];
  readonly nodes: Array<{ name: string; ready: boolean; version: string; created: string }>;
}

interface NodeItem {
  metadata: { name: string; creationTimestamp?: string };
  status?: { conditions?: Array<{ type: string; status: string }>; nodeInfo?: { kubeletVersion?: string } };
}

/** Counts the fleet's Nodes in the target (by its ownership label and `hollow-node=true`). */
export async function nodeCensus(
  s: Session,
  spec: Pick<FleetSpec, "nodes" | "namePrefix">,
): Promise<NodeCensus> {
  const list = await s.target.client.get<{ items: NodeItem[] }>("/api/v1/nodes", {
    labelSelector: `${FLEET_LABEL}=${s.fleet},${HOLLOW_LABEL}=true`,
  });
  let registered = 0;
  let ready = 0;
  const notReady: string[] = [];
  const extra: string[] = [];
  const nodes: NodeCensus["nodes"] = [];
  for (const n of list.items) {
    const isReady = n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
    const idx = nodeIndex(n.metadata.name, spec.namePrefix);
    nodes.push({
      name: n.metadata.name,
      ready: isReady,
      version: n.status?.nodeInfo?.kubeletVersion ?? "",
      created: n.metadata.creationTimestamp ?? "",
    });
    if (idx === undefined || idx >= spec.nodes) {
      extra.push(n.metadata.name);
      continue;
    }
    registered++;
    if (isReady) ready++;
    else notReady.push(n.metadata.name);
  }
  nodes.sort((a, b) => (nodeIndex(a.name, spec.namePrefix) ?? 0) - (nodeIndex(b.name, spec.namePrefix) ?? 0));
  return { registered, ready, notReady, extra, nodes };
}

/** Deletes Nodes (and their Leases) that the fleet no longer backs. */
async function removeNodes(s: Session, names: readonly string[]): Promise<number> {
  let removed = 0;
  await forEachLimit(names, 16, async (name) => {
    if (await deleteObject(s.target.client, `/api/v1/nodes/${name}`)) removed++;
    await deleteObject(s.target.client, `${NODE_LEASES}/${name}`);
  });
  return removed;
}

/** The workload's pods (in-cluster fleets). */
interface PodItem {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    containerStatuses?: Array<{
      ready?: boolean;
      restartCount?: number;
      state?: {
        waiting?: { reason?: string; message?: string };
        terminated?: { reason?: string; exitCode?: number };
        running?: { startedAt?: string };
      };
    }>;
  };
}

async function workloadPods(s: Session): Promise<PodItem[]> {
  const list = await s.hosting.client.get<{ items: PodItem[] }>(`/api/v1/namespaces/${s.namespace}/pods`, {
    labelSelector: `name=${WORKLOAD_LABEL.name},${FLEET_LABEL}=${s.fleet}`,
  });
  return list.items;
}

function podOrdinal(name: string): number {
  return Number(/-(\d+)$/.exec(name)?.[1] ?? -1);
}

/** One line on what a pod is doing (for stalls and `list`). */
export function podState(p: PodItem): string {
  if (p.metadata.deletionTimestamp) return "Terminating";
  const c = p.status?.containerStatuses?.[0];
  const waiting = c?.state?.waiting;
  if (waiting?.reason) return waiting.reason;
  const term = c?.state?.terminated;
  if (term) return `${term.reason ?? "Terminated"} (exit ${term.exitCode ?? "?"})`;
  if (p.status?.phase === "Pending") {
    const sched = p.status.conditions?.find((x) => x.type === "PodScheduled" && x.status === "False");
    if (sched) return `Pending: ${sched.reason ?? ""} ${sched.message ?? ""}`.trim();
  }
  return p.status?.phase ?? "Unknown";
}

/** Why nodes are not coming up, from the workload's side (undefined when it looks healthy). */
async function diagnose(s: Session, spec: FleetSpec): Promise<string | undefined> {
  if (spec.mode === "local") {
    const layout = localLayout(s);
    const rec = await readLocalFleet(layout);
    if (!rec) return "no local engine processes are recorded";
    const moved = await localClusterChange(layout, rec, await s.targetIdentity());
    if (moved)
      return `its engine processes were started for another cluster at ${s.target.access.server} (${moved})`;
    const dead = deadShards(rec);
    if (dead.length === 0) return undefined;
    const first = dead[0]!;
    return `engine process ${first.shard} (pid ${first.pid}) exited; its log ${layout.shardLog(first.shard)} ends with:\n${await logTail(layout.shardLog(first.shard))}`;
  }
  const pods = await workloadPods(s);
  const bad = pods.filter((p) => podState(p) !== "Running");
  if (bad.length === 0) return pods.length === 0 ? "the StatefulSet has no pods yet" : undefined;
  return `pods not running: ${bad
    .slice(0, 3)
    .map((p) => `${p.metadata.name} ${podState(p)}`)
    .join("; ")}${bad.length > 3 ? ` and ${bad.length - 3} more` : ""}`;
}

/**
 * How many of the census's Ready Nodes the running engine backs: those whose Lease was renewed
 * after the process (or pod) that runs them started. A Node of a process that crashed stays Ready
 * until the node controller notices (40 s), and a restarted process takes a while to renew every
 * Lease: counting those Nodes would end the wait before the new process has taken them over.
 */
export function readyAfterStart(
  spec: Pick<FleetSpec, "nodes" | "nodesPerShard" | "namePrefix">,
  nodes: ReadonlyArray<{ readonly name: string; readonly ready: boolean }>,
  renewedAt: ReadonlyMap<string, number>,
  shardStartedAt: ReadonlyMap<number, number>,
): number {
  let n = 0;
  for (const node of nodes) {
    const idx = nodeIndex(node.name, spec.namePrefix);
    if (!node.ready || idx === undefined || idx >= spec.nodes) continue;
    const start = shardStartedAt.get(Math.floor(idx / spec.nodesPerShard));
    const renewed = renewedAt.get(node.name);
    if (start !== undefined && renewed !== undefined && renewed > start) n++;
  }
  return n;
}

/** When each shard's running process or pod started (ms since the epoch); absent when none runs. */
async function shardStartTimes(s: Session, spec: FleetSpec): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (spec.mode === "local") {
    const rec = await readLocalFleet(localLayout(s));
    // Records of older versions have no start time: their processes count from the epoch.
    for (const sh of rec?.shards ?? []) if (isDaemonAlive(sh)) out.set(sh.shard, sh.startedAt ?? 0);
    return out;
  }
  for (const p of await workloadPods(s)) {
    const at = p.status?.containerStatuses?.[0]?.state?.running?.startedAt;
    if (at && !p.metadata.deletionTimestamp) out.set(podOrdinal(p.metadata.name), Date.parse(at));
  }
  return out;
}

async function readyOfCurrentEngine(s: Session, spec: FleetSpec, census: NodeCensus): Promise<number> {
  const leases = await s.target.client.get<{ items: LeaseItem[] }>(NODE_LEASES);
  const renewedAt = new Map<string, number>();
  for (const l of leases.items) {
    if (l.spec?.renewTime) renewedAt.set(l.metadata.name, Date.parse(l.spec.renewTime));
  }
  return readyAfterStart(spec, census.nodes, renewedAt, await shardStartTimes(s, spec));
}

/**
 * Waits until exactly the desired Nodes are Ready, with a progress bar, a deadline and stall
 * detection (no new Ready node for `stallMs`: gives up and says why, from the workload's side).
 */
async function waitForFleet(
  s: Session,
  spec: FleetSpec,
  timeoutMs: number,
  stallMs: number,
): Promise<number> {
  const { clock, progress } = s.deps;
  const started = clock.now();
  let best = -1;
  let bestAt = started;
  const interval = Math.min(5_000, Math.max(1_000, spec.nodes));
  try {
    for (;;) {
      let census: NodeCensus | undefined;
      let current: number | undefined;
      try {
        census = await nodeCensus(s, spec);
        // Ready as the running engine reports it: a Node stays Ready for a while after its process died.
        current = census.ready > 0 ? await readyOfCurrentEngine(s, spec, census) : 0;
      } catch (err) {
        if (err instanceof KubeApiError && (err.status === 401 || err.status === 403)) throw err;
      }
      const ready = current ?? best;
      const secs = Math.round((clock.now() - started) / 1000);
      if (census && current !== undefined) {
        progress.count("nodes Ready", current, spec.nodes, `(registered ${census.registered}, ${secs}s)`);
        if (current === spec.nodes && census.registered === spec.nodes) return current;
      }
      if (ready > best) {
        best = ready;
        bestAt = clock.now();
      }
      const why = await diagnose(s, spec).catch(() => undefined);
      if (why && spec.mode === "local") {
        throw new KubemarkError("START_FAILED", `${best}/${spec.nodes} nodes Ready: ${why}`, {
          hint: "fix the cause and run the same command again (it resumes)",
        });
      }
      if (clock.now() - bestAt > stallMs) {
        throw new KubemarkError(
          "TIMEOUT",
          `no progress for ${Math.round(stallMs / 1000)}s at ${Math.max(best, 0)}/${spec.nodes} nodes Ready${why ? `: ${why}` : ""}`,
          {
            hint: `see '${s.suggest("logs")}' and '${s.suggest("list -o wide")}'; the same command resumes`,
          },
        );
      }
      if (clock.now() - started > timeoutMs) {
        throw new KubemarkError(
          "TIMEOUT",
          `timed out after ${Math.round(timeoutMs / 1000)}s at ${Math.max(best, 0)}/${spec.nodes} nodes Ready${why ? `: ${why}` : ""}`,
          { hint: `raise --timeout, or see '${s.suggest("verify")}'` },
        );
      }
      await clock.sleep(interval, s.deps.signal);
    }
  } finally {
    progress.endCount();
  }
}

/** Shards whose slice of the fleet changes between two specs (their pods must restart to see it). */
export function changedShards(prev: FleetSpec, next: FleetSpec): number[] {
  const out: number[] = [];
  const n = Math.min(shardCount(prev), shardCount(next));
  for (let i = 0; i < n; i++) if (shardNodes(prev, i) !== shardNodes(next, i)) out.push(i);
  return out;
}

/** Applies an in-cluster workload and restarts the pods whose slice changed. */
async function applyInCluster(
  s: Session,
  spec: FleetSpec,
  prev: FleetSpec | undefined,
  dryRun: boolean,
): Promise<KubeObject[]> {
  const bundle = spec.engine === "hollow-node" && !spec.prebuiltEngine ? await engineBundle() : undefined;
  const objects = workloadObjects(spec, bundle);
  for (const obj of objects) {
    try {
      await applyObject(s.hosting.client, obj, dryRun);
    } catch (err) {
      throw new KubemarkError("API_ERROR", `${refOf(obj)}: ${describeError(err)}`, { cause: err });
    }
  }
  if (dryRun || !prev || spec.engine === "kubemark") return objects;
  const restart = changedShards(prev, spec);
  if (restart.length > 0) {
    const pods = await workloadPods(s);
    for (const p of pods) {
      if (restart.includes(podOrdinal(p.metadata.name))) {
        await deleteObject(s.hosting.client, `/api/v1/namespaces/${s.namespace}/pods/${p.metadata.name}`);
      }
    }
  }
  return objects;
}

/**
 * Every object a fleet consists of and the cluster it goes to (for dry runs). The two-cluster
 * Secret is left out: it holds a token only a real setup obtains.
 */
async function plannedObjects(
  s: Session,
  spec: FleetSpec,
): Promise<Array<{ cluster: "hosting" | "target"; obj: KubeObject }>> {
  const out: Array<{ cluster: "hosting" | "target"; obj: KubeObject }> = [];
  const hosting = (obj: KubeObject): number => out.push({ cluster: "hosting", obj });
  const target = (obj: KubeObject): number => out.push({ cluster: "target", obj });
  hosting(namespaceObject(spec));
  if (s.twoCluster) target(namespaceObject(spec));
  const identity = identityObjects(spec, spec.mode === "local" || s.twoCluster);
  for (const obj of identity) (s.twoCluster ? target : hosting)(obj);
  if (s.twoCluster) hosting(identityObjects(spec, false)[0]!);
  if (spec.mode === "in-cluster") {
    const bundle = spec.engine === "hollow-node" && !spec.prebuiltEngine ? await engineBundle() : undefined;
    for (const obj of workloadObjects(spec, bundle)) hosting(obj);
  } else hosting(fleetConfigMap(spec));
  return out;
}

/** Waits until no workload pod with an ordinal past `replicas` exists, and restarted ones are gone. */
async function waitPodsGone(s: Session, isGone: (pods: PodItem[]) => boolean, what: string): Promise<void> {
  const deadline = s.deps.clock.now() + 120_000;
  while (!isGone(await workloadPods(s))) {
    if (s.deps.clock.now() > deadline) {
      throw new KubemarkError("TIMEOUT", `${what} did not stop within 120 s`, {
        hint: `see 'kubectl get pods -n ${s.namespace} -l name=hollow-node'`,
      });
    }
    await s.deps.clock.sleep(1_000, s.deps.signal);
  }
}

/**
 * `create N` / `scale N`: sets the fleet up if needed, starts or scales its engine (local
 * processes or a StatefulSet), removes Nodes it no longer backs, and waits until exactly N are
 * Ready. The same N again changes nothing.
 */
export async function createFleet(s: Session, opts: CreateOptions): Promise<CreateResult> {
  const { clock, progress } = s.deps;
  const started = clock.now();
  const existing = await readFleet(s);
  if (opts.verb === "scale" && !existing) {
    throw new KubemarkError(
      "NOT_FOUND",
      `no hollow-node fleet in namespace ${s.namespace} of ${s.hosting.access.server}`,
      {
        hint: `create one with '${s.suggest(`create ${opts.nodes}`)}'`,
      },
    );
  }
  if (existing && existing.targetServer !== s.target.access.server) {
    throw new KubemarkError(
      "CONFLICT",
      `the fleet in namespace ${s.namespace} registers into ${existing.targetServer}, not ${s.target.access.server}`,
      {
        hint: `pass the same --target-kubeconfig as at create, or run '${s.suggest("cleanup")}' first`,
      },
    );
  }
  const spec = desiredSpec(s, opts, existing);
  const warnings = versionSkewWarnings(s, spec, opts.force === true);
  for (const w of warnings) progress.line(`warning: ${w}`);
  const seconds = (): number => Math.round((clock.now() - started) / 100) / 10;
  if (opts.dryRun) {
    const planned = await plannedObjects(s, spec);
    if (opts.dryRun === "server") {
      if (!(await namespaceExists(s.hosting.client, s.namespace))) {
        throw new KubemarkError(
          "NOT_FOUND",
          `namespace ${s.namespace} does not exist, so its objects cannot be dry-run`,
          {
            hint: `run '${s.suggest("setup")}' first (it makes only the namespace and the hollow nodes' identity)`,
          },
        );
      }
      for (const { cluster, obj } of planned) {
        try {
          await applyObject(cluster === "target" ? s.target.client : s.hosting.client, obj, true);
        } catch (err) {
          throw new KubemarkError(
            "API_ERROR",
            `the API server refused ${refOf(obj)}: ${describeError(err)}`,
            { cause: err },
          );
        }
      }
    }
    return {
      spec,
      action: "dry-run",
      ready: 0,
      removedNodes: 0,
      seconds: seconds(),
      objects: planned.map((p) => p.obj),
      warnings,
    };
  }
  if (existing && sameSpec(existing, spec)) {
    const census = await nodeCensus(s, spec);
    const healthy = (await diagnose(s, spec).catch(() => "unknown")) === undefined;
    if (
      healthy &&
      census.ready === spec.nodes &&
      census.registered === spec.nodes &&
      census.extra.length === 0
    ) {
      return {
        spec,
        action: "unchanged",
        ready: census.ready,
        removedNodes: 0,
        seconds: seconds(),
        warnings,
      };
    }
  }
  progress.line(
    existing
      ? `${opts.verb === "scale" ? "scaling" : "updating"} fleet ${s.fleet}: ${existing.nodes} -> ${spec.nodes} nodes (${spec.mode})`
      : `creating fleet ${s.fleet}: ${spec.nodes} hollow nodes (${spec.mode}, ${spec.nodesPerShard} per ${spec.mode === "local" ? "process" : "pod"}) into ${s.target.access.server}`,
  );
  let made = false;
  try {
    const result = await setup(s, spec.mode, spec.engine);
    made = !existing;
    await applyObject(s.hosting.client, fleetConfigMap(spec));
    let removedNodes = 0;
    if (spec.mode === "local") {
      const layout = localLayout(s);
      const change = await reconcileLocal(layout, s.hosting.access.server, spec, clock, {
        cluster: await s.targetIdentity(),
        credentials: result.credentials,
      });
      if (change.replaced.length > 0) {
        progress.line(
          `  replaced ${plural(change.replaced.length, "engine process", "engine processes")} started for another cluster at ${s.target.access.server} (${change.clusterChange ?? "another cluster"})`,
        );
      }
      if (change.started.length + change.restarted.length + change.stopped.length > 0) {
        progress.line(
          `  engine processes: ${[
            change.started.length ? `${change.started.length} started` : "",
            change.restarted.length ? `${change.restarted.length} restarted` : "",
            change.stopped.length ? `${change.stopped.length} stopped` : "",
          ]
            .filter(Boolean)
            .join(", ")} (logs in ${layout.dir})`,
        );
      }
    } else {
      const prevUids = new Map(
        (await workloadPods(s)).map((p) => [podOrdinal(p.metadata.name), p.metadata.uid]),
      );
      await applyInCluster(s, spec, existing, false);
      const replicas = shardCount(spec);
      const restarted = existing ? changedShards(existing, spec) : [];
      await waitPodsGone(
        s,
        (pods) =>
          pods.every((p) => {
            const i = podOrdinal(p.metadata.name);
            return i < replicas && !(restarted.includes(i) && prevUids.get(i) === p.metadata.uid);
          }),
        "the pods of removed or resized shards",
      );
    }
    const census = await nodeCensus(s, spec);
    if (census.extra.length > 0) {
      removedNodes = await removeNodes(s, census.extra);
      progress.line(`  removed ${removedNodes} Nodes (and their Leases) no longer backed`);
    }
    const ready = opts.wait ? await waitForFleet(s, spec, opts.timeoutMs, opts.stallMs) : census.ready;
    return {
      spec,
      action: existing ? (existing.nodes === spec.nodes ? "updated" : "scaled") : "created",
      ready,
      removedNodes,
      seconds: seconds(),
      warnings,
    };
  } catch (err) {
    if (made && !(err instanceof KubemarkError && (err.code === "TIMEOUT" || err.code === "START_FAILED"))) {
      // A new fleet that failed half-way: undo it, so nothing half-made is left behind.
      progress.line("  undoing the half-made fleet");
      await cleanupFleet(s, { all: false }).catch(() => undefined);
    }
    throw err;
  }
}

/**
 * Applies the version skew policy to the kubelets a fleet would start: newer than the target's API
 * server is refused unless forced; more than three minor versions older is a warning. Returns the
 * warnings.
 */
function versionSkewWarnings(s: Session, spec: FleetSpec, force: boolean): string[] {
  if (!spec.kubeletVersion) return [];
  const kubelet = spec.kubeletVersion;
  const server = s.target.version;
  const skew = kubeletSkew(kubelet, server);
  const apiMinor = /^v?\d+\.\d+/.exec(server)?.[0] ?? server;
  if (skew.kind === "newer") {
    const what = `kubelet version ${kubelet} is newer than the API server's ${server} at ${s.target.access.server}`;
    if (force)
      return [`${what}; starting them anyway (--force), although the version skew policy forbids it`];
    throw new KubemarkError(
      "BAD_INPUT",
      `${what}: the Kubernetes version skew policy forbids kubelets newer than kube-apiserver`,
      {
        hint: `simulate a kubelet of ${apiMinor} or up to ${MAX_KUBELET_MINORS_BEHIND} minor versions older (e.g. 'create --kubelet-version ${server}', or KUBEMARK_VERSION=${server}), or pass --force to start them anyway`,
      },
    );
  }
  if (skew.kind === "too-old") {
    return [
      `kubelet version ${kubelet} is ${Number.isFinite(skew.minorsBehind) ? `${skew.minorsBehind} minor versions` : "a major version"} older than the API server's ${server}; the version skew policy supports kubelets up to ${MAX_KUBELET_MINORS_BEHIND} minor versions older`,
    ];
  }
  return [];
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function sameSpec(a: FleetSpec, b: FleetSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What `verify` found. */
export interface VerifyReport {
  readonly healthy: boolean;
  readonly fleet: string;
  readonly namespace: string;
  readonly mode: FleetMode;
  readonly desired: number;
  readonly registered: number;
  readonly ready: number;
  readonly notReady: string[];
  readonly unbacked: string[];
  readonly staleLeases: string[];
  readonly missingLeases: string[];
  readonly workload: WorkloadHealth;
  readonly problems: string[];
  /** Commands that fix the problems, with the flags the user gave. */
  readonly fixes: string[];
}

/** Running vs desired engine processes or pods. */
export interface WorkloadHealth {
  readonly desired: number;
  readonly running: number;
  /** One line per process or pod. */
  readonly detail: string[];
  /** The lines of those not running (or running for another cluster). */
  readonly down: string[];
}

interface LeaseItem {
  metadata: { name: string };
  spec?: { renewTime?: string; leaseDurationSeconds?: number };
}

/** `verify`: desired vs registered vs Ready nodes, lease freshness and the workload's health. */
export async function verifyFleet(s: Session): Promise<VerifyReport> {
  const spec = await readFleet(s);
  if (!spec) {
    // Processes recorded here for this address, while the cluster has no fleet: a previous cluster's.
    const rec = await readLocalFleet(localLayout(s));
    const alive = rec ? rec.shards.filter((x) => isDaemonAlive(x)) : [];
    if (rec && alive.length > 0) {
      const moved = await localClusterChange(localLayout(s), rec, await s.targetIdentity());
      throw new KubemarkError(
        "NOT_FOUND",
        `no hollow-node fleet in namespace ${s.namespace} of ${s.hosting.access.server}, yet ${plural(alive.length, "local engine process", "local engine processes")} recorded for that namespace and address ${alive.length === 1 ? "runs" : "run"} (pid ${alive.map((x) => x.pid).join(", ")})${moved ? `: started for another cluster at this address (${moved})` : ""}`,
        {
          hint: `stop them with '${s.suggest("cleanup")}', or replace them with '${s.suggest(`create ${rec.spec.nodes}`)}'`,
        },
      );
    }
    throw new KubemarkError(
      "NOT_FOUND",
      `no hollow-node fleet in namespace ${s.namespace} of ${s.hosting.access.server}`,
      {
        hint: `create one with '${s.suggest("create")}', or pass the -n/--namespace it was created in`,
      },
    );
  }
  const census = await nodeCensus(s, spec);
  const leases = await s.target.client.get<{ items: LeaseItem[] }>(NODE_LEASES);
  const byName = new Map(leases.items.map((l) => [l.metadata.name, l]));
  const now = s.deps.clock.now();
  const staleLeases: string[] = [];
  const missingLeases: string[] = [];
  for (const n of census.nodes) {
    if (census.extra.includes(n.name)) continue;
    const l = byName.get(n.name);
    if (!l?.spec?.renewTime) {
      missingLeases.push(n.name);
      continue;
    }
    const age = (now - Date.parse(l.spec.renewTime)) / 1000;
    if (age > (l.spec.leaseDurationSeconds ?? 40)) staleLeases.push(n.name);
  }
  const workload = await workloadHealth(s, spec);
  const problems: string[] = [];
  if (census.registered < spec.nodes)
    problems.push(`${spec.nodes - census.registered} of ${spec.nodes} nodes not registered`);
  if (census.notReady.length > 0)
    problems.push(
      `${census.notReady.length} nodes NotReady (${census.notReady.slice(0, 3).join(", ")}${census.notReady.length > 3 ? ", ..." : ""})`,
    );
  if (census.extra.length > 0)
    problems.push(
      `${census.extra.length} fleet Nodes past the desired count (${census.extra.slice(0, 3).join(", ")})`,
    );
  if (staleLeases.length > 0)
    problems.push(
      `${staleLeases.length} Leases not renewed within their duration (${staleLeases.slice(0, 3).join(", ")})`,
    );
  if (missingLeases.length > 0)
    problems.push(`${missingLeases.length} nodes without a Lease (${missingLeases.slice(0, 3).join(", ")})`);
  const fixes: string[] = [];
  if (workload.running < workload.desired) {
    problems.push(
      `${workload.desired - workload.running} of ${workload.desired} ${spec.mode === "local" ? "engine processes" : "pods"} not running: ${workload.down.slice(0, 3).join("; ")}${workload.down.length > 3 ? `; and ${workload.down.length - 3} more` : ""}`,
    );
    fixes.push(
      spec.mode === "local"
        ? `'${s.suggest(`create ${spec.nodes}`)}' restarts them (their Nodes are adopted, not duplicated); '${s.suggest("logs")}' shows why they stopped`
        : `'${s.suggest("logs")}' and 'kubectl describe pod -n ${s.namespace} -l name=hollow-node' show why`,
    );
  }
  if (problems.length > 0 && fixes.length === 0)
    fixes.push(`see '${s.suggest("list -o wide")}' and '${s.suggest("logs")}'`);
  return {
    healthy: problems.length === 0,
    fleet: s.fleet,
    namespace: s.namespace,
    mode: spec.mode,
    desired: spec.nodes,
    registered: census.registered,
    ready: census.ready,
    notReady: census.notReady,
    unbacked: census.extra,
    staleLeases,
    missingLeases,
    workload,
    problems,
    fixes,
  };
}

/**
 * A local fleet's processes against its spec: each one running, not running, or running for
 * another cluster than the current one (`moved` says how it differs).
 */
export function localWorkloadHealth(
  spec: Pick<FleetSpec, "nodes" | "nodesPerShard">,
  rec: Pick<LocalFleetRecord, "shards"> | undefined,
  isAlive: (shard: LocalShard) => boolean,
  moved: string | undefined,
): WorkloadHealth {
  const desired = shardCount(spec);
  const detail: string[] = [];
  const down: string[] = [];
  let running = 0;
  for (let i = 0; i < desired; i++) {
    const sh = rec?.shards.find((x) => x.shard === i);
    const alive = sh !== undefined && isAlive(sh);
    const what = `process ${i} (pid ${sh?.pid ?? "-"}, ${shardNodes(spec, i)} nodes)`;
    if (alive && !moved) {
      running++;
      detail.push(`${what} running`);
      continue;
    }
    const line = alive ? `${what} runs for another cluster (${moved})` : `${what} not running`;
    detail.push(line);
    down.push(line);
  }
  return { desired, running, detail, down };
}

/** Running vs desired engine processes or pods, one detail line each. */
async function workloadHealth(s: Session, spec: FleetSpec): Promise<WorkloadHealth> {
  const desired = shardCount(spec);
  if (spec.mode === "local") {
    const layout = localLayout(s);
    const rec = await readLocalFleet(layout);
    const moved = rec ? await localClusterChange(layout, rec, await s.targetIdentity()) : undefined;
    return localWorkloadHealth(spec, rec, isDaemonAlive, moved);
  }
  const pods = await workloadPods(s);
  let running = 0;
  const detail: string[] = [];
  const down: string[] = [];
  const sorted = pods.sort((a, b) => podOrdinal(a.metadata.name) - podOrdinal(b.metadata.name));
  for (let i = 0; i < desired; i++) {
    const p = sorted.find((x) => podOrdinal(x.metadata.name) === i);
    if (!p) {
      const line = `pod ${WORKLOAD_NAME}-${i} (${shardNodes(spec, i)} nodes) missing`;
      detail.push(line);
      down.push(line);
    }
  }
  for (const p of sorted) {
    const st = podState(p);
    const restarts = p.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const line = `pod ${p.metadata.name} (${shardNodes(spec, podOrdinal(p.metadata.name))} nodes${restarts ? `, ${restarts} restarts` : ""}) ${st}`;
    detail.push(line);
    if (st === "Running") running++;
    else down.push(line);
  }
  return { desired, running, detail, down };
}

/** What `list` shows. */
export interface ListReport {
  readonly spec: FleetSpec | undefined;
  readonly namespace: string;
  readonly workload: WorkloadHealth;
  readonly ready: number;
  readonly notReady: number;
  readonly nodes: NodeCensus["nodes"];
  readonly localDir: string | undefined;
}

/** `list`: the workload, its processes or pods, and Node counts. */
export async function listFleet(s: Session): Promise<ListReport> {
  const spec = await readFleet(s);
  if (!spec)
    return {
      spec,
      namespace: s.namespace,
      workload: { desired: 0, running: 0, detail: [], down: [] },
      ready: 0,
      notReady: 0,
      nodes: [],
      localDir: undefined,
    };
  const census = await nodeCensus(s, spec);
  const ready = census.nodes.filter((n) => n.ready).length;
  return {
    spec,
    namespace: s.namespace,
    workload: await workloadHealth(s, spec),
    ready,
    notReady: census.nodes.length - ready,
    nodes: census.nodes,
    localDir: spec.mode === "local" ? localLayout(s).dir : undefined,
  };
}

/** `logs [NODE]`: a node's log (or every engine's) wherever it runs. */
export async function fleetLogs(s: Session, node: string | undefined, tail: number): Promise<string> {
  const spec = await readFleet(s);
  if (!spec) {
    throw new KubemarkError("NOT_FOUND", `no hollow-node fleet in namespace ${s.namespace}`, {
      hint: `run '${s.suggest("list")}' to see what exists`,
    });
  }
  const last = (text: string): string => {
    const lines = text.trimEnd().split("\n");
    return lines.slice(-tail).join("\n") + "\n";
  };
  let index: number | undefined;
  if (node !== undefined) {
    index = nodeIndex(node, spec.namePrefix);
    if (index === undefined || index >= spec.nodes) {
      throw new KubemarkError(
        "NOT_FOUND",
        `${node} is not a node of fleet ${s.fleet} (${spec.namePrefix}-0 .. ${spec.namePrefix}-${spec.nodes - 1})`,
        {
          hint: `'${s.suggest("list -o wide")}' lists its nodes`,
        },
      );
    }
  }
  if (spec.mode === "local") {
    const layout = localLayout(s);
    if (node !== undefined) {
      const { readFile } = await import("node:fs/promises");
      const text = await readFile(`${layout.nodeLogs}/${node}.log`, "utf8").catch(() => undefined);
      if (text === undefined)
        throw new KubemarkError("NOT_FOUND", `no log for ${node} yet in ${layout.nodeLogs}`);
      return last(text);
    }
    const out: string[] = [];
    for (let i = 0; i < shardCount(spec); i++)
      out.push(`==> engine process ${i} <==\n${last(await logTail(layout.shardLog(i), tail))}`);
    return out.join("");
  }
  const shards =
    node !== undefined ? [Math.floor(index! / spec.nodesPerShard)] : [...Array(shardCount(spec)).keys()];
  const out: string[] = [];
  for (const i of shards) {
    const pod = `${WORKLOAD_NAME}-${i}`;
    const text = await s.hosting.client
      .getText(`/api/v1/namespaces/${s.namespace}/pods/${pod}/log`, {
        tailLines: node === undefined ? tail : 5000,
      })
      .catch((err: unknown) => `(no log: ${describeError(err)})`);
    const lines =
      node === undefined
        ? text
        : text
            .split("\n")
            .filter((l) => l.includes(`"node":"${node}"`))
            .join("\n");
    out.push(node === undefined ? `==> pod ${pod} <==\n${last(lines)}` : last(lines));
  }
  return out.join("");
}

/** What `cleanup` removed. */
export interface CleanupResult {
  readonly nodes: number;
  readonly processes: number;
  readonly objects: string[];
  readonly namespaces: string[];
  readonly keptNamespaces: string[];
}

/**
 * `cleanup`: removes the workload (local processes or StatefulSet), the Nodes the fleet created
 * (its ownership label and `hollow-node=true`) with their Leases, and its objects and RBAC in both
 * clusters; `all` also deletes the namespace when the CLI created it. Safe to run twice; never
 * touches a Node without the fleet's label.
 */
export async function cleanupFleet(s: Session, opts: { all: boolean }): Promise<CleanupResult> {
  const ns = s.namespace;
  const objects: string[] = [];
  const gone = async (client: KubeClient, kind: string, name: string, namespace?: string): Promise<void> => {
    if (await deleteObject(client, objectPath(kind, name, namespace), { propagationPolicy: "Background" })) {
      objects.push(`${kind.toLowerCase()}/${name}${namespace ? ` -n ${namespace}` : ""}`);
    }
  };
  // 1. Stop what runs the nodes, so none re-registers while it is being removed.
  const processes = await removeLocal(localLayout(s), s.deps.clock);
  await gone(s.hosting.client, "StatefulSet", WORKLOAD_NAME, ns);
  const nsPresent = await namespaceExists(s.hosting.client, ns);
  if (nsPresent) await waitPodsGone(s, (pods) => pods.length === 0, "the hollow-node pods");
  // 2. The Nodes it made, and their Leases.
  const list = await s.target.client.get<{ items: NodeItem[] }>("/api/v1/nodes", {
    labelSelector: `${FLEET_LABEL}=${s.fleet},${HOLLOW_LABEL}=true`,
  });
  const nodes = await removeNodes(
    s,
    list.items.map((n) => n.metadata.name),
  );
  // 3. Its objects and RBAC.
  for (const name of [FLEET_CONFIGMAP, ENGINE_CONFIGMAP, KUBEMARK_KUBECONFIG])
    await gone(s.hosting.client, "ConfigMap", name, ns);
  await gone(s.hosting.client, "Service", WORKLOAD_NAME, ns);
  await gone(s.hosting.client, "Secret", TARGET_SECRET, ns);
  for (const client of s.twoCluster ? [s.hosting.client, s.target.client] : [s.hosting.client]) {
    await gone(client, "Secret", TOKEN_SECRET, ns);
    await gone(client, "ServiceAccount", WORKLOAD_NAME, ns);
  }
  const role = clusterRoleName(s.fleet);
  await gone(s.target.client, "ClusterRoleBinding", role);
  await gone(s.target.client, "ClusterRole", role);
  await gone(s.target.client, "RoleBinding", role, "kube-node-lease");
  await gone(s.target.client, "Role", role, "kube-node-lease");
  const namespaces: string[] = [];
  const keptNamespaces: string[] = [];
  if (opts.all) {
    for (const [client, where] of s.twoCluster
      ? ([
          [s.hosting.client, "hosting"],
          [s.target.client, "target"],
        ] as const)
      : ([[s.hosting.client, "cluster"]] as const)) {
      const obj = await getObject<KubeObject & { metadata: { deletionTimestamp?: string } }>(
        client,
        objectPath("Namespace", ns),
      );
      if (!obj || obj.metadata.deletionTimestamp) continue;
      if (obj.metadata.labels?.[FLEET_LABEL] === s.fleet) {
        await deleteObject(client, objectPath("Namespace", ns));
        namespaces.push(`${ns} (${where})`);
      } else keptNamespaces.push(`${ns} (${where})`);
    }
  }
  return { nodes, processes, objects, namespaces, keptNamespaces };
}

/** Local fleet record for `list` of a local fleet (pids and log paths). */
export async function localRecord(s: Session): Promise<LocalFleetRecord | undefined> {
  return readLocalFleet(localLayout(s));
}

/**
 * Where the engine runs when `create` is not told: as local processes against the project's own
 * control plane when it has no real workers (no kubelet could run the pods), else as pods.
 */
export function defaultMode(hosting: Pick<Endpoint, "localCluster" | "localWorkers">): FleetMode {
  return hosting.localCluster !== undefined && hosting.localWorkers === 0 ? "local" : "in-cluster";
}

/**
 * The target API server address as hollow-node pods reach it. Pods on a local cluster's real
 * workers cannot reach this machine's loopback; the workers' relay serves every local API server
 * port at the Service address, which every local API server certificate names.
 */
export function podReachableServer(hosting: Pick<Endpoint, "localWorkers">, server: string): string {
  if (hosting.localWorkers === 0) return server;
  const m = /^https:\/\/(127\.0\.0\.1|localhost):(\d+)\/?$/.exec(server);
  return m ? `https://${SERVICE_IP}:${m[2]}` : server;
}
