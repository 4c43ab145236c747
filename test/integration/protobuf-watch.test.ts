/**
 * The kubelet's and kube-proxy's watches in protobuf against the real API server (#22): a
 * Watcher asking for a type in protobuf, as the engine's kubelet and proxy watches do, over the
 * lean HTTP/2 transport and over undici, receives the same objects (the read schema's fields) as
 * a JSON watch of the same thing: WatchList's initial events and its end bookmark, then later
 * changes. (An ERROR event's Status in protobuf is unit-tested in protobuf-watch.test.ts.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { KubeClient } from "../../src/client/kube-client.ts";
import { loadClusterAccess } from "../../src/client/kubeconfig.ts";
import type { ProtoType } from "../../src/client/protobuf-schema.ts";
import { ENDPOINT_SLICE, NODE, SERVICE, watchedOnly } from "../../src/client/protobuf-types.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { Watcher, type Versioned } from "../../src/engine/watcher.ts";
import { FleetWatch } from "../../src/fleet/fleet-watch.ts";
import { FLEET_LABEL, NODE_LEASES_PATH } from "../../src/kernel/k8s.ts";
import { testCluster } from "../harness.ts";

const NS = `it-pbwatch-${process.pid}`;
const NODE_NAME = `it-pbwatch-${process.pid}`;

/** What a watch has seen: the objects by name, whether its initial list ended, errors. */
interface Seen {
  objects: Map<string, Versioned & Record<string, unknown>>;
  synced: boolean;
  errors: string[];
}

describe("protobuf watches as a kubelet's client asks for them, on the real API server", () => {
  const clients: KubeClient[] = [];
  const watchers: Watcher<Versioned>[] = [];
  let admin: KubeClient;

  async function client(lean: boolean): Promise<KubeClient> {
    const access = await loadClusterAccess({ kubeconfig: testCluster().kubeconfig, env: process.env });
    const c = new KubeClient(access, {
      userAgent: "kubemark-it",
      ...(lean ? { leanWatches: true, leanRequests: true } : {}),
    });
    clients.push(c);
    return c;
  }

  function watch(c: KubeClient, path: string, query: Record<string, string>, proto?: ProtoType): Seen {
    const seen: Seen = { objects: new Map(), synced: false, errors: [] };
    const w = new Watcher<Versioned & Record<string, unknown>>(
      c,
      path,
      query,
      {
        onEvent: (type, obj) => {
          const name = (obj.metadata as { name: string }).name;
          if (type === "DELETED") seen.objects.delete(name);
          else seen.objects.set(name, obj);
        },
        onSynced: () => {
          seen.synced = true;
        },
      },
      {
        clock: realClock,
        random: Math.random,
        watchList: { enabled: true },
        onError: (err) => seen.errors.push(String(err)),
      },
      proto,
    );
    w.start();
    watchers.push(w);
    return seen;
  }

  async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  before(async () => {
    admin = await client(false);
    await admin.request({
      method: "POST",
      path: "/api/v1/namespaces",
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    });
    await admin.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/services`,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: {
          ports: [
            { name: "http", port: 80, targetPort: "http" },
            { name: "https", port: 443, targetPort: 8443 },
          ],
        },
      },
    });
    await admin.request({
      method: "POST",
      path: `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`,
      body: {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "web-1", labels: { "kubernetes.io/service-name": "web" } },
        addressType: "IPv4",
        endpoints: [
          { addresses: ["10.1.0.1"], conditions: { ready: true } },
          { addresses: ["10.1.0.2"], conditions: { ready: false } },
          { addresses: ["10.1.0.3"] },
        ],
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      },
    });
    await admin.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/secrets`,
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "s" },
        stringData: { token: "x".repeat(64) },
      },
    });
    await admin.request({
      method: "POST",
      path: "/api/v1/nodes",
      body: {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: NODE_NAME, labels: { "kubemark-cluster.io/test": "pbwatch" } },
      },
    });
  });

  after(async () => {
    for (const w of watchers) w.stop();
    await admin.request({ method: "DELETE", path: `/api/v1/nodes/${NODE_NAME}` }).catch(() => undefined);
    // The Service goes before this file ends: a namespace's deletion takes its Services some
    // seconds later, and the next file (proxy.test.ts) counts the cluster's Services.
    const svc = `/api/v1/namespaces/${NS}/services/web`;
    await admin.request({ method: "DELETE", path: svc }).catch(() => undefined);
    await until("the Service gone", async () =>
      admin.get(svc).then(
        () => false,
        (err: unknown) => (err as { status?: number }).status === 404,
      ),
    );
    await admin.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}` }).catch(() => undefined);
    for (const c of clients) await c.close();
  });

  for (const lean of [true, false]) {
    const transport = lean ? "lean HTTP/2" : "undici";

    test(`${transport}: Services and EndpointSlices read in protobuf as in JSON (initial events, then changes)`, async () => {
      const c = await client(lean);
      const q = { fieldSelector: `metadata.namespace=${NS}` };
      const pbSvc = watch(c, "/api/v1/services", q, SERVICE);
      const jsonSvc = watch(c, "/api/v1/services", q);
      const pbSlices = watch(c, "/apis/discovery.k8s.io/v1/endpointslices", q, ENDPOINT_SLICE);
      const jsonSlices = watch(c, "/apis/discovery.k8s.io/v1/endpointslices", q);
      await until("the initial lists", () => [pbSvc, jsonSvc, pbSlices, jsonSlices].every((s) => s.synced));

      const ports = (s: Seen): number[] =>
        [...s.objects.values()].map((o) => (o["spec"] as { ports?: unknown[] }).ports?.length ?? 0);
      assert.deepEqual(ports(pbSvc), [2]);
      assert.deepEqual(ports(pbSvc), ports(jsonSvc));
      // Read in protobuf with the read schema: what kube-proxy does not read is not there.
      const clusterIP = (s: Seen): unknown =>
        (s.objects.get("web")?.["spec"] as { clusterIP?: string }).clusterIP;
      assert.equal(clusterIP(pbSvc), undefined);
      assert.ok(clusterIP(jsonSvc), "the JSON watch has the whole Service");
      const ready = (s: Seen): (boolean | undefined)[] =>
        [...s.objects.values()].flatMap((o) =>
          ((o["endpoints"] as { conditions?: { ready?: boolean } }[] | undefined) ?? []).map(
            (e) => e.conditions?.ready,
          ),
        );
      // The third endpoint has no readiness (kube-proxy counts it ready): absent in both encodings.
      assert.deepEqual(ready(pbSlices), [true, false, undefined]);
      assert.deepEqual(ready(pbSlices), ready(jsonSlices));
      const labels = pbSlices.objects.get("web-1")?.metadata as
        { labels?: Record<string, string> } | undefined;
      assert.equal(labels?.labels?.["kubernetes.io/service-name"], "web");

      // A change after the initial list comes through as a MODIFIED event in protobuf too.
      await admin.request({
        method: "PATCH",
        path: `/api/v1/namespaces/${NS}/services/web`,
        patchType: "merge",
        body: { spec: { ports: [{ name: "http", port: 80, targetPort: "http" }] } },
      });
      await until("the change", () => ports(pbSvc)[0] === 1 && ports(jsonSvc)[0] === 1);
      assert.equal(
        pbSvc.objects.get("web")?.metadata.resourceVersion,
        jsonSvc.objects.get("web")?.metadata.resourceVersion,
      );
      assert.deepEqual([...pbSvc.errors, ...pbSlices.errors], []);
      await admin.request({
        method: "PATCH",
        path: `/api/v1/namespaces/${NS}/services/web`,
        patchType: "merge",
        body: {
          spec: {
            ports: [
              { name: "http", port: 80, targetPort: "http" },
              { name: "https", port: 443, targetPort: 8443 },
            ],
          },
        },
      });
    });

    test(`${transport}: the kubelet's Node and Secret watches in protobuf (the Node's read fields, no Secret data)`, async () => {
      const c = await client(lean);
      const node = watch(c, "/api/v1/nodes", { fieldSelector: `metadata.name=${NODE_NAME}` }, NODE);
      const secret = watch(
        c,
        `/api/v1/namespaces/${NS}/secrets`,
        { fieldSelector: "metadata.name=s" },
        watchedOnly("v1", "Secret"),
      );
      await until("the initial lists", () => node.synced && secret.synced);
      const n = node.objects.get(NODE_NAME) as {
        metadata: { labels?: Record<string, string>; uid?: string };
      };
      assert.equal(n.metadata.labels?.["kubemark-cluster.io/test"], "pbwatch");
      assert.ok(n.metadata.uid);
      const s = secret.objects.get("s");
      assert.ok(s?.metadata.resourceVersion);
      assert.equal(s["data"], undefined, "a watched-only Secret's data is not decoded");

      await admin.request({
        method: "PATCH",
        path: `/api/v1/nodes/${NODE_NAME}/status`,
        patchType: "strategic",
        body: {
          status: { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "ok" }] },
        },
      });
      await until("the Node's condition", () => {
        const got = node.objects.get(NODE_NAME) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        return got.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") === true;
      });
      assert.deepEqual([...node.errors, ...secret.errors], []);
    });
  }

  test("the CLI's fleet census in protobuf (both transports): readiness, kubelet version, age and Lease renewals as in JSON", async () => {
    const prefix = `it-pbcensus-${process.pid}`;
    const name = `${prefix}-0`;
    const nodePath = `/api/v1/nodes/${name}`;
    const leasePath = `${NODE_LEASES_PATH}/${name}`;
    const setReady = (ready: boolean, more: Record<string, unknown> = {}): Promise<unknown> =>
      admin.request({
        method: "PATCH",
        path: `${nodePath}/status`,
        patchType: "strategic",
        body: {
          status: {
            conditions: [{ type: "Ready", status: ready ? "True" : "False", reason: "Test", message: "set" }],
            ...more,
          },
        },
      });
    try {
      await admin.request({
        method: "POST",
        path: "/api/v1/nodes",
        body: {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name, labels: { [FLEET_LABEL]: prefix, "hollow-node": "true" } },
        },
      });
      await setReady(true, { nodeInfo: { kubeletVersion: "v1.36.3" } });
      await admin.request({
        method: "POST",
        path: NODE_LEASES_PATH,
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name },
          spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: "2026-12-01T10:00:00.123456Z" },
        },
      });
      const json = await admin.get<{ metadata: { creationTimestamp: string } }>(nodePath);
      for (const lean of [true, false]) {
        const w = new FleetWatch(await client(lean), { clock: realClock, fleet: prefix, namePrefix: prefix });
        w.start();
        try {
          await until(
            "the census and the renewals",
            () => w.census({ nodes: 1, namePrefix: prefix })?.ready === 1 && w.renewals()?.has(name) === true,
          );
          assert.deepEqual(w.census({ nodes: 1, namePrefix: prefix })!.nodes, [
            { name, ready: true, version: "v1.36.3", created: json.metadata.creationTimestamp },
          ]);
          assert.equal(w.renewals()!.get(name), Date.parse("2026-12-01T10:00:00.123456Z"));
          // A change reaches it too: the Node goes NotReady.
          await setReady(false);
          await until("NotReady", () => w.census({ nodes: 1, namePrefix: prefix })?.ready === 0);
          assert.equal(w.lastError, undefined);
        } finally {
          w.stop();
        }
        await setReady(true);
      }
    } finally {
      await admin.request({ method: "DELETE", path: nodePath }).catch(() => undefined);
      await admin.request({ method: "DELETE", path: leasePath }).catch(() => undefined);
    }
  });
});
