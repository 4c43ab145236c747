/*
 * One node's usage at a time (#19): what its stats endpoints render. The figures come from the
 * usage curves in closed form; the little state kept per pod makes the cumulative CPU counters
 * monotonic when the model changes under a running container (an annotation edited for an HPA
 * test, an in-place resize) and when containers or pods go away, as a cgroup's counter is.
 *
 * State per running container: its curves and a counter offset (~200 bytes, made once when
 * the container is first sampled and reused by every later sample); per pod: the annotations it
 * was resolved from. Pods the view no longer lists are dropped at the next sample, so the maps
 * hold exactly the node's running pods, and nothing at all until the node is first scraped.
 */
import type { NodeApiView, UsageContainer, UsagePod } from "../kubelet-api/node-view.ts";
import {
  containerCurves,
  usageAnnotationsKey,
  type ContainerCurves,
  type UsageProblem,
} from "./usage-annotations.ts";
import { curveAt, curveIntegral, sameCurve, seedOf, type UsageCurve } from "./usage-curve.ts";
import type { UsageDefaults } from "./usage-defaults.ts";

/** A running container's figures at the last sample, and what they are computed from. */
export interface ContainerUsage {
  readonly pod: PodUsage;
  readonly name: string;
  /** The current run's start (ms since the epoch). */
  startedAtMs: number;
  /** Cumulative CPU time of the current run, nanoseconds. */
  cpuNs: number;
  /** CPU rate at the sample, nanocores. */
  cpuNanoCores: number;
  /** Memory working set, bytes. */
  memoryBytes: number;
  /** The memory limit (bytes) if set: the kubelet reports availableBytes against it. */
  memoryLimitBytes: number | undefined;
  /** The image of the current run, as the spec names it ("" when unset). */
  readonly image: string;
  // Model state.
  cpu: UsageCurve;
  memory: UsageCurve;
  /** Seeds the container's noise (its pod uid and name; memory's is derived). */
  seed: number;
  cpuRequestMilli: number | undefined;
  cpuLimitMilli: number | undefined;
  memoryRequestBytes: number | undefined;
  /** counter(t) = offsetNs + integral of `cpu` from `fromMs` to t. */
  offsetNs: number;
  fromMs: number;
}

/** A running pod's figures at the last sample (sums over its running containers). */
export interface PodUsage {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  startedAtMs: number;
  containers: ContainerUsage[];
  /** Cumulative CPU of the pod cgroup: current runs plus runs that ended (a cgroup's counter never goes back). */
  cpuNs: number;
  cpuNanoCores: number;
  memoryBytes: number;
  /** Sum of the containers' memory limits when every container has one (the pod cgroup's limit). */
  memoryLimitBytes: number | undefined;
  /** Bytes received and sent on the pod's interface since it started (the `pod-rx`/`pod-tx` rates). */
  rxBytes: number;
  txBytes: number;
  // Model state.
  annotations: Readonly<Record<string, string>>;
  /** The usage annotations the curves were resolved from ("" for none: most pods). */
  usageKey: string;
  endedRunsNs: number;
  generation: number;
  reported: Set<string> | undefined;
}

/** The node's figures at the last sample. Owned by {@link NodeUsage} and overwritten by its next sample. */
export interface NodeUsageSample {
  atMs: number;
  /** Cumulative CPU of the node since its start: system overhead, running pods, pods gone. */
  cpuNs: number;
  cpuNanoCores: number;
  memoryBytes: number;
  /** Bytes received and sent: its pods', gone ones included. */
  rxBytes: number;
  txBytes: number;
  /** Running pods, by namespace then name (the kubelet's summary order is its own; this one is stable). */
  readonly pods: PodUsage[];
  /** Running containers, in the order Prometheus' registry sorts `{container,namespace,pod}` series. */
  readonly containers: ContainerUsage[];
  runningContainers: number;
  /** Pods the view lists (started, not terminated: a running sandbox), whether or not a container runs yet. */
  sandboxes: number;
}

/** Derives a container's memory noise seed from its CPU one. */
const MEMORY_SALT = 0x15bd1e99;

const comparePods = (a: PodUsage, b: PodUsage): number =>
  a.namespace < b.namespace
    ? -1
    : a.namespace > b.namespace
      ? 1
      : a.name < b.name
        ? -1
        : a.name > b.name
          ? 1
          : 0;

const compareContainers = (a: ContainerUsage, b: ContainerUsage): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : comparePods(a.pod, b.pod);

/** The usage model of one node; call {@link sample} before each render. */
export class NodeUsage {
  private readonly podsByUid = new Map<string, PodUsage>();
  private generation = 0;
  private endedPodsNs = 0;
  private endedPodsRx = 0;
  private endedPodsTx = 0;
  private problems: UsageProblem[] = [];
  /** Problems of the pod being sampled (reused: no allocation per pod and sample). */
  private readonly scratch: UsageProblem[] = [];
  /** The last sample's time: a model change is taken to apply from it. */
  private previousAtMs = 0;
  /** Curves shared by the node's containers (most of a node's containers have one of a few). */
  private readonly curves = new Map<string, UsageCurve>();
  private readonly systemSeed: number;
  private readonly systemCpu: UsageCurve;
  private readonly systemMemory: UsageCurve;
  /** The last sample; its arrays are reused. */
  readonly last: NodeUsageSample = {
    atMs: 0,
    cpuNs: 0,
    cpuNanoCores: 0,
    memoryBytes: 0,
    rxBytes: 0,
    txBytes: 0,
    pods: [],
    containers: [],
    runningContainers: 0,
    sandboxes: 0,
  };

  readonly defaults: UsageDefaults;

  /** `nodeName` seeds the node's own noise. */
  constructor(defaults: UsageDefaults, nodeName: string) {
    this.defaults = defaults;
    this.systemSeed = seedOf(nodeName);
    const curve = (v: number): UsageCurve => ({
      kind: "const",
      lo: v,
      hi: v,
      periodMs: 0,
      duty: 0,
      noiseAmp: defaults.noise * v,
      noiseStepMs: defaults.noiseStepMs,
    });
    this.systemCpu = curve(defaults.systemCpuMilli);
    this.systemMemory = curve(defaults.systemMemoryBytes);
  }

  /** One object per distinct curve: a node's containers share the few they have. */
  private intern(c: UsageCurve): UsageCurve {
    const key = `${c.kind} ${c.lo} ${c.hi} ${c.periodMs} ${c.duty} ${c.noiseAmp} ${c.noiseStepMs}`;
    const known = this.curves.get(key);
    if (known !== undefined) return known;
    if (this.curves.size >= 256) this.curves.clear();
    this.curves.set(key, c);
    return c;
  }

  private internCurves(c: ContainerCurves): ContainerCurves {
    return { cpu: this.intern(c.cpu), memory: this.intern(c.memory) };
  }

  /** Problems found since the last call (each bad annotation value once per pod), for the caller to log. */
  takeProblems(): UsageProblem[] {
    const p = this.problems;
    if (p.length > 0) this.problems = [];
    return p;
  }

  /** The node's own CPU time (system overhead, without pods) from its start to `atMs`, nanoseconds. */
  systemCpuNs(view: NodeApiView, atMs: number): number {
    return 1000 * curveIntegral(this.systemCpu, this.systemSeed, view.startedAtMs, atMs);
  }

  /** Brings every figure to `nowMs` and returns them (the same object each time). */
  sample(view: NodeApiView, nowMs: number): NodeUsageSample {
    const s = this.last;
    // A sample earlier than the last one (two requests racing) must not move a counter back.
    const now = Math.max(nowMs, s.atMs);
    this.previousAtMs = s.atMs;
    const gen = ++this.generation;
    s.pods.length = 0;
    s.containers.length = 0;
    let podsCpuNs = 0;
    let podsNanoCores = 0;
    let podsMemory = 0;
    let podsRx = 0;
    let podsTx = 0;
    let sandboxes = 0;
    for (const pod of view.usagePods()) {
      sandboxes++;
      const p = this.podState(pod, now, gen);
      if (!p) continue;
      s.pods.push(p);
      for (const c of p.containers) s.containers.push(c);
      podsCpuNs += p.cpuNs;
      podsNanoCores += p.cpuNanoCores;
      podsMemory += p.memoryBytes;
      podsRx += p.rxBytes;
      podsTx += p.txBytes;
    }
    for (const [uid, p] of this.podsByUid) {
      if (p.generation === gen) continue;
      // Gone: its CPU time stays in the node's counter, as in the root cgroup's.
      this.endedPodsNs += p.cpuNs;
      this.endedPodsRx += p.rxBytes;
      this.endedPodsTx += p.txBytes;
      this.podsByUid.delete(uid);
    }
    s.pods.sort(comparePods);
    s.containers.sort(compareContainers);
    s.atMs = now;
    s.cpuNs = this.systemCpuNs(view, now) + this.endedPodsNs + podsCpuNs;
    s.cpuNanoCores = 1e6 * curveAt(this.systemCpu, this.systemSeed, now) + podsNanoCores;
    s.memoryBytes = Math.round(curveAt(this.systemMemory, this.systemSeed ^ MEMORY_SALT, now)) + podsMemory;
    s.rxBytes = this.endedPodsRx + podsRx;
    s.txBytes = this.endedPodsTx + podsTx;
    s.runningContainers = s.containers.length;
    s.sandboxes = sandboxes;
    return s;
  }

  /** The pod's state brought to `now`; undefined when none of its containers runs yet. */
  private podState(pod: UsagePod, now: number, gen: number): PodUsage | undefined {
    let p = this.podsByUid.get(pod.uid);
    if (p === undefined) {
      p = {
        namespace: pod.namespace,
        name: pod.name,
        uid: pod.uid,
        startedAtMs: pod.startedAtMs,
        containers: [],
        cpuNs: 0,
        cpuNanoCores: 0,
        memoryBytes: 0,
        memoryLimitBytes: undefined,
        rxBytes: 0,
        txBytes: 0,
        annotations: pod.annotations,
        usageKey: usageAnnotationsKey(pod.annotations),
        endedRunsNs: 0,
        generation: gen,
        reported: undefined,
      };
      this.podsByUid.set(pod.uid, p);
    } else if (p.generation === gen) return undefined; // listed twice
    p.generation = gen;
    p.startedAtMs = pod.startedAtMs;
    // A new annotations object (an update of the pod) resolves the curves again only when its
    // usage annotations changed.
    let reresolve = false;
    if (p.annotations !== pod.annotations) {
      p.annotations = pod.annotations;
      const key = usageAnnotationsKey(pod.annotations);
      reresolve = key !== p.usageKey;
      p.usageKey = key;
    }
    const problems = this.scratch;
    problems.length = 0;
    // The container list is rebuilt only when it changed (a start, a restart, an exit).
    let kept: ContainerUsage[] | undefined;
    let running = 0;
    let cpuNs = 0;
    let nanoCores = 0;
    let memory = 0;
    let limit: number | undefined = 0;
    for (const c of pod.containers) {
      if (c.startedAtMs === undefined || c.startedAtMs >= now) continue;
      const cu = this.containerState(p, c, now, reresolve, problems);
      if (kept === undefined && p.containers[running] !== cu) kept = p.containers.slice(0, running);
      kept?.push(cu);
      running++;
      cpuNs += cu.cpuNs;
      nanoCores += cu.cpuNanoCores;
      memory += cu.memoryBytes;
      limit =
        limit === undefined || cu.memoryLimitBytes === undefined ? undefined : limit + cu.memoryLimitBytes;
    }
    if (kept === undefined && running !== p.containers.length) kept = p.containers.slice(0, running);
    if (kept !== undefined) {
      // Runs that ended (a container gone from the list) stay in the pod cgroup's counter.
      for (const old of p.containers) if (!kept.includes(old)) p.endedRunsNs += old.cpuNs;
      p.containers = kept.slice(); // exact size: a grown array keeps room for 17
    }
    for (const problem of problems) {
      p.reported ??= new Set();
      if (p.reported.has(problem.message)) continue;
      p.reported.add(problem.message);
      this.problems.push(problem);
    }
    if (running === 0) {
      this.podsByUid.delete(pod.uid);
      this.endedPodsNs += p.endedRunsNs;
      this.endedPodsRx += p.rxBytes;
      this.endedPodsTx += p.txBytes;
      return undefined;
    }
    p.cpuNs = p.endedRunsNs + cpuNs;
    p.cpuNanoCores = nanoCores;
    p.memoryBytes = memory;
    p.memoryLimitBytes = limit;
    const upSeconds = Math.max(0, now - p.startedAtMs) / 1000;
    p.rxBytes = Math.floor(this.defaults.podRxBytesPerSecond * upSeconds);
    p.txBytes = Math.floor(this.defaults.podTxBytesPerSecond * upSeconds);
    return p;
  }

  private containerState(
    p: PodUsage,
    c: UsageContainer,
    now: number,
    reresolve: boolean,
    problems: UsageProblem[],
  ): ContainerUsage {
    const d = this.defaults;
    let cu: ContainerUsage | undefined;
    for (const x of p.containers) if (x.name === c.name) cu = x;
    if (cu === undefined || cu.startedAtMs !== c.startedAtMs) {
      // A new run: its counter starts from zero at its start, as a new container's cgroup does
      // (the ended run's time moves to the pod's counter below, as it leaves the list).
      const curves = this.internCurves(containerCurves(p, c, d, problems));
      const seed = seedOf(`${p.uid}/${c.name}`) >>> 2; // 30 bits: a small integer, no heap number
      cu = {
        pod: p,
        name: c.name,
        startedAtMs: c.startedAtMs!,
        cpuNs: 0,
        cpuNanoCores: 0,
        memoryBytes: 0,
        memoryLimitBytes: c.memoryLimitBytes,
        image: c.image ?? "",
        cpu: curves.cpu,
        memory: curves.memory,
        seed,
        cpuRequestMilli: c.cpuRequestMilli,
        cpuLimitMilli: c.cpuLimitMilli,
        memoryRequestBytes: c.memoryRequestBytes,
        offsetNs: 0,
        fromMs: c.startedAtMs!,
      };
    } else if (
      reresolve ||
      cu.cpuRequestMilli !== c.cpuRequestMilli ||
      cu.cpuLimitMilli !== c.cpuLimitMilli ||
      cu.memoryRequestBytes !== c.memoryRequestBytes ||
      cu.memoryLimitBytes !== c.memoryLimitBytes
    ) {
      const curves = this.internCurves(containerCurves(p, c, d, problems));
      if (!sameCurve(curves.cpu, cu.cpu)) {
        // The model changed since the last sample: the counter keeps what it reported then and
        // goes on at the new rate from there, so the next window shows the new usage.
        const at = Math.max(cu.fromMs, Math.min(this.previousAtMs, now));
        cu.offsetNs += 1000 * curveIntegral(cu.cpu, cu.seed, cu.fromMs, at);
        cu.fromMs = at;
        cu.cpu = curves.cpu;
      }
      cu.memory = curves.memory;
      cu.cpuRequestMilli = c.cpuRequestMilli;
      cu.cpuLimitMilli = c.cpuLimitMilli;
      cu.memoryRequestBytes = c.memoryRequestBytes;
      cu.memoryLimitBytes = c.memoryLimitBytes;
    }
    cu.cpuNs = cu.offsetNs + 1000 * curveIntegral(cu.cpu, cu.seed, cu.fromMs, now);
    cu.cpuNanoCores = 1e6 * curveAt(cu.cpu, cu.seed, now);
    cu.memoryBytes = Math.round(curveAt(cu.memory, cu.seed ^ MEMORY_SALT, now));
    return cu;
  }
}
