// `up`: --workers, and its summary's last line, the next useful step for the cluster as it is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeCluster, parseWorkers } from "./up.ts";
import type { ClusterInfo } from "../../controlplane/local-cluster.ts";

test("--workers takes 0 to 8", () => {
  assert.equal(parseWorkers("0"), 0);
  assert.equal(parseWorkers("2"), 2);
  for (const bad of ["-1", "9", "1.5", "abc", ""])
    assert.throws(() => parseWorkers(bad), /--workers must be/);
});

const info: ClusterInfo = {
  name: "kubemark",
  version: "v1.36.3",
  server: "https://127.0.0.1:6443",
  kubeconfig: "/state/clusters/kubemark/kubeconfig",
  stateDir: "/state/clusters/kubemark",
  alreadyRunning: true,
  healthy: true,
  components: [],
};

const nextLine = (text: string): string => text.trim().split("\n").at(-1)!;

test("up's next step: create a fleet into an empty cluster, verify the one it has", () => {
  assert.match(nextLine(describeCluster(info, false)), /^next: \.\/kubemark-cluster create 100 --kubeconfig/);
  assert.match(
    nextLine(describeCluster(info, undefined)),
    /create 100/,
    "when it cannot tell, the general step",
  );
  assert.match(
    nextLine(describeCluster(info, true)),
    /^next: \.\/kubemark-cluster verify --kubeconfig \$\(\.\/kubemark-cluster kubeconfig\)/,
  );
  assert.match(nextLine(describeCluster({ ...info, name: "second" }, true)), /kubeconfig --name second\)/);
});
