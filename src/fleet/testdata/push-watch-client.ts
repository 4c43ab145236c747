import type { KubeRequest, WatchStreamHandle, WatchStreamHandlers } from "../../client/kube-client.ts";
import type { ProtoType } from "../../client/protobuf-schema.ts";
import type { WatchClient } from "../../engine/watcher.ts";

type Query = Record<string, string | number | boolean | undefined>;

/** A watch client whose open streams the test pushes events into; it counts every request. */
export class PushWatchClient implements WatchClient {
  readonly opens: Array<{ path: string; query: Query; proto: string | undefined }> = [];
  readonly gets: string[] = [];
  private readonly streams = new Map<string, WatchStreamHandlers>();

  watchStream(
    path: string,
    query: KubeRequest["query"],
    handlers: WatchStreamHandlers,
    proto?: ProtoType,
  ): WatchStreamHandle {
    this.opens.push({ path, query: { ...query }, proto: proto && `${proto.apiVersion} ${proto.kind}` });
    this.streams.set(path, handlers);
    return { cancel: () => this.end(path) };
  }

  get<T>(path: string): Promise<T> {
    this.gets.push(path);
    return Promise.reject(new Error(`unexpected GET ${path}`));
  }

  push(path: string, type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR", object: unknown): void {
    this.streams.get(path)?.onEvent({ type, object });
  }

  /** The end of an initial list (WatchList's bookmark). */
  synced(path: string, rv = "100"): void {
    this.push(path, "BOOKMARK", {
      metadata: { resourceVersion: rv, annotations: { "k8s.io/initial-events-end": "true" } },
    });
  }

  end(path: string, err?: unknown): void {
    const h = this.streams.get(path);
    this.streams.delete(path);
    h?.onEnd(err);
  }

  get openStreams(): number {
    return this.streams.size;
  }
}
