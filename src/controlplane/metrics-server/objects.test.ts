import { test } from "node:test";
import assert from "node:assert/strict";
import { apiServiceAvailability, metricsServerObjects } from "./objects.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const objects = metricsServerObjects(4443, CA);
const byName = (kind: string, name: string): Record<string, unknown> => {
  const o = objects.find((x) => x.body.kind === kind && x.body.metadata.name === name);
  assert.ok(o, `${kind} ${name}`);
  return o.body;
};

test("the upstream RBAC, bound to metrics-server's certificate user", () => {
  assert.deepEqual(byName("ClusterRole", "system:metrics-server")["rules"], [
    { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
    { apiGroups: [""], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] },
  ]);
  const user = { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "system:metrics-server" };
  for (const [kind, name, role] of [
    ["ClusterRoleBinding", "system:metrics-server", "system:metrics-server"],
    ["ClusterRoleBinding", "metrics-server:system:auth-delegator", "system:auth-delegator"],
    ["RoleBinding", "metrics-server-auth-reader", "extension-apiserver-authentication-reader"],
  ] as const) {
    const b = byName(kind, name);
    assert.deepEqual(b["subjects"], [user], name);
    assert.equal((b["roleRef"] as { name: string }).name, role, name);
  }
  const reader = byName("ClusterRole", "system:aggregated-metrics-reader");
  assert.equal(
    (reader["metadata"] as { labels: Record<string, string> }).labels[
      "rbac.authorization.k8s.io/aggregate-to-view"
    ],
    "true",
  );
});

test("the APIService names the Service and port, verifies the serving certificate with the CA bundle", () => {
  const spec = byName("APIService", "v1beta1.metrics.k8s.io")["spec"];
  assert.deepEqual(spec, {
    service: { name: "metrics-server", namespace: "kube-system", port: 4443 },
    group: "metrics.k8s.io",
    version: "v1beta1",
    insecureSkipTLSVerify: false,
    caBundle: Buffer.from(CA).toString("base64"),
    groupPriorityMinimum: 100,
    versionPriority: 100,
  });
  assert.deepEqual(byName("Service", "metrics-server")["spec"], {
    type: "ExternalName",
    externalName: "localhost",
  });
  // RBAC first: the aggregator calls metrics-server as soon as the APIService exists.
  assert.equal(objects.at(-1)?.body.kind, "APIService");
});

test("apiServiceAvailability reads the Available condition", () => {
  const cases: [unknown, boolean, RegExp][] = [
    [{}, false, /no Available condition/],
    [
      { status: { conditions: [{ type: "Available", status: "True", reason: "Passed" }] } },
      true,
      /^Available$/,
    ],
    [
      {
        status: {
          conditions: [
            {
              type: "Available",
              status: "False",
              reason: "FailedDiscoveryCheck",
              message: "failing or missing response",
            },
          ],
        },
      },
      false,
      /FailedDiscoveryCheck: failing or missing response/,
    ],
  ];
  for (const [obj, available, detail] of cases) {
    const a = apiServiceAvailability(obj);
    assert.equal(a.available, available);
    assert.match(a.detail, detail);
  }
});
