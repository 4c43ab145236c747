import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineMetrics, resourceOf } from "./metrics.ts";

test("resourceOf names the resource and subresource of a request path", () => {
  const cases: Array<[string, string]> = [
    ["/api/v1/namespaces/x/pods/y/status", "pods/status"],
    ["/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n", "leases"],
    ["/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", "leases"],
    ["/api/v1/nodes", "nodes"],
    ["/api/v1/nodes/n", "nodes"],
    ["/api/v1/nodes/n/status", "nodes/status"],
    ["/api/v1/pods?fieldSelector=spec.nodeName%3Dn&watch=1", "pods"],
    ["/api/v1/namespaces/x/pods", "pods"],
    ["/api/v1/namespaces/x/pods/y", "pods"],
    ["/api/v1/namespaces/x/serviceaccounts/default/token", "serviceaccounts/token"],
    ["/api/v1/namespaces", "namespaces"],
    ["/api/v1/namespaces/x", "namespaces"],
    ["/apis/storage.k8s.io/v1/csinodes", "csinodes"],
    ["/apis/node.k8s.io/v1/runtimeclasses", "runtimeclasses"],
  ];
  for (const [path, want] of cases) assert.equal(resourceOf(path), want, path);
});

test("EngineMetrics counts requests, errors and late renewals", async () => {
  const m = new EngineMetrics({ processMetrics: false });
  m.apiResponse("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n", 200, 5);
  m.apiResponse("PATCH", "/api/v1/nodes/n/status", 500, 7);
  m.apiResponse("GET", "/api/v1/nodes/n", 0, 30_000);
  m.leaseRenewed(5, 0);
  m.leaseRenewed(5, 1_500);
  assert.deepEqual(m.totals, {
    leaseRenewals: 2,
    lateRenewals: 1,
    maxLatenessMs: 1_500,
    podsStarted: 0,
    requests: 3,
    errors: 2,
  });
  const text = await m.registry.metrics();
  assert.match(text, /hollow_api_requests_total\{verb="patch",resource="nodes\/status",code="500"\} 1/);
  assert.match(text, /hollow_api_requests_total\{verb="put",resource="leases",code="200"\} 1/);
});
