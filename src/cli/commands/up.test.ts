// `up`'s summary: its last line is the next useful step for the cluster as it is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeCluster } from "./up.ts";
import type { ClusterInfo } from "../../controlplane/local-cluster.ts";

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
