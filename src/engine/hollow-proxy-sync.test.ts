// HollowProxy's no-op proxier: changes batched into syncs, the periodic sync, health.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PROXY_MIN_SYNC_MS, PROXY_SYNC_PERIOD_MS } from "./hollow-proxy.ts";
import { SERVICES, SLICES, harness, svc, slice, counts } from "./testdata/proxy-harness.ts";

// ---------------------------------------------------------------- changes

test("services and ready endpoints appear in the view only once the sync runs", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.service("ADDED", svc("b"));
  h.service("ADDED", svc("c", "other"));
  h.slice("ADDED", slice("a-1", "a", [true, false, undefined])); // absent counts as ready: 2
  h.slice("ADDED", slice("a-2", "a", [true])); // 1
  h.slice("ADDED", slice("b-1", "b", [false, false])); // 0
  h.slice("ADDED", slice("c-1", "c", [true, true], "other")); // 2
  h.slice("ADDED", slice("x-1", "unknown", [true, true, true])); // no such service: 0
  h.slice("ADDED", slice("c-elsewhere", "c", [true])); // service c is in "other", not "default": 0
  assert.deepEqual(counts(h.proxy), { services: 0, endpoints: 0 }, "nothing programmed before the sync");
  assert.equal(h.proxy.view().pending, true);
  assert.equal(h.synced.length, 0, "never synced inside the handler");

  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 3, endpoints: 5 });
  const v = h.proxy.view();
  assert.equal(v.pending, false);
  assert.equal(v.syncs, 1);
  assert.equal(h.synced.length, 1, "one sync for the whole batch");
  assert.equal(v.lastSyncAt, h.synced[0]!.at);
  assert.ok(h.synced[0]!.durationMs >= 0);
});

test("a slice with no endpoints field, or null endpoints, counts none", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.slice("ADDED", {
    metadata: { namespace: "default", name: "a-1", labels: { "kubernetes.io/service-name": "a" } },
  });
  h.slice("ADDED", {
    metadata: { namespace: "default", name: "a-2", labels: { "kubernetes.io/service-name": "a" } },
    endpoints: null,
  });
  h.slice("ADDED", { metadata: { namespace: "default", name: "orphan" }, endpoints: [{}] }); // no service label
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 });
});

test("changes within the min sync period are batched into one sync at its end", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  await h.clock.advance(1);
  assert.equal(h.synced.length, 1, "the first change syncs at once (no sync yet to wait after)");
  const first = h.synced[0]!.at;

  for (let i = 0; i < 50; i++) h.slice("ADDED", slice(`a-${i}`, "a", [true]));
  await h.clock.advance(PROXY_MIN_SYNC_MS / 2);
  for (let i = 0; i < 50; i++) h.service("ADDED", svc(`s-${i}`));
  assert.equal(h.synced.length, 1, "no sync within the min period");
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 });
  assert.equal(h.proxy.view().pending, true);

  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.equal(h.synced.length, 2, "one sync for 100 changes");
  assert.equal(h.synced[1]!.at, first + PROXY_MIN_SYNC_MS, "at the end of the min period");
  assert.deepEqual(counts(h.proxy), { services: 51, endpoints: 50 });
  assert.equal(h.proxy.view().pending, false);
});

test("MODIFIED replaces a slice's ready count", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.slice("ADDED", slice("a-1", "a", [true, true, true]));
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 3 });
  h.slice("MODIFIED", slice("a-1", "a", [true, false, false]));
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 1 });
});

test("DELETED events empty the view after the next sync", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.service("ADDED", svc("b"));
  h.slice("ADDED", slice("a-1", "a", [true, true]));
  h.slice("ADDED", slice("b-1", "b", [true]));
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 2, endpoints: 3 });

  h.slice("DELETED", slice("b-1", "b", [true]));
  h.service("DELETED", svc("a")); // a's slice remains but no longer counts
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 });

  h.service("DELETED", svc("b"));
  h.slice("DELETED", slice("a-1", "a", [true, true]));
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 }, "still programmed until the sync");
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 0, endpoints: 0 });
  assert.equal(h.proxy.view().pending, false);
});

test("a relist clears the received state: only re-announced objects remain", async () => {
  const h = harness();
  for (const name of ["a", "b", "c"]) {
    h.service("ADDED", svc(name));
    h.slice("ADDED", slice(`${name}-1`, name, [true, true]));
  }
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 3, endpoints: 6 });

  h.api.handler(SERVICES).onRelistStart?.();
  h.service("ADDED", svc("b"));
  h.api.handler(SERVICES).onSynced?.();
  h.api.handler(SLICES).onRelistStart?.();
  h.slice("ADDED", slice("b-1", "b", [true, true]));
  h.slice("ADDED", slice("c-1", "c", [true])); // c's service is gone after the relist
  h.api.handler(SLICES).onSynced?.();
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 2 });
});

// ---------------------------------------------------------------- periodic sync and health

test("with no changes the proxier still syncs about every sync period", async () => {
  const h = harness();
  await h.clock.advance(5 * 60_000);
  assert.ok(h.synced.length >= 9 && h.synced.length <= 11, `${h.synced.length} syncs in 5 minutes`);
  assert.equal(h.proxy.view().syncs, h.synced.length);
  const gaps = h.synced.slice(1).map((s, i) => s.at - h.synced[i]!.at);
  assert.ok(
    gaps.every((g) => g === PROXY_SYNC_PERIOD_MS),
    `gaps ${gaps.join(",")}`,
  );
  assert.equal(h.proxy.view().pending, false);
});

test("periodic syncs pick up the received state", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.slice("ADDED", slice("a-1", "a", [true]));
  await h.clock.advance(3 * PROXY_SYNC_PERIOD_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 1 });
  assert.ok(h.synced.length >= 3, `${h.synced.length} syncs`);
  assert.equal(h.proxy.view().lastSyncAt, h.synced.at(-1)!.at);
});

test("healthy: true after a sync; false when changes wait and the last sync is over 2 sync periods old", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  await h.clock.advance(1);
  assert.equal(h.proxy.view().syncs, 1);
  assert.equal(h.proxy.healthy(h.clock.now()), true, "right after a sync");

  // A running proxier stays healthy: periodic syncs keep the last sync recent, changes keep coming.
  for (let i = 0; i < 10; i++) {
    h.slice("ADDED", slice(`a-${i}`, "a", [true]));
    await h.clock.advance(PROXY_SYNC_PERIOD_MS / 2);
    assert.equal(h.proxy.healthy(h.clock.now()), true, `at step ${i}`);
  }

  // The proxier gets stuck: nothing runs any more.
  h.queue.stop();
  const lastSync = h.proxy.view().lastSyncAt;
  await h.clock.advance(3 * PROXY_SYNC_PERIOD_MS);
  assert.equal(h.proxy.view().lastSyncAt, lastSync, "no sync while stuck");
  assert.equal(h.proxy.healthy(h.clock.now()), true, "nothing pending: healthy however old the last sync");

  h.service("ADDED", svc("b"));
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.equal(h.proxy.view().pending, true);
  assert.equal(h.proxy.view().lastSyncAt, lastSync);
  assert.equal(h.proxy.healthy(h.clock.now()), false, "pending changes and a sync over 2 periods old");
  assert.equal(
    h.proxy.healthy(lastSync + 2 * PROXY_SYNC_PERIOD_MS),
    true,
    "at exactly 2 periods: not yet late",
  );
  assert.equal(h.proxy.healthy(lastSync + 2 * PROXY_SYNC_PERIOD_MS + 1), false, "just past 2 periods: late");
});

test("healthy before any sync when nothing has been received", async () => {
  const h = harness();
  await h.clock.advance(PROXY_SYNC_PERIOD_MS / 4);
  assert.equal(h.proxy.view().lastSyncAt, 0);
  assert.equal(h.proxy.healthy(h.clock.now()), true);
});
