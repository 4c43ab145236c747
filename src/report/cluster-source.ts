/** The {@link ReportSource} of a real cluster: its API server's /metrics and objects. */
import { KubeApiError } from "../client/api-error.ts";
import type { KubeClient } from "../client/kube-client.ts";
import { KubemarkError } from "../kernel/errors.ts";
import type { LeaseTimes, NodeEvent, NodeReadiness } from "./fleet-health.ts";
import type { PodTimes } from "./pod-startup.ts";
import type { ReportSource } from "./report.ts";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";

interface List<T> {
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** Lists every page of a collection (500 a page, so a large cluster is not read in one answer). */
async function listAll<T>(
  client: KubeClient,
  path: string,
  query: Record<string, string> = {},
): Promise<List<T>> {
  const items: T[] = [];
  let cont: string | undefined;
  let rv: string | undefined;
  do {
    const page = await client.get<List<T>>(path, { ...query, limit: 500, continue: cont });
    items.push(...page.items);
    rv ??= page.metadata?.resourceVersion;
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return { items, metadata: { resourceVersion: rv ?? "" } };
}

/** A source reading the cluster `client` talks to; `identity` keys its marks. */
export function clusterSource(
  client: KubeClient,
  identity: () => Promise<{ kubeSystemUid?: string | undefined }>,
  kubeconfig: string,
): ReportSource {
  return {
    server: client.server,
    clusterKey: async () => (await identity()).kubeSystemUid ?? client.server,
    async metrics() {
      try {
        return await client.getText("/metrics", undefined, 60_000);
      } catch (err) {
        if (err instanceof KubeApiError && (err.status === 403 || err.status === 401)) {
          throw new KubemarkError(
            "FORBIDDEN",
            `the identity of ${kubeconfig} may not read ${client.server}/metrics (HTTP ${err.status}): report reads the API server's own latency histograms there`,
            {
              hint: "use an admin kubeconfig, or grant it: kubectl create clusterrole metrics-reader --verb=get --non-resource-url=/metrics && kubectl create clusterrolebinding metrics-reader --clusterrole=metrics-reader --user=<user> (or --serviceaccount=<ns>:<name>)",
              cause: err,
            },
          );
        }
        throw err;
      }
    },
    async nodes(selector) {
      return (await listAll<NodeReadiness>(client, "/api/v1/nodes", { labelSelector: selector })).items;
    },
    async leases() {
      const l = await listAll<LeaseTimes>(client, LEASES);
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? "" };
    },
    async pods() {
      return (await listAll<PodTimes>(client, "/api/v1/pods")).items;
    },
    async nodeNotReadyEvents() {
      return (
        await listAll<NodeEvent>(client, "/api/v1/events", {
          fieldSelector: "involvedObject.kind=Node,reason=NodeNotReady",
        })
      ).items;
    },
    watchLeases(resourceVersion) {
      const seen: LeaseTimes[] = [];
      let open = true;
      const h = client.watchStream(
        LEASES,
        { resourceVersion },
        {
          onEvent: (ev) => {
            if (open && (ev.type === "ADDED" || ev.type === "MODIFIED")) seen.push(ev.object as LeaseTimes);
          },
          onEnd: () => {
            open = false;
          },
        },
      );
      return {
        stop: () => {
          open = false;
          h.cancel();
          return seen;
        },
      };
    },
  };
}
