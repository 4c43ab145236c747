/*
 * A hollow node as its kubelet API answers for it (NodeApiView): its capacity, its pods and, for
 * the usage models, which of their containers run, since when, and what they asked for. Read
 * from the node's pod states on each request; nothing is kept.
 */
import type { HostedPod } from "../container-log.ts";
import type { NodeShape } from "../config.ts";
import type { ContainerResources, ContainerSpec } from "../pod-object.ts";
import { STAGES } from "../pod-stage.ts";
import type { PodState } from "../pod-state.ts";
import { quantityNumber } from "../quantity.ts";
import type { NodeApiView, UsageContainer, UsagePod } from "./node-view.ts";

/** What the view reads of a hollow node. */
export interface ViewedNode {
  readonly id: { readonly name: string; readonly shape: NodeShape };
  hostedPods(): Iterable<PodState>;
  podInfo(namespace: string, name: string): HostedPod | undefined;
  listPods(): readonly object[];
}

/** Epoch ms of an RFC 3339 time, or undefined. */
function ms(t: string | undefined): number | undefined {
  if (!t) return undefined;
  const v = Date.parse(t);
  return Number.isNaN(v) ? undefined : v;
}

const milli = (q: string | undefined): number | undefined => {
  const n = quantityNumber(q);
  return n === undefined ? undefined : Math.round(n * 1000);
};
const bytes = (q: string | undefined): number | undefined => {
  const n = quantityNumber(q);
  return n === undefined ? undefined : Math.round(n);
};

/** A container's figures from its resources (a resize's allocation when there is one). */
function usageContainer(
  c: ContainerSpec,
  r: ContainerResources | undefined,
  startedAtMs: number | undefined,
): UsageContainer {
  return {
    name: c.name,
    cpuRequestMilli: milli(r?.requests?.["cpu"]),
    cpuLimitMilli: milli(r?.limits?.["cpu"]),
    memoryRequestBytes: bytes(r?.requests?.["memory"]),
    memoryLimitBytes: bytes(r?.limits?.["memory"]),
    startedAtMs,
    ...(c.image === undefined ? {} : { image: c.image }),
  };
}

/**
 * The containers of a pod that run now: the sidecars (init containers that keep running) from the
 * pod's start; while initializing, the init container that runs (the first that has not
 * completed); once running, each main container still in its run (one that exited for good or
 * waits to be restarted is not).
 */
export function runningContainers(st: PodState): UsageContainer[] {
  const facts = STAGES[st.stage];
  const out: UsageContainer[] = [];
  const podStart = ms(st.startedAt);
  const inits = st.pod.spec.initContainers ?? [];
  for (const c of inits) {
    if (c.restartPolicy === "Always") out.push(usageContainer(c, c.resources, podStart));
  }
  if (facts.initRunning) {
    const regular = inits.filter((c) => c.restartPolicy !== "Always");
    const c = regular[st.initIndex ?? 0] ?? regular[0];
    if (c) out.push(usageContainer(c, c.resources, ms(st.initRunningAt) ?? podStart));
  }
  if (facts.containersRunning) {
    st.pod.spec.containers.forEach((c, i) => {
      const own = st.containers?.[i];
      if (own && (own.exitCode !== undefined || own.backoffMs !== undefined)) return;
      const r = st.resize?.allocated[i] ?? c.resources;
      out.push(usageContainer(c, r, ms(own?.runningAt ?? st.runningAt)));
    });
  }
  return out;
}

/** One pod as the usage models see it, or undefined when it uses nothing (not started, or ended). */
export function usagePod(st: PodState): UsagePod | undefined {
  const facts = STAGES[st.stage];
  if (!facts.sandbox || facts.ended) return undefined;
  return {
    namespace: st.namespace,
    name: st.name,
    uid: st.uid,
    annotations: st.pod.metadata.annotations ?? {},
    startedAtMs: ms(st.startedAt) ?? st.seenAt,
    containers: runningContainers(st),
  };
}

/** {@link NodeApiView} of a hollow node. */
export class HollowNodeView implements NodeApiView {
  readonly name: string;
  readonly cpuCapacityMilli: number;
  readonly memoryCapacityBytes: number;
  readonly startedAtMs: number;
  private readonly node: ViewedNode;

  /** `startedAtMs`: when the node's simulated kubelet started (the engine's start). */
  constructor(node: ViewedNode, startedAtMs: number) {
    this.node = node;
    this.name = node.id.name;
    this.cpuCapacityMilli = milli(node.id.shape.cpu) ?? 0;
    this.memoryCapacityBytes = bytes(node.id.shape.memory) ?? 0;
    this.startedAtMs = startedAtMs;
  }

  usagePods(): UsagePod[] {
    const out: UsagePod[] = [];
    for (const st of this.node.hostedPods()) {
      const p = usagePod(st);
      if (p) out.push(p);
    }
    return out;
  }

  podInfo(namespace: string, name: string): HostedPod | undefined {
    return this.node.podInfo(namespace, name);
  }

  listPods(): readonly object[] {
    return this.node.listPods();
  }
}
