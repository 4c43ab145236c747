/*
 * A hollow node's pod status manager, as the kubelet's (pkg/kubelet/status/status_manager.go):
 * the pod worker sets a pod's status and goes on at once; the manager keeps the latest status of
 * each pod and writes it soon after, one sync per pod at a time: it reads the pod, PATCHes the
 * latest status unless the server has it already, and deletes a terminated pod (grace 0, uid
 * precondition) once its final status is on the server. Statuses set while a sync is in flight
 * are not written one by one: the next sync writes the newest. The decisions are the pure
 * functions at the top of this file; the class is the I/O around them.
 */
import { isConflict, isNotFound } from "../client/api-error.ts";
import { POD } from "../client/protobuf-pod.ts";
import { requeueDelayMs } from "../kernel/backoff.ts";
import { describeError } from "../kernel/errors.ts";
import type { NodeHandle } from "./node-handle.ts";
import type { PodObject } from "./pod-object.ts";
import { resizeDeletes } from "./pod-resize.ts";
import { STAGES, type HostedStage, type PodStage } from "./pod-stage.ts";
import { runOf, type PodState } from "./pod-state.ts";
import { renderPodStatus } from "./pod-status.ts";
import { podStatusFeatures } from "./pod-status-features.ts";
import { statusPatchBody } from "./pod-status-patch.ts";

// ---------------------------------------------------------------- decisions

/**
 * A 53-bit hash of a rendered status (cyrb53 over its JSON): what the manager keeps of the latest
 * status of each pod to tell a new status from the same one, instead of the status itself.
 */
export function statusKey(status: unknown): number {
  const s = JSON.stringify(status);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The keys a pod status's lists are merged by (strategic merge patch), by list name. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  conditions: "type",
  containerStatuses: "name",
  initContainerStatuses: "name",
  ephemeralContainerStatuses: "name",
  podIPs: "ip",
  hostIPs: "ip",
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether `v` is what a server leaves out of its answer (null, an empty object or list). */
function absentLike(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.keys(v).length === 0;
}

/** Whether patching `server` with `patch` (strategic merge) changes nothing. */
function patchChangesNothing(server: unknown, patch: unknown, mergeKey?: string): boolean {
  if (absentLike(patch) && absentLike(server)) return true;
  if (Array.isArray(patch)) {
    if (!Array.isArray(server)) return false;
    if (mergeKey === undefined) {
      return patch.length === server.length && patch.every((p, i) => patchChangesNothing(server[i], p));
    }
    return patch.every((p) => {
      if (!isObject(p)) return false;
      const match: unknown = (server as unknown[]).find((s) => isObject(s) && s[mergeKey] === p[mergeKey]);
      if (p["$patch"] === "delete") return match === undefined;
      return match !== undefined && patchChangesNothing(match, p);
    });
  }
  if (isObject(patch)) {
    if (!isObject(server)) return false;
    return Object.entries(patch).every(([k, v]) => patchChangesNothing(server[k], v, MERGE_KEYS[k]));
  }
  return patch === server;
}

/**
 * Whether the server's pod status already is `desired` (the status manager's PatchPodStatus
 * "unchanged": the merge patch from one to the other is empty): every field the status sets has
 * that value on the server, list items matched by their merge key (conditions by type,
 * container statuses by name); a condition the status deletes is absent there; fields the server
 * leaves out stand for null, empty objects and lists. Fields only the server has (conditions of
 * other writers) change nothing.
 */
export function statusUnchanged(server: unknown, desired: Readonly<Record<string, unknown>>): boolean {
  return patchChangesNothing(server ?? {}, desired);
}

/** What one sync of a pod's status does, once it has read the pod (kubelet traffic) or at once. */
export interface SyncPlan {
  /** PATCH the status (else it is on the server already, or there is none to write). */
  readonly patch: boolean;
  /** DELETE the pod (grace 0, uid precondition) after the status. */
  readonly delete: boolean;
}

/** The facts a sync decides from. */
export interface SyncFacts {
  /** The pod's stage when the sync took its status (`new`: the node never set one). */
  readonly stage: HostedStage;
  /** Whether the node set a status for the pod (pods adopted as they are have none of their own). */
  readonly hasStatus: boolean;
  /** The key of the status taken, and of the last status PATCHed (undefined: none yet). */
  readonly key: number;
  readonly writtenKey: number | undefined;
  /** The status deletes conditions (an in-place resize's, cleared). */
  readonly deletes: boolean;
  /** The server's status, read just before (kubelet traffic), equals the one taken. */
  readonly serverHasIt: boolean;
  /** TerminatePod came before the status was taken: the pod's containers and volumes are gone. */
  readonly finished: boolean;
}

/**
 * A sync's requests ({@link SyncFacts}): the status is PATCHed unless it is what the last PATCH
 * sent or what the server has; the pod is deleted only once TerminatePod has come and the status
 * taken is the pod's end (a terminal phase: the kubelet's canBeDeleted), or the node never
 * started it and has no status of its own to write.
 */
export function syncPlan(f: SyncFacts): SyncPlan {
  const patch = f.hasStatus && !f.serverHasIt && (f.key !== f.writtenKey || f.deletes);
  const terminal = !f.hasStatus || (f.stage !== "new" && STAGES[f.stage].ended);
  return { patch, delete: f.finished && terminal };
}

/** Whether a pod needs another sync: a status (or TerminatePod) came after the last one synced. */
export function needsSync(version: number, synced: number): boolean {
  return version > synced;
}

// ---------------------------------------------------------------- the manager

/** What the status manager uses of its node's pod lifecycle. */
export interface StatusManagerHost {
  readonly node: NodeHandle;
  /** The pod is gone from the server (or replaced by one of the same name): forget it. */
  forget(uid: string): void;
}

/** A status taken for a sync: the pod's status (with its condition deletes) as it is now. */
interface Taken {
  readonly version: number;
  readonly finished: boolean;
  readonly stage: HostedStage;
  readonly key: number;
  readonly status: Record<string, unknown> | undefined;
  readonly deletes: number;
  readonly cleared: readonly string[] | undefined;
}

/** One pod's status as the manager syncs it. */
interface PodSync {
  readonly st: PodState;
  /** Bumped by each status set that differs from the one before, and by TerminatePod. */
  version: number;
  /** The latest version on the server (written, or found there). */
  synced: number;
  /** The key of the latest status set (0 while none was). */
  key: number;
  /** The key of the last status PATCHed. */
  writtenKey: number | undefined;
  hasStatus: boolean;
  finished: boolean;
  /** A sync is under way (or waits for its retry): no second one starts. */
  busy: boolean;
  /** The status the coming sync writes (taken when it was set). */
  taken: Taken | undefined;
}

/**
 * The status manager of one node's pods. Kept per pod only while the pod lives on the node; the
 * statuses themselves only while a sync takes them (a hash otherwise).
 */
export class StatusManager {
  private readonly host: StatusManagerHost;
  private readonly pods = new Map<string, PodSync>();

  constructor(host: StatusManagerHost) {
    this.host = host;
  }

  /** Pods with a sync under way or due (0 once every status is on the server). */
  get busy(): number {
    let n = 0;
    for (const e of this.pods.values()) if (e.busy) n++;
    return n;
  }

  /**
   * SetPodStatus: the pod's status is now what its stage and state render. Returns false when it
   * is the same as the latest set (nothing to write), or the pod was terminated already (its last
   * status came with TerminatePod). Never waits for the API server.
   */
  set(st: PodState): boolean {
    const stage = st.stage;
    if (!st.alive || stage === "new") return false;
    let e = this.pods.get(st.uid);
    if (e?.finished) return false;
    const taken = this.take(st, stage, (e?.version ?? 0) + 1, false);
    if (e?.hasStatus && e.key === taken.key && taken.deletes === 0) return false;
    e ??= this.entry(st);
    e.version = taken.version;
    e.key = taken.key;
    e.hasStatus = true;
    this.kick(e, taken);
    return true;
  }

  /**
   * TerminatePod: the pod's containers have stopped and its volumes are unmounted; once its
   * latest status is on the server the pod is deleted. Later statuses are not taken.
   */
  terminate(st: PodState): void {
    if (!st.alive) return;
    const e = this.pods.get(st.uid) ?? this.entry(st);
    if (e.finished) return;
    e.finished = true;
    e.version++;
    this.kick(e);
  }

  /** The pod is forgotten: nothing more is synced for it (a sync under way ends unanswered). */
  drop(uid: string): void {
    this.pods.delete(uid);
  }

  private entry(st: PodState): PodSync {
    const e: PodSync = {
      st,
      version: 0,
      synced: 0,
      key: 0,
      writtenKey: undefined,
      hasStatus: false,
      finished: false,
      busy: false,
      taken: undefined,
    };
    this.pods.set(st.uid, e);
    return e;
  }

  /** The pod's status as it is now, for version `version`. */
  private take(st: PodState, stage: PodStage, version: number, finished: boolean): Taken {
    const { id } = this.host.node;
    const status = renderPodStatus(st.pod, stage, runOf(st, id.ip), podStatusFeatures(id.kubeletVersion));
    const key = statusKey(status);
    const deletes = resizeDeletes(st.resize, STAGES[stage].ended);
    if (deletes.length > 0) (status["conditions"] as unknown[]).push(...deletes);
    return { version, finished, stage, key, status, deletes: deletes.length, cleared: st.resize?.cleared };
  }

  /**
   * Starts a sync unless one is under way (it syncs again after, with the newest status). Its
   * status is taken now, as the kubelet's sync loop takes the latest as soon as it is set.
   */
  private kick(e: PodSync, taken?: Taken): void {
    if (e.busy) return;
    e.busy = true;
    e.taken = this.takeFor(e, taken);
    this.host.node.ctx.queue.after(0, () => this.sync(e));
  }

  private takeFor(e: PodSync, taken: Taken | undefined): Taken {
    if (taken && taken.version === e.version) return taken;
    const stage = e.st.stage;
    if (e.hasStatus && stage !== "new") return this.take(e.st, stage, e.version, e.finished);
    // Only TerminatePod came (a pod never started, or adopted as it was): no status of its own.
    const { version, finished } = e;
    return { version, finished, stage: "new", key: 0, status: undefined, deletes: 0, cleared: undefined };
  }

  private live(e: PodSync): boolean {
    return e.st.alive && this.pods.get(e.st.uid) === e;
  }

  private async sync(e: PodSync): Promise<void> {
    const taken = e.taken ?? this.takeFor(e, undefined);
    e.taken = undefined;
    if (!this.live(e)) {
      e.busy = false;
      return;
    }
    let done: boolean;
    try {
      done = await this.syncOnce(e, taken);
    } catch (err) {
      const { node } = this.host;
      const st = e.st;
      node.log.warn(
        { pod: `${st.namespace}/${st.name}`, err: describeError(err) },
        "pod status sync failed; retrying",
      );
      // Still busy: the retry takes the newest status then.
      node.ctx.queue.after(requeueDelayMs(node.ctx.random), () => this.sync(e));
      return;
    }
    e.busy = false;
    if (done || !this.live(e)) return;
    if (needsSync(e.version, e.synced)) this.kick(e);
  }

  /** One sync: GET (kubelet traffic), PATCH unless unchanged, DELETE once terminated. True: the pod is done with. */
  private async syncOnce(e: PodSync, taken: Taken): Promise<boolean> {
    const { node } = this.host;
    const st = e.st;
    const path = `/api/v1/namespaces/${st.namespace}/pods/${st.name}`;
    let serverHasIt = false;
    const pb = node.ctx.proto(POD);
    if (node.ctx.cfg.traffic === "kubelet") {
      let latest: PodObject;
      try {
        // In protobuf as the kubelet's client reads it (the Pod read schema covers the status).
        latest = await node.api<PodObject>({ method: "GET", path, ...pb });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.gone(e);
        return true;
      }
      // Deleted and created again under the same name: this pod's status is not that one's.
      if (latest.metadata.uid !== st.uid) {
        this.gone(e);
        return true;
      }
      if (!this.live(e)) return true;
      serverHasIt = taken.status !== undefined && statusUnchanged(latest.status, taken.status);
    }
    const plan = syncPlan({
      stage: taken.stage,
      hasStatus: taken.status !== undefined,
      key: taken.key,
      writtenKey: e.writtenKey,
      deletes: taken.deletes > 0,
      serverHasIt,
      finished: taken.finished,
    });
    if (plan.patch) {
      try {
        await node.api({
          method: "PATCH",
          path: `${path}/status`,
          patchType: "strategic",
          body: { metadata: { uid: st.uid }, status: taken.status && statusPatchBody(taken.status) },
          // The patch is JSON; the answer comes in protobuf, as a kubelet accepts it (not read).
          ...pb,
        });
      } catch (err) {
        // Gone, or replaced by a pod of the same name (the uid precondition failed).
        if (!isNotFound(err) && !isConflict(err)) throw err;
        this.gone(e);
        return true;
      }
      e.writtenKey = taken.key;
      if (st.resize && taken.deletes > 0 && st.resize.cleared === taken.cleared)
        st.resize.cleared = undefined;
      if (taken.stage !== "new") node.ctx.metrics.podTransition(taken.stage);
    }
    e.synced = Math.max(e.synced, taken.version);
    if (!plan.delete || !this.live(e)) return false;
    try {
      await node.api({
        method: "DELETE",
        path,
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
          preconditions: { uid: st.uid },
        },
      });
      node.ctx.metrics.podTransition("deleted");
    } catch (err) {
      // Gone already, or replaced: its DELETED event ends it on this node.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    this.pods.delete(st.uid);
    return true;
  }

  private gone(e: PodSync): void {
    this.pods.delete(e.st.uid);
    if (e.st.alive) this.host.forget(e.st.uid);
  }
}
