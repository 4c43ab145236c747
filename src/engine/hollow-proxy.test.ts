// HollowProxy: its watches, its startup Event, stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PROXY_SYNC_PERIOD_MS } from "./hollow-proxy.ts";
import {
  NAME,
  SERVICES,
  SLICES,
  SERVICE_CIDRS,
  EVENTS,
  harness,
  svc,
  counts,
} from "./testdata/proxy-harness.ts";

// ---------------------------------------------------------------- start

test("start opens the hollow proxy's watches with kube-proxy's selectors, none of its Node; no ServiceCIDRs watch when not served", () => {
  const { api } = harness({ serviceCIDRs: false });
  assert.deepEqual(
    api.watches.map((w) => ({ path: w.path, query: w.query })),
    [
      {
        path: SERVICES,
        query: {
          labelSelector: "!service.kubernetes.io/service-proxy-name",
          fieldSelector: "spec.clusterIP!=None",
        },
      },
      { path: SLICES, query: { labelSelector: "!service.kubernetes.io/headless" } },
    ],
  );
  assert.ok(api.watches.every((w) => !w.stopped));
});

test("start also watches ServiceCIDRs when the API server serves them", () => {
  const { api } = harness({ serviceCIDRs: true });
  assert.deepEqual(
    api.watches.map((w) => w.path),
    [SERVICES, SLICES, SERVICE_CIDRS],
  );
  assert.equal(api.watches.length, 3);
});

test("kube-proxy's watches ask for protobuf as its client does, none with --kube-api-content-type json", () => {
  const kinds = (proto: { apiVersion: string; kind: string } | undefined): string =>
    proto ? `${proto.apiVersion} ${proto.kind}` : "json";
  const pb = harness({ serviceCIDRs: true });
  assert.deepEqual(
    pb.api.watches.map((w) => kinds(w.proto)),
    ["v1 Service", "discovery.k8s.io/v1 EndpointSlice", "networking.k8s.io/v1 ServiceCIDR"],
  );
  const json = harness({ serviceCIDRs: true, leaseContentType: "json" });
  assert.deepEqual(
    json.api.watches.map((w) => kinds(w.proto)),
    ["json", "json", "json"],
  );
});

test("start posts one events.k8s.io/v1 Starting Event on the Node, through the proxy's API", () => {
  const { api, clock } = harness();
  assert.equal(api.requests.length, 1);
  const req = api.requests[0]!;
  assert.equal(req.method, "POST");
  assert.equal(req.path, EVENTS);
  const body = req.body as {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string };
    eventTime: string;
    reason: string;
    action: string;
    type: string;
    reportingController: string;
    reportingInstance: string;
    regarding: Record<string, string>;
  };
  assert.equal(body.apiVersion, "events.k8s.io/v1");
  assert.equal(body.kind, "Event");
  assert.equal(body.metadata.namespace, "default");
  assert.ok(body.metadata.name.startsWith(`${NAME}.`), body.metadata.name);
  assert.equal(body.reason, "Starting");
  assert.equal(body.action, "StartKubeProxy");
  assert.equal(body.type, "Normal");
  assert.equal(body.reportingController, "kube-proxy");
  assert.equal(body.reportingInstance, `kube-proxy-${NAME}`);
  // As the hollow proxy's NodeRef: by name, no uid.
  assert.deepEqual(body.regarding, { apiVersion: "v1", kind: "Node", name: NAME });
  assert.equal(Date.parse(body.eventTime), clock.now());
});

test("a failed startup Event is logged, not thrown", async () => {
  const h = harness({ start: false });
  h.api.failWith = new Error("boom");
  h.proxy.start();
  await h.clock.advance(1); // an unhandled rejection would fail the test run
  assert.equal(h.api.requests.length, 1);
});

test("nothing is synced before any change or the first periodic sync", async () => {
  const h = harness();
  await h.clock.advance(PROXY_SYNC_PERIOD_MS / 2 - 1);
  assert.equal(h.synced.length, 0);
  const v = h.proxy.view();
  assert.deepEqual(v, { node: NAME, services: 0, endpoints: 0, lastSyncAt: 0, syncs: 0, pending: false });
});

// ---------------------------------------------------------------- stop

test("stop closes every watch and no sync happens afterwards", async () => {
  const h = harness({ serviceCIDRs: true });
  h.service("ADDED", svc("a"));
  await h.clock.advance(1);
  assert.equal(h.synced.length, 1);

  h.service("ADDED", svc("b")); // queued for the end of the min period
  h.proxy.stop();
  assert.equal(h.api.watches.length, 3);
  assert.ok(
    h.api.watches.every((w) => w.stopped),
    "every watch stopped",
  );

  h.service("ADDED", svc("c")); // a late event from a closing stream
  await h.clock.advance(5 * 60_000);
  assert.equal(h.synced.length, 1, "no sync after stop (neither the queued one nor periodic ones)");
  assert.equal(h.proxy.view().syncs, 1);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 });
});
