/*
 * The kubelet's event recorder and broadcaster for every node of the process: it turns what the
 * nodes do into the Events kubelet-events.ts decides, runs them through client-go's correlator
 * (event-correlator.ts) and writes them as a kubelet's event client does: core/v1 Events, a POST
 * for a new one and a strategic-merge PATCH of its count for a repeat (a POST again when the Event
 * has expired), one at a time per node, under the node's own event rate limit (the kubelet's
 * `eventRecordQPS` 50, `eventBurst` 100). The recorder keeps no state per node: a node's token
 * bucket and write queue exist while it has events in flight, the correlator's entries while they
 * can change a decision.
 */
import type { Logger } from "pino";
import { isAlreadyExists, isNotFound } from "../client/api-error.ts";
import type { KubeRequest } from "../client/kube-client.ts";
import { CORE_EVENT, protoOf } from "../client/protobuf-types.ts";
import type { Clock } from "../kernel/clock.ts";
import { describeError } from "../kernel/errors.ts";
import type { DueQueue } from "./due-queue.ts";
import { EventCorrelator, type CorrelateResult, type KubeletEvent } from "./event-correlator.ts";
import {
  NO_MARK,
  failingReadiness,
  nodeStartEvents,
  podEvents,
  probePeriodMs,
  restoredConditionEvents,
  stopEvents,
  unhealthyEvent,
  type ContainerEvent,
  type NodeEvent,
  type PodEventFacts,
  type PodEventMark,
} from "./kubelet-events.ts";
import type { PodObject } from "./pod-object.ts";

/** The kubelet's event client limits (KubeletConfiguration defaults). */
export const KUBELET_EVENT_QPS = 50;
export const KUBELET_EVENT_BURST = 100;

/** How often the pod worker syncs a pod that waits in back-off longer (the 1 min resync, +0-50 %). */
const BACKOFF_RESYNC_MS = 60_000;

/** What the recorder needs of the engine. */
export interface EventRecorderDeps {
  readonly clock: Clock;
  readonly queue: DueQueue;
  readonly random: () => number;
  /**
   * Sends a request of node `host`'s kubelet through the process-wide in-flight limit and retry
   * policy (under `--identity node`, with that node's own client, as each kubelet writes its
   * Events as system:node:<name>).
   */
  request<T>(req: KubeRequest, host: string): Promise<T>;
  readonly log: Logger;
  /** Events in protobuf, as a kubelet's event client sends them (false: JSON). Default true. */
  readonly protobuf?: boolean;
  readonly qps?: number;
  readonly burst?: number;
}

/** The parts of a pod's state the recorder reads, and the mark it keeps there. */
export interface EventedPod extends PodEventFacts {
  readonly alive: boolean;
  readonly deleting: boolean;
  events?: PodEventMark;
}

/** Writes the process's kubelet Events. */
export class KubeletEventRecorder {
  readonly correlator = new EventCorrelator();
  private readonly deps: EventRecorderDeps;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly tails = new Map<string, Promise<void>>();
  private readonly restored = new Map<string, NodeEvent[]>();

  constructor(deps: EventRecorderDeps) {
    this.deps = deps;
  }

  /** Nodes with events being written (for tests: 0 once everything is written). */
  get busyNodes(): number {
    return this.tails.size;
  }

  /** A kubelet started on node `host` (once per process start). */
  nodeStarted(host: string): void {
    const ref = { kind: "Node", name: host, uid: host };
    for (const e of nodeStartEvents(host))
      this.record({ ...e, involvedObject: ref, component: "kubelet", host });
  }

  /**
   * The server's Node `host` shows conditions that differ in status from the node's (`conditions`);
   * the events for them are recorded when the node writes its status over them
   * ({@link nodeStatusRestored}). Kept only for such nodes.
   */
  nodeStatusDrifted(host: string, conditions: readonly { type: string; status: string }[]): void {
    this.restored.set(host, restoredConditionEvents(host, conditions));
  }

  /** Node `host` wrote its healthy conditions over the drifted ones: the setters' events. */
  nodeStatusRestored(host: string): void {
    const events = this.restored.get(host);
    this.restored.delete(host);
    const ref = { kind: "Node", name: host, uid: host };
    for (const e of events ?? []) this.record({ ...e, involvedObject: ref, component: "kubelet", host });
  }

  /** Node `host` wrote the status of pod `st`: the events that stand for, and their repeats. */
  podWritten(host: string, st: EventedPod): void {
    const { events, mark } = podEvents(st, st.events ?? NO_MARK);
    const before = st.events;
    st.events = mark;
    for (const e of events) this.record(containerEvent(st.pod, e, host));
    // The pod worker finds the containers in back-off again at each resync until they restart.
    const backOffs = events.filter((e) => e.reason === "BackOff");
    if (backOffs.length > 0) this.repeatBackOff(host, st, mark.exitAt, backOffs);
    // The prober records each failed probe while readiness stays lost.
    if (mark.unready && !before?.unready) this.repeatUnhealthy(host, st, mark.runningAt);
  }

  /** Node `host` kills the running containers of deleted pod `pod`. */
  podStopping(host: string, pod: PodObject): void {
    for (const e of stopEvents(pod)) this.record(containerEvent(pod, e, host));
  }

  /** Node `host` records an event about pod `pod` itself (the volume manager's FailedMount). */
  podEvent(host: string, pod: PodObject, type: "Normal" | "Warning", reason: string, message: string): void {
    const { namespace, name, uid } = pod.metadata;
    this.record({
      involvedObject: { kind: "Pod", namespace, name, uid, apiVersion: "v1" },
      type,
      reason,
      message,
      component: "kubelet",
      host,
    });
  }

  private repeatBackOff(
    host: string,
    st: EventedPod,
    exitAt: string | undefined,
    events: ContainerEvent[],
  ): void {
    const { queue, random } = this.deps;
    const again = (): void => {
      if (!st.alive || st.deleting || st.backoffMs === undefined || st.events?.exitAt !== exitAt) return;
      for (const e of events) this.record(containerEvent(st.pod, e, host));
      queue.after(BACKOFF_RESYNC_MS * (1 + 0.5 * random()), again);
    };
    queue.after(BACKOFF_RESYNC_MS * (1 + 0.5 * random()), again);
  }

  private repeatUnhealthy(host: string, st: EventedPod, runningAt: string | undefined): void {
    const c = failingReadiness(st.pod);
    if (!c) return;
    const period = probePeriodMs(c.readinessProbe);
    const again = (): void => {
      if (!st.alive || st.deleting || st.stage !== "running" || st.runningAt !== runningAt) return;
      if (!st.events?.unready) return;
      this.record(containerEvent(st.pod, unhealthyEvent(c, "Readiness"), host));
      this.deps.queue.after(period, again);
    };
    this.deps.queue.after(period, again);
  }

  /** Correlates one event and queues its write behind the node's earlier ones. */
  record(e: KubeletEvent): void {
    const result = this.correlator.correlate(e, this.deps.clock.now());
    if (result.kind === "skip") return;
    const host = e.host;
    const write = (this.tails.get(host) ?? Promise.resolve())
      .then(() => this.write(host, result))
      .catch((err: unknown) => {
        this.deps.log.debug(
          { node: host, reason: e.reason, err: describeError(err) },
          "could not write an event",
        );
      });
    this.tails.set(host, write);
    void write.finally(() => {
      if (this.tails.get(host) === write) this.tails.delete(host);
    });
  }

  private async write(host: string, r: Exclude<CorrelateResult, { kind: "skip" }>): Promise<void> {
    const path = `/api/v1/namespaces/${r.namespace}/events`;
    const pb = protoOf(this.deps.protobuf ?? true, CORE_EVENT);
    if (r.kind === "patch") {
      await this.throttle(host);
      try {
        await this.deps.request(
          { method: "PATCH", path: `${path}/${r.name}`, patchType: "strategic", body: r.patch, ...pb },
          host,
        );
        return;
      } catch (err) {
        // The Event expired (or was deleted): create it again, as client-go does.
        if (!isNotFound(err)) throw err;
      }
    }
    await this.throttle(host);
    await this.deps.request({ method: "POST", path, body: r.body, ...pb }, host).catch((err: unknown) => {
      if (!isAlreadyExists(err)) throw err;
    });
  }

  /** The node's event client rate limit: a token bucket kept only while it is not full. */
  private async throttle(host: string): Promise<void> {
    const qps = this.deps.qps ?? KUBELET_EVENT_QPS;
    const burst = this.deps.burst ?? KUBELET_EVENT_BURST;
    const now = this.deps.clock.now();
    // Buckets in order of last use: drop the ones that have filled up again.
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * qps < burst) break;
      this.buckets.delete(key);
    }
    const b = this.buckets.get(host) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * qps) - 1;
    b.at = now;
    this.buckets.delete(host);
    this.buckets.set(host, b);
    if (b.tokens < 0) await this.deps.clock.sleep((-b.tokens / qps) * 1000);
  }
}

/** A container event as the recorder makes it: about the pod, at the container's field path. */
export function containerEvent(pod: PodObject, e: ContainerEvent, host: string): KubeletEvent {
  return {
    involvedObject: {
      kind: "Pod",
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
      apiVersion: "v1",
      fieldPath: `${e.init ? "spec.initContainers" : "spec.containers"}{${e.container}}`,
    },
    type: e.type,
    reason: e.reason,
    message: e.message,
    component: "kubelet",
    host,
  };
}
