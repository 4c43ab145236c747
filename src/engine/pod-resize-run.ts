/*
 * An in-place resize on a hollow node: the thin shell that carries out pod-resize.ts's decision
 * for a running pod whose container resources changed, and writes the statuses a kubelet writes:
 * PodResizePending (Infeasible or Deferred) until it fits, or PodResizeInProgress while it is
 * applied, then the new resources. A Deferred resize is tried again when another pod leaves.
 */
import { rfc3339 } from "./node-object.ts";
import type { ContainerResources, PodObject } from "./pod-object.ts";
import {
  RESIZE_APPLY_MS,
  addRequests,
  pendingCondition,
  podRequests,
  quantityValue,
  resizeDecision,
  resourcesListKey,
  type Requests,
  type ResizeState,
} from "./pod-resize.ts";
import type { PodRunner } from "./pod-run.ts";
import { STAGES } from "./pod-stage.ts";
import type { PodState } from "./pod-state.ts";

/** What a resize uses of its node: the pod runner and the pods the node runs. */
export interface ResizeRunner extends PodRunner {
  hostedPods(): Iterable<PodState>;
}

/** Pods of the process whose resize waits for room (Deferred): none, and nothing is scanned. */
let deferred = 0;

/** The pod's resources changed in place (a resize, the pod's generation bumped): the kubelet decides. */
export function resizePod(run: ResizeRunner, st: PodState, before: PodObject): void {
  st.resize ??= {
    allocated: before.spec.containers.map((c) => c.resources),
    actual: before.spec.containers.map((c) => c.resources),
  };
  evaluate(run, st, st.resize);
}

/** A pod left the node: resizes deferred for want of room are tried again. */
export function resizeReleased(run: ResizeRunner, gone: PodState): void {
  if (gone.resize?.pending?.reason === "Deferred") deferred--;
  retryDeferred(run);
}

function retryDeferred(run: ResizeRunner): void {
  if (deferred <= 0) return;
  for (const st of run.hostedPods())
    if (st.resize?.pending?.reason === "Deferred" && st.alive && !st.deleting) evaluate(run, st, st.resize);
}

/** The resources of a pod's running containers (main, then sidecars) as allocated. */
function allocatedOf(st: PodState): (ContainerResources | undefined)[] {
  const main = st.resize?.allocated ?? st.pod.spec.containers.map((c) => c.resources);
  const sidecars = (st.pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  return [...main, ...sidecars.map((c) => c.resources)];
}

function evaluate(run: ResizeRunner, st: PodState, rs: ResizeState): void {
  const { ctx, id } = run.node;
  const now = rfc3339(ctx.clock.now());
  const generation = st.pod.metadata.generation;
  const wasDeferred = rs.pending?.reason === "Deferred";
  const clear = (type: string): void => {
    rs.cleared = [...(rs.cleared ?? []), type];
  };
  const desired = st.pod.spec.containers.map((c) => c.resources);
  if (resourcesListKey(desired) === resourcesListKey(rs.allocated)) {
    // Back to what is allocated: nothing to do, nothing pending.
    if (rs.pending) clear("PodResizePending");
    rs.pending = undefined;
  } else {
    const sidecars = (st.pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
    let used: Requests = { cpuMilli: 0, memory: 0 };
    for (const p of run.hostedPods())
      if (p !== st && !STAGES[p.stage].ended) used = addRequests(used, podRequests(allocatedOf(p)));
    const allocatable = {
      cpuMilli: quantityValue(id.shape.cpu, 1000),
      memory: quantityValue(id.shape.memory, 1),
    };
    const d = resizeDecision(
      podRequests([...desired, ...sidecars.map((c) => c.resources)]),
      allocatable,
      used,
    );
    if (!d.fit) {
      rs.pending = pendingCondition(rs.pending, d, now, generation);
    } else {
      if (rs.pending) clear("PodResizePending");
      rs.pending = undefined;
      rs.allocated = desired;
      rs.inProgress = { probedAt: now, since: now, generation };
      // The runtime applies it; at the next relist the kubelet sees the containers' new resources.
      ctx.queue.after(RESIZE_APPLY_MS, () => {
        if (!st.alive || st.deleting || rs.allocated !== desired) return;
        rs.actual = desired;
        rs.inProgress = undefined;
        clear("PodResizeInProgress");
        write(run, st);
        // A smaller pod leaves room for a deferred resize.
        retryDeferred(run);
      });
    }
  }
  deferred += Number(rs.pending?.reason === "Deferred") - Number(wasDeferred);
  write(run, st);
}

/** The pod's status with the resize as it is now (the node's status manager writes it). */
function write(run: ResizeRunner, st: PodState): void {
  const stage = st.stage;
  if (st.alive && !st.deleting && stage !== "new") run.setPodStatus(st, stage);
}
