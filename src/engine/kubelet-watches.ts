import type { ProtoType } from "../client/protobuf-schema.ts";
import { POD } from "../client/protobuf-pod.ts";
import { NODE, watchedOnly } from "../client/protobuf-types.ts";
import type { EngineContext } from "./engine-context.ts";
import type { NodeObject } from "./node-handle.ts";
import type { PodObject } from "./pod-object.ts";
import type { Versioned, Watcher, WatchHandler } from "./watcher.ts";

/** The kubelet's watches whose objects it does not read (protobuf-types.ts). */
const SERVICE_WATCHED = watchedOnly("v1", "Service");
const RUNTIME_CLASS_WATCHED = watchedOnly("node.k8s.io/v1", "RuntimeClass");
const CSI_DRIVER_WATCHED = watchedOnly("storage.k8s.io/v1", "CSIDriver");
const CONFIG_MAP_WATCHED = watchedOnly("v1", "ConfigMap");
const SECRET_WATCHED = watchedOnly("v1", "Secret");

/** The ConfigMap or Secret a ref key names (`<kind>/<namespace>/<name>`). */
export interface RefTarget {
  readonly kind: "configmaps" | "secrets";
  readonly namespace: string;
  readonly name: string;
}

/** A pod's reference to a ConfigMap or Secret, as the key the watches are counted by. */
export function refKey(kind: RefTarget["kind"], namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** The ConfigMap or Secret of a ref key. */
export function refTarget(key: string): RefTarget {
  const [kind, namespace, name] = key.split("/") as [RefTarget["kind"], string, string];
  return { kind, namespace, name };
}

/** The handlers a kubelet's watches deliver to: the node's pods and its Node. */
export interface KubeletWatchHandlers {
  readonly pods: WatchHandler<PodObject>;
  readonly node: WatchHandler<NodeObject>;
}

/**
 * A kubelet's own watches (kubelet traffic): its pods, its Node, Services, RuntimeClasses and
 * CSIDrivers, and one per ConfigMap or Secret its pods reference, counted by reference: the
 * first pod that references one opens its watch, the last one to go closes it.
 */
export class KubeletWatches {
  private readonly ctx: EngineContext;
  private watchers: Watcher<Versioned>[] = [];
  private readonly refWatches = new Map<string, { count: number; watcher: Watcher<Versioned> }>();

  constructor(ctx: EngineContext) {
    this.ctx = ctx;
  }

  /** Opens the node's watches; returns how many. */
  start(name: string, handlers: KubeletWatchHandlers): number {
    const ignore = { onEvent: () => undefined };
    const pb = (type: ProtoType): ProtoType | undefined => this.ctx.proto(type).proto;
    this.watchers = [
      this.ctx.watch<PodObject>(
        "/api/v1/pods",
        { fieldSelector: `spec.nodeName=${name}` },
        handlers.pods,
        pb(POD),
      ),
      this.ctx.watch<NodeObject>(
        "/api/v1/nodes",
        { fieldSelector: `metadata.name=${name}` },
        handlers.node,
        pb(NODE),
      ),
      this.ctx.watch(
        "/api/v1/services",
        { fieldSelector: "spec.clusterIP!=None" },
        ignore,
        pb(SERVICE_WATCHED),
      ),
      this.ctx.watch("/apis/node.k8s.io/v1/runtimeclasses", {}, ignore, pb(RUNTIME_CLASS_WATCHED)),
      this.ctx.watch("/apis/storage.k8s.io/v1/csidrivers", {}, ignore, pb(CSI_DRIVER_WATCHED)),
    ] as Watcher<Versioned>[];
    return this.watchers.length;
  }

  /** Closes every watch, the referenced objects' too. */
  stop(): void {
    for (const w of this.watchers) w.stop();
    this.watchers = [];
    for (const r of this.refWatches.values()) r.watcher.stop();
    this.refWatches.clear();
  }

  /** A pod references `key`: watch it (kubelet traffic, unless that traffic is skipped). */
  addRef(key: string): void {
    if (this.ctx.cfg.traffic !== "kubelet") return;
    const r = this.refWatches.get(key);
    if (r) {
      r.count++;
      return;
    }
    const { kind, namespace, name } = refTarget(key);
    if (this.ctx.cfg.skipped.includes(kind)) return;
    const watcher = this.ctx.watch(
      `/api/v1/namespaces/${namespace}/${kind}`,
      { fieldSelector: `metadata.name=${name}` },
      {
        onEvent: () => undefined,
      },
      this.ctx.proto(kind === "secrets" ? SECRET_WATCHED : CONFIG_MAP_WATCHED).proto,
    );
    this.refWatches.set(key, { count: 1, watcher });
  }

  /** A pod that referenced `key` is gone: the last one closes its watch. */
  dropRef(key: string): void {
    const r = this.refWatches.get(key);
    if (!r) return;
    if (--r.count <= 0) {
      r.watcher.stop();
      this.refWatches.delete(key);
    }
  }
}
