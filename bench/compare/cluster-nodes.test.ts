import { test } from "node:test";
import assert from "node:assert/strict";
import { NODES_PATH } from "../../src/kernel/k8s.ts";
import { PushWatchClient } from "../../src/fleet/testdata/push-watch-client.ts";
import { watchReadyNodes } from "./cluster-nodes.ts";

const node = (name: string, ready: boolean): object => ({
  metadata: { name, resourceVersion: "1" },
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

test("watchReadyNodes: one labelled Node watch; the moment the target is first all Ready, not before the list has ended", () => {
  const client = new PushWatchClient();
  const count = watchReadyNodes(client, "kwok", 2);
  assert.equal(client.opens.length, 1);
  assert.equal(client.opens[0]!.path, NODES_PATH);
  assert.equal(client.opens[0]!.query.labelSelector, "bench-system=kwok");
  client.push(NODES_PATH, "ADDED", node("a", true));
  client.push(NODES_PATH, "ADDED", node("b", false));
  assert.equal(count.readyAt(), undefined, "1 of 2 Ready");
  client.synced(NODES_PATH);
  assert.equal(count.readyAt(), undefined);
  client.push(NODES_PATH, "MODIFIED", node("a", false));
  client.push(NODES_PATH, "MODIFIED", node("b", true));
  assert.equal(count.readyAt(), undefined, "still 1 of 2: a went NotReady as b became Ready");
  const before = Date.now();
  client.push(NODES_PATH, "MODIFIED", node("a", true));
  const at = count.readyAt();
  assert.ok(at !== undefined && at >= before && at <= Date.now());
  client.push(NODES_PATH, "DELETED", node("a", true));
  assert.equal(count.readyAt(), at, "the first moment is kept");
  count.stop();
  assert.equal(client.openStreams, 0);
});

test("watchReadyNodes: the initial list alone can reach the target (a system already Ready)", () => {
  const client = new PushWatchClient();
  const count = watchReadyNodes(client, "hollow-node", 1);
  client.push(NODES_PATH, "ADDED", node("a", true));
  assert.equal(count.readyAt(), undefined, "not before the list has ended");
  client.synced(NODES_PATH);
  assert.ok(count.readyAt() !== undefined);
  count.stop();
});
