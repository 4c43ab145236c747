import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultMode, podReachableServer } from "./placement.ts";

test("create defaults to local processes only on a local cluster without workers", () => {
  assert.equal(defaultMode({ localCluster: "kubemark", localWorkers: 0 }), "local");
  assert.equal(defaultMode({ localCluster: "kubemark", localWorkers: 1 }), "in-cluster");
  assert.equal(defaultMode({ localCluster: undefined, localWorkers: 0 }), "in-cluster");
});

test("pods on local workers reach a loopback target through the relay at the Service address", () => {
  assert.equal(podReachableServer({ localWorkers: 1 }, "https://127.0.0.1:34231"), "https://10.0.0.1:34231");
  assert.equal(podReachableServer({ localWorkers: 1 }, "https://localhost:6443/"), "https://10.0.0.1:6443");
  assert.equal(
    podReachableServer({ localWorkers: 1 }, "https://api.example.com:443"),
    "https://api.example.com:443",
  );
  assert.equal(podReachableServer({ localWorkers: 0 }, "https://127.0.0.1:6443"), "https://127.0.0.1:6443");
});
