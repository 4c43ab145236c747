/**
 * The run's watches: pods and claims of the benchmark's namespace and the driver's
 * VolumeAttachments, each event's object recorded in the {@link Timeline} at the time it arrives.
 * A watch the server ends is resumed from the last resourceVersion seen; after 410 Gone it starts
 * over (objects keep their first times).
 */
import type { KubeClient } from "../../src/client/kube-client.ts";
import { log, sleep } from "../compare/waiting.ts";
import type { Kind, Timeline, Watched } from "./timeline.ts";

/** Open watches; `stop` ends them. */
export interface Observer {
  stop(): Promise<void>;
}

type Event = { type: string; object: Watched & { metadata: { resourceVersion?: string } } };

async function watchKind(
  client: KubeClient,
  path: string,
  kind: Kind,
  keep: (o: Watched) => boolean,
  timeline: Timeline,
  t0: number,
  signal: AbortSignal,
): Promise<void> {
  let rv: string | undefined;
  while (!signal.aborted) {
    try {
      for await (const ev of client.watch<Event["object"]>(path, rv ? { resourceVersion: rv } : {}, signal)) {
        if (ev.type === "ERROR") {
          rv = undefined;
          break;
        }
        if (ev.object.metadata.resourceVersion) rv = ev.object.metadata.resourceVersion;
        if (ev.type === "BOOKMARK" || ev.type === "DELETED" || !keep(ev.object)) continue;
        timeline.see(kind, ev.object, performance.now() - t0);
      }
    } catch (err) {
      if (!signal.aborted) log(`  ${kind} watch ended (${String(err)}); resuming`);
    }
    if (!signal.aborted) await sleep(100);
  }
}

/**
 * Watches the namespace's pods and claims and the driver's VolumeAttachments into `timeline`,
 * times in ms from `t0` (a `performance.now()`).
 */
export function observe(
  client: KubeClient,
  namespace: string,
  driver: string,
  timeline: Timeline,
  t0: number,
): Observer {
  const abort = new AbortController();
  const all = (): boolean => true;
  const running = Promise.all([
    watchKind(client, `/api/v1/namespaces/${namespace}/pods`, "pods", all, timeline, t0, abort.signal),
    watchKind(
      client,
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims`,
      "claims",
      all,
      timeline,
      t0,
      abort.signal,
    ),
    watchKind(
      client,
      "/apis/storage.k8s.io/v1/volumeattachments",
      "attachments",
      (o) => o.spec?.attacher === driver,
      timeline,
      t0,
      abort.signal,
    ),
  ]);
  return {
    async stop() {
      abort.abort();
      await running;
    },
  };
}
