import { test } from "node:test";
import assert from "node:assert/strict";
import {
  forbiddenMessage,
  isSubpath,
  requestAttributes,
  subjectAccessReviewSpec,
} from "./request-attributes.ts";

test("paths map to the kubelet's subresources (fine-grained first, then proxy)", () => {
  const cases: Array<[string, string, string, string[]]> = [
    ["GET", "/pods", "get", ["pods", "proxy"]],
    ["GET", "/pods/", "get", ["pods", "proxy"]],
    ["GET", "/runningpods/", "get", ["pods", "proxy"]],
    ["GET", "/healthz", "get", ["healthz", "proxy"]],
    ["GET", "/healthz/ping", "get", ["healthz", "proxy"]],
    ["GET", "/configz", "get", ["configz", "proxy"]],
    ["GET", "/statusz", "get", ["statusz", "proxy"]],
    ["GET", "/stats/summary", "get", ["stats"]],
    ["GET", "/stats", "get", ["stats"]],
    ["GET", "/metrics", "get", ["metrics"]],
    ["GET", "/metrics/resource", "get", ["metrics"]],
    ["GET", "/metrics/cadvisor", "get", ["metrics"]],
    ["GET", "/logs/syslog", "get", ["log"]],
    ["POST", "/checkpoint/ns/p/c", "create", ["checkpoint"]],
    // Container logs and streaming are proxy, as on a kubelet.
    ["GET", "/containerLogs/ns/p/c", "get", ["proxy"]],
    ["POST", "/exec/ns/p/c", "create", ["proxy"]],
    ["GET", "/portForward/ns/p", "get", ["proxy"]],
    ["PUT", "/podsx", "update", ["proxy"]],
    ["DELETE", "/metricsfoo", "delete", ["proxy"]],
    ["PATCH", "/statsx", "patch", ["proxy"]],
    ["OPTIONS", "/pods", "", ["pods", "proxy"]],
  ];
  for (const [method, path, verb, subresources] of cases) {
    assert.deepEqual(
      requestAttributes(method, path, "n-1"),
      { verb, resource: "nodes", node: "n-1", subresources },
      `${method} ${path}`,
    );
  }
});

test("isSubpath is the kubelet's: the path itself or below it, not a longer name", () => {
  assert.equal(isSubpath("/stats", "/stats/"), true);
  assert.equal(isSubpath("/stats/summary", "/stats/"), true);
  assert.equal(isSubpath("/statsx", "/stats/"), false);
  assert.equal(isSubpath("/", "/stats/"), false);
});

test("the 403 body and the review spec", () => {
  const user = {
    name: "system:serviceaccount:ns:sa",
    uid: "u1",
    groups: ["system:serviceaccounts", "system:authenticated"],
  };
  const a = requestAttributes("GET", "/pods", "n-1");
  assert.equal(
    forbiddenMessage(user, a),
    "Forbidden (user=system:serviceaccount:ns:sa, verb=get, resource=nodes, subresource(s)=[pods proxy])\n",
  );
  assert.deepEqual(subjectAccessReviewSpec(user, a, "pods"), {
    resourceAttributes: {
      namespace: "",
      verb: "get",
      group: "",
      version: "v1",
      resource: "nodes",
      subresource: "pods",
      name: "n-1",
    },
    user: "system:serviceaccount:ns:sa",
    uid: "u1",
    groups: ["system:serviceaccounts", "system:authenticated"],
  });
});
