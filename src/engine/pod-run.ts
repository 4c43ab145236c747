/*
 * A pod's run on its hollow node, from start to the end of its containers: the thin shell that
 * carries out pod-stage.ts's transitions (what comes next, and when) on the engine's queue and
 * sets each stage's status, as the kubelet's pod worker does; the node's status manager writes
 * them (status-manager.ts), and the run never waits for the API server.
 */
import { isNotFound } from "../client/api-error.ts";
import { TOKEN_REQUEST } from "../client/protobuf-types.ts";
import { requeueDelayMs } from "../kernel/backoff.ts";
import { describeError } from "../kernel/errors.ts";
import { initFailure, type InitFailure } from "./container-run.ts";
import type { PodIpAllocator } from "./ip-pool.ts";
import type { NodeHandle } from "./node-handle.ts";
import { rfc3339 } from "./node-object.ts";
import { tokenRequests } from "./pod-object.ts";
import {
  STAGES,
  containerExit,
  containerExitStep,
  initExitStep,
  initFailsAgain,
  perContainerExits,
  podEndStage,
  runningPlan,
  sandboxReadyAt,
  setupStages,
  startStepDue,
  type PodStage,
} from "./pod-stage.ts";
import type { ContainerState, PodState } from "./pod-state.ts";
import { containerDown } from "./pod-status.ts";

/** What a pod's run uses of its node's pod lifecycle. */
export interface PodRunner {
  readonly node: NodeHandle;
  /** The node's pod address allocator. */
  allocator(): PodIpAllocator | undefined;
  /**
   * Sets the pod's status for `stage` (SetPodStatus): the node's status manager writes it soon,
   * the newest when several come during one write; never waited for.
   */
  setPodStatus(st: PodState, stage: PodStage, finishedAt?: string): void;
  /**
   * Whether the pod's volumes are attached and mounted; when not, the pod's start is resumed
   * once they are (pods without CSI volumes: always true).
   */
  volumesReady(st: PodState): boolean;
}

/**
 * Starts a pod: tokens, the kubelet's first report, the sandbox (after its volumes, taking the
 * start-up latency), init containers, then Running and Ready with a unique IP. Entered again
 * (queued) when a wait ends or a write failed: it goes on from the last stage written.
 */
export async function startPod(run: PodRunner, st: PodState): Promise<void> {
  const { node } = run;
  const { ctx } = node;
  if (!st.alive || st.deleting) return;
  if (!STAGES[st.stage].starting) return;
  let initializing = st.stage === "initializing";
  try {
    if (!st.ip) {
      st.ip = st.pod.spec.hostNetwork ? node.id.ip : (run.allocator()?.allocate() ?? "");
      if (!st.ip) {
        // As the kubelet retries sandbox creation: the pod starts once an address is released.
        node.log.warn({ node: node.id.name, pod: `${st.namespace}/${st.name}` }, "no free pod IP; retrying");
        ctx.queue.after(requeueDelayMs(ctx.random), () => startPod(run, st));
        return;
      }
    }
    const kubelet = ctx.cfg.traffic === "kubelet";
    if (kubelet && st.stage === "new") {
      const tokens = ctx.cfg.skipped.includes("tokens") ? [] : tokenRequests(st.pod);
      for (const t of tokens) {
        await node
          .api({
            method: "POST",
            path: `/api/v1/namespaces/${st.namespace}/serviceaccounts/${st.pod.spec.serviceAccountName ?? "default"}/token`,
            body: {
              apiVersion: "authentication.k8s.io/v1",
              kind: "TokenRequest",
              spec: {
                ...(t.audience ? { audiences: [t.audience] } : {}),
                expirationSeconds: t.expirationSeconds,
                boundObjectRef: { apiVersion: "v1", kind: "Pod", name: st.name, uid: st.uid },
              },
            },
            ...ctx.proto(TOKEN_REQUEST),
          })
          .catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
      }
      // Deleted (or forgotten) while its tokens were requested: the deletion takes it from here.
      if (!st.alive || st.deleting) return;
    }
    // The kubelet's first report, while it sets up the sandbox; then the sandbox ready, the init
    // containers. Stages written before (a wait or a failed write came between) are not again.
    const stages = setupStages(st.pod, kubelet, st.sandboxMs);
    const written = stages.indexOf(st.stage as PodStage);
    for (const [i, stage] of stages.entries()) {
      if (i <= written) continue;
      if (stage !== "creating" && !due(run, st, stage)) return;
      run.setPodStatus(st, stage);
      if (stage === "initializing") initializing = true;
    }
    if (!due(run, st, "running")) return;
    const fail = initFailure(st.pod);
    if (fail) {
      // A failing init container shows, whatever the traffic profile.
      if (!initializing) run.setPodStatus(st, "initializing");
      scheduleInitExit(run, st, fail);
      return;
    }
    finishStart(run, st);
  } catch (err) {
    node.log.warn(
      { node: node.id.name, pod: `${st.namespace}/${st.name}`, err: describeError(err) },
      "pod start failed; retrying",
    );
    if (st.alive && !st.deleting) ctx.queue.after(requeueDelayMs(ctx.random), () => startPod(run, st));
  }
}

/**
 * Whether a starting pod may go on to `step` now: its volumes are mounted (the sandbox waits for
 * them, as WaitForAttachAndMount; the volume manager starts the pod again once they are) and the
 * start-up latency has passed (pod-stage.ts's {@link startStepDue}); when not, it is started
 * again when it has.
 */
function due(run: PodRunner, st: PodState, step: PodStage): boolean {
  const { ctx } = run.node;
  if (!run.volumesReady(st)) return false;
  const sandboxMs = st.sandboxMs ?? 0;
  const now = ctx.clock.now();
  st.sandboxAt ??= sandboxReadyAt(st.seenAt, st.claims ? now : undefined, sandboxMs);
  const at = startStepDue(step, st.sandboxAt, sandboxMs, ctx.cfg.podStartLatency.containersMs);
  if (at <= now) return true;
  ctx.queue.schedule(at, () => startPod(run, st));
  return false;
}

/** The init containers have completed: the main containers run from now. */
function finishStart(run: PodRunner, st: PodState): void {
  const { ctx } = run.node;
  st.runningAt = rfc3339(ctx.clock.now());
  st.initIndex = undefined;
  st.backoffMs = undefined;
  if (!st.alive || st.deleting) return;
  enterRunning(run, st);
  st.sandboxMs = undefined;
  st.sandboxAt = undefined;
  ctx.metrics.podStarted(ctx.clock.now() - st.seenAt);
}

/**
 * A failing init container's run ends: with restartPolicy Never the pod fails; otherwise the
 * kubelet restarts it with the back-off (at once, then 10 s doubling, in CrashLoopBackOff),
 * until a run succeeds (`init-failures`) and the pod goes on to its main containers.
 */
function scheduleInitExit(run: PodRunner, st: PodState, fail: InitFailure): void {
  const { ctx } = run.node;
  st.initIndex = fail.index;
  const startedAt = st.initRunningAt ?? st.startedAt;
  const at = Math.max(ctx.clock.now(), Date.parse(startedAt) + fail.runMs);
  ctx.queue.schedule(at, () => {
    if (!st.alive || st.deleting) return;
    const finishedAt = rfc3339(ctx.clock.now());
    st.initFails = (st.initFails ?? 0) + 1;
    st.initLastRun = { exitCode: fail.exitCode, startedAt, finishedAt };
    st.exitCode = fail.exitCode;
    const step = initExitStep(st.pod.spec.restartPolicy, st.initFails);
    if (step.stage === "failed") {
      st.initFailed = true;
      run.setPodStatus(st, "failed", finishedAt);
      return;
    }
    const next = (): void => {
      if (!st.alive || st.deleting) return;
      st.backoffMs = undefined;
      st.initRestarts = (st.initRestarts ?? 0) + 1;
      st.initRunningAt = rfc3339(ctx.clock.now());
      run.setPodStatus(st, "initializing");
      if (initFailsAgain(st.initFails ?? 0, fail.times)) scheduleInitExit(run, st, fail);
      else finishStart(run, st);
    };
    const delay = step.delayMs;
    if (delay === 0) {
      next();
      return;
    }
    st.backoffMs = delay;
    run.setPodStatus(st, "initializing");
    ctx.queue.after(delay, next);
  });
}

/**
 * The containers run from now (`runningAt`): the Running status, `started` and `ready` as far as
 * the startup and readiness probes allow, a status when each probe passes (as the kubelet's
 * status manager writes one per change), then the exit when the run model has one; the times
 * are pod-stage.ts's {@link runningPlan}.
 */
function enterRunning(run: PodRunner, st: PodState): void {
  const { ctx } = run.node;
  const plan = runningPlan(st.pod);
  st.notStarted = plan.notStarted || undefined;
  st.unready = plan.unready || undefined;
  st.readyAt = undefined;
  run.setPodStatus(st, "running");
  const runningAt = st.runningAt;
  const start = Date.parse(runningAt);
  const same = (): boolean =>
    st.alive && !st.deleting && st.stage === "running" && st.runningAt === runningAt;
  if (plan.startedAtMs !== undefined) {
    ctx.queue.schedule(start + plan.startedAtMs, () => {
      if (!same()) return;
      st.notStarted = undefined;
      run.setPodStatus(st, "running");
    });
  }
  const setReady = (ready: boolean, at: number): void => {
    if (!same() || !st.unready === ready) return;
    st.notStarted = undefined;
    st.unready = ready ? undefined : true;
    st.readyAt = rfc3339(at);
    run.setPodStatus(st, "running");
  };
  if (plan.readyAtMs !== undefined) {
    const at = start + plan.readyAtMs;
    ctx.queue.schedule(at, () => setReady(true, at));
  }
  // Probes made to fail by the pod's annotations: readiness lost, or flapping.
  if (plan.unreadyAtMs !== undefined) {
    const at = start + plan.unreadyAtMs;
    ctx.queue.schedule(at, () => setReady(false, at));
  } else if (plan.flap !== undefined) {
    const period = plan.flap.periodMs;
    const flip = (at: number, ready: boolean): void => {
      if (!same()) return;
      setReady(ready, at);
      ctx.queue.schedule(at + period, () => flip(at + period, !ready));
    };
    const first = start + plan.flap.firstMs;
    ctx.queue.schedule(first, () => flip(first, false));
  }
  scheduleExit(run, st, plan.killAtMs);
}

/**
 * When the pod's containers exit on their own ({@link containerExit}), the kubelet's
 * restartPolicy decides ({@link containerExitStep}): the pod ends Succeeded or Failed, or the
 * containers restart with the kubelet's back-off, in CrashLoopBackOff in between.
 */
export function scheduleExit(run: PodRunner, st: PodState, killAtMs?: number): void {
  const { ctx } = run.node;
  if (st.stage !== "running") return;
  const own = perContainerExits(st.pod, ctx.cfg, killAtMs);
  if (own !== undefined) {
    // The containers do not run alike: each exits and restarts on its own.
    st.containers ??= own.map(() => ({ runningAt: st.runningAt, restarts: 0, exits: 0 }));
    for (const [i, exit] of own.entries()) if (exit) scheduleContainerExit(run, st, i, exit);
    return;
  }
  const out = containerExit(st.pod, ctx.cfg, killAtMs);
  if (out === undefined) return;
  const runningAt = st.runningAt;
  ctx.queue.schedule(Date.parse(runningAt) + out.afterMs, () => {
    if (!st.alive || st.deleting || st.stage !== "running" || st.runningAt !== runningAt) return;
    const now = ctx.clock.now();
    const finishedAt = rfc3339(now);
    st.exitCode = out.exitCode;
    const step = containerExitStep(
      st.pod.spec.restartPolicy,
      out.exitCode,
      now - Date.parse(runningAt),
      st.exits,
    );
    if (step.stage !== "backoff") {
      run.setPodStatus(st, step.stage, finishedAt);
      return;
    }
    st.exits = step.exits;
    st.lastRun = { exitCode: out.exitCode, startedAt: runningAt, finishedAt };
    st.finishedAt = finishedAt;
    const delay = step.delayMs;
    if (delay === 0) {
      restartContainers(run, st);
      return;
    }
    st.backoffMs = delay;
    run.setPodStatus(st, "backoff");
    ctx.queue.after(delay, () => restartContainers(run, st));
  });
}

/** The containers start again after an exit: one more restart, running from now. */
function restartContainers(run: PodRunner, st: PodState): void {
  if (!st.alive || st.deleting) return;
  st.restarts++;
  st.backoffMs = undefined;
  st.runningAt = rfc3339(run.node.ctx.clock.now());
  enterRunning(run, st);
}

/**
 * One container of a pod whose containers run each on their own exits (its run model, from its
 * latest start): as the kubelet tracks each container, its restartPolicy restarts it with its own
 * back-off (CrashLoopBackOff meanwhile) while the others keep running, or it ends, and the pod
 * with it once every main container has ended ({@link podEndStage}). Each change is one status.
 */
function scheduleContainerExit(
  run: PodRunner,
  st: PodState,
  i: number,
  exit: { readonly afterMs: number; readonly exitCode: number },
): void {
  const { ctx } = run.node;
  const c = st.containers?.[i];
  if (!c || c.finishedAt !== undefined) return;
  const runningAt = c.runningAt;
  const live = (): boolean =>
    st.alive &&
    !st.deleting &&
    st.stage === "running" &&
    st.containers?.[i] === c &&
    c.runningAt === runningAt;
  ctx.queue.schedule(Date.parse(runningAt) + exit.afterMs, () => {
    if (!live()) return;
    const now = ctx.clock.now();
    const finishedAt = rfc3339(now);
    const wasReady = readyNow(st);
    const step = containerExitStep(
      st.pod.spec.restartPolicy,
      exit.exitCode,
      now - Date.parse(runningAt),
      c.exits,
    );
    const changed = (): void => {
      if (readyNow(st) !== wasReady) st.readyAt = rfc3339(ctx.clock.now());
    };
    if (step.stage !== "backoff") {
      c.exitCode = exit.exitCode;
      c.finishedAt = finishedAt;
      changed();
      const end = podEndStage(
        st.containers!.map((x) => (x.finishedAt !== undefined ? x.exitCode : undefined)),
      );
      if (end) run.setPodStatus(st, end, finishedAt);
      else run.setPodStatus(st, "running");
      return;
    }
    c.exits = step.exits;
    c.lastRun = { exitCode: exit.exitCode, startedAt: runningAt, finishedAt };
    const restart = (): void => {
      if (!st.alive || st.deleting || st.stage !== "running" || st.containers?.[i] !== c) return;
      const before = readyNow(st);
      c.restarts++;
      c.backoffMs = undefined;
      c.runningAt = rfc3339(ctx.clock.now());
      if (readyNow(st) !== before) st.readyAt = c.runningAt;
      run.setPodStatus(st, "running");
      scheduleContainerExit(run, st, i, exit);
    };
    if (step.delayMs === 0) {
      restart();
      return;
    }
    c.backoffMs = step.delayMs;
    changed();
    run.setPodStatus(st, "running");
    ctx.queue.after(step.delayMs, restart);
  });
}

/** Whether every main container of a pod whose containers run on their own is running. */
function readyNow(st: PodState): boolean {
  return !(st.containers ?? []).some((x: ContainerState) => containerDown(x));
}
