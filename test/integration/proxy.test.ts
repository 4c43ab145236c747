/**
 * The hollow proxy on a real control plane: 50 nodes each hold kube-proxy's watches, their
 * proxy views follow Services and their endpoints, the audit log shows the watches under the
 * `hollow-proxy` user agent, and an API server restart is survived with the views re-synced.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { adminClientFor, eventually, testCluster } from "../harness.ts";
import { removeTestObjects, startFleetEngine, type EngineProcess } from "../engine-process.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { pickFreePorts } from "../../src/host/ports.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { clusterLayout, readRecord } from "../../src/controlplane/cluster-state.ts";
import { stopDaemon } from "../../src/host/daemon.ts";
import { upCluster } from "../../src/controlplane/local-cluster.ts";
import { resolvePaths } from "../../src/kernel/paths.ts";

const NODES = 50;
const SERVICES = 20;
const FLEET = "it-proxy";
const NS = `it-proxy-${process.pid}`;

interface View {
  node: string;
  services: number;
  endpoints: number;
  lastSyncAt: number;
}

describe("hollow proxy on a real control plane", () => {
  let client: KubeClient;
  let engine: EngineProcess;
  let port = 0;

  const views = async (): Promise<View[]> => {
    const res = await fetch(`http://127.0.0.1:${port}/views`);
    return ((await res.json()) as { views: View[] }).views;
  };
  /** The Services a kube-proxy serves, as the API server has them now ("namespace/name"). */
  const liveServices = async (): Promise<string[]> => {
    const list = await client.get<{ items: { metadata: { namespace: string; name: string } }[] }>(
      "/api/v1/services",
      { labelSelector: "!service.kubernetes.io/service-proxy-name", fieldSelector: "spec.clusterIP!=None" },
    );
    return list.items.map((x) => `${x.metadata.namespace}/${x.metadata.name}`);
  };
  /**
   * Every node's view holds the Services the API server has now, once `ours` finds this file's
   * among them, and `endpoints` or more endpoints. The count is read live at each look, never
   * kept: an earlier file's namespace may still be going, its Services with it.
   */
  const allHold = async (
    ours: (live: string[]) => boolean,
    endpoints: number,
  ): Promise<{ done: boolean; status: string }> => {
    const live = await liveServices();
    if (!ours(live))
      return { done: false, status: `the API server's Services not yet as made: ${live.length}` };
    const v = await views();
    const ok = v.filter((x) => x.services === live.length && x.endpoints >= endpoints).length;
    return {
      done: v.length === NODES && ok === NODES,
      status: `${ok}/${v.length} nodes hold the API server's ${live.length} services, ${endpoints}+ endpoints`,
    };
  };
  /** This file's Services among `live`. */
  const mine = (live: string[]): string[] => live.filter((n) => n.startsWith(`${NS}/`));

  before(async () => {
    client = await adminClientFor();
    port = (await pickFreePorts(1))[0]!;
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    engine = startFleetEngine({ nodes: NODES, fleet: FLEET, namePrefix: "it-proxy" }, [
      "--proxy-healthz-port",
      String(port),
    ]);
    await eventually("the engine to register its nodes", 90_000, () =>
      Promise.resolve({ done: engine.logs().includes('"msg":"nodes registered"'), status: "starting" }),
    );
    await eventually("every proxy view to sync", 60_000, async () => {
      const v = await views();
      return { done: v.length === NODES && v.every((x) => x.lastSyncAt > 0), status: `${v.length} views` };
    });
    // The Services that exist before the test (the "kubernetes" Service, others' still going).
    await eventually("every proxy view to hold the existing Services", 60_000, () => allHold(() => true, 0));
  });

  after(async () => {
    await engine?.stop();
    await removeTestObjects(client, NS, FLEET);
  });

  test("20 Services with endpoints on hollow pods reach every node's proxy view; deleting them empties it", async () => {
    for (let i = 0; i < SERVICES; i++) {
      const app = `svc-${i}`;
      await client.request({
        method: "POST",
        path: `/apis/apps/v1/namespaces/${NS}/deployments`,
        body: {
          metadata: { name: app },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app } },
            template: {
              metadata: { labels: { app } },
              spec: {
                nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
                containers: [
                  { name: "c", image: "registry.k8s.io/pause:3.10", ports: [{ containerPort: 80 }] },
                ],
              },
            },
          },
        },
      });
      await client.request({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/services`,
        body: { metadata: { name: app }, spec: { selector: { app }, ports: [{ port: 80 }] } },
      });
    }
    await eventually("every node's proxy to hold the services and their 40 endpoints", 120_000, () =>
      allHold((live) => mine(live).length === SERVICES, 2 * SERVICES),
    );
    for (let i = 0; i < SERVICES; i++) {
      await client.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}/services/svc-${i}` });
    }
    await eventually("every node's proxy view to drop them", 60_000, () =>
      allHold((live) => mine(live).length === 0, 0),
    );
  });

  test("/healthz is kube-proxy-like and healthy while syncs happen", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { healthy: boolean; lastUpdated: string; currentTime: string };
    assert.equal(body.healthy, true);
    assert.ok(Date.parse(body.currentTime) - Date.parse(body.lastUpdated) < 60_000);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^kubeproxy_sync_proxy_rules_last_timestamp_seconds \d/m);
    assert.match(metrics, /^kubeproxy_sync_proxy_rules_duration_seconds_count \d+/m);
  });

  test("the audit log shows the hollow proxy's watches for each node, none of Nodes, as kubemark's hollow proxy", async (t) => {
    const auditLog = testCluster().auditLog;
    if (!auditLog) {
      t.skip("the test cluster has no audit log");
      return;
    }
    const lines = (await readFile(auditLog, "utf8"))
      .split("\n")
      .filter((l) => l.includes('"userAgent":"hollow-proxy"'));
    const watches = (resource: string): number =>
      lines.filter((l) => l.includes('"verb":"watch"') && l.includes(`"resource":"${resource}"`)).length;
    assert.ok(watches("services") >= NODES, `services watches: ${watches("services")}`);
    assert.ok(watches("endpointslices") >= NODES, `endpointslices watches: ${watches("endpointslices")}`);
    assert.ok(watches("servicecidrs") >= NODES, `servicecidrs watches: ${watches("servicecidrs")}`);
    // What the v1.36.3 kubemark binary's hollow proxy watches, by its audit log: no Node (it has no
    // NodeManager), so none of the fleet's Node WatchLists are the proxies'.
    const watched = new Set(
      lines.filter((l) => l.includes('"verb":"watch"')).map((l) => /"resource":"([^"]+)"/.exec(l)?.[1]),
    );
    assert.deepEqual([...watched].sort(), ["endpointslices", "servicecidrs", "services"]);
    assert.ok(
      lines.some((l) => l.includes('"resource":"events"') && l.includes('"verb":"create"')),
      "startup events",
    );
  });

  test("an API server restart is survived: the views re-sync and stay healthy", async () => {
    const c = testCluster();
    const rec = await readRecord(clusterLayout(c.stateDir, c.name));
    assert.ok(rec);
    await stopDaemon(rec.processes["kube-apiserver"]!, realClock);
    await new Promise((r) => setTimeout(r, 3_000));
    await upCluster(
      { paths: resolvePaths(process.env, { stateDir: c.stateDir }), env: process.env, clock: realClock },
      { name: c.name },
    );
    await client.close();
    client = await adminClientFor();
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/services`,
      body: { metadata: { name: "after-restart" }, spec: { ports: [{ port: 81 }] } },
    });
    await eventually("every node's proxy to see the Service made after the restart", 90_000, () =>
      allHold((live) => live.includes(`${NS}/after-restart`), 0),
    );
    assert.equal(engine.child.exitCode, null, "the engine kept running");
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  });
});
