import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../kernel/clock.ts";
import { objectPath } from "./apply.ts";
import { awaitNamespaceDeletion, deletionHolders, type NamespaceDeletion } from "./namespace-deletion.ts";
import { FakeStore, fakeFleet } from "./testdata/fake-fleet.ts";
import { createFleet } from "./verbs/create.ts";

const NS = objectPath("Namespace", "kubemark");

/** `create 1`, waiting for Ready. */
const CREATE_ONE = { verb: "create", wait: true, timeoutMs: 60_000, stallMs: 30_000, nodes: 1 } as const;

/** Requests that change something (access reviews only ask). */
function writes(store: FakeStore): string[] {
  return store.requests.filter((r) => !r.startsWith("GET") && !r.endsWith("accessreviews"));
}

/** A namespace the namespace controller is deleting, held by what `holders` says. */
function terminating(store: FakeStore, holders?: string): void {
  store.put(NS, {
    metadata: { name: "kubemark", deletionTimestamp: "2026-01-01T00:00:00Z" },
    ...(holders
      ? {
          status: {
            phase: "Terminating",
            conditions: [
              {
                type: "NamespaceDeletionDiscoveryFailure",
                status: "False",
                message: "All resources successfully discovered",
              },
              { type: "NamespaceFinalizersRemaining", status: "True", message: holders },
            ],
          },
        }
      : {}),
  });
}

test("a namespace that is not being deleted is not waited for", async () => {
  const store = new FakeStore();
  const clock = new FakeClock();
  let waits = 0;
  const opts = { clock, onWait: () => waits++ };
  assert.deepEqual(await awaitNamespaceDeletion(store.client(), "kubemark", opts), { state: "absent" });
  store.put(NS, { metadata: { name: "kubemark" } });
  assert.deepEqual(await awaitNamespaceDeletion(store.client(), "kubemark", opts), { state: "present" });
  assert.equal(waits, 0);
});

test("a namespace being deleted is read every second until it is gone", async () => {
  const store = new FakeStore();
  const clock = new FakeClock();
  terminating(store);
  let waits = 0;
  let result: NamespaceDeletion | undefined;
  void awaitNamespaceDeletion(store.client(), "kubemark", { clock, onWait: () => waits++ }).then((r) => {
    result = r;
  });
  await clock.advance(5_000);
  assert.equal(result, undefined, "still waiting while it is there");
  assert.equal(waits, 1, "the wait is announced once");
  const reads = store.requests.filter((r) => r === `GET ${NS}`).length;
  assert.ok(reads >= 5 && reads <= 7, `about one read a second, got ${reads} in 5 s`);
  store.objects.delete(NS);
  await clock.advance(1_000);
  assert.deepEqual(result, { state: "gone", waitedMs: 6_000 });
});

test("a namespace held past the wait: what holds it, in the controller's words", async () => {
  const store = new FakeStore();
  const clock = new FakeClock();
  terminating(
    store,
    "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
  );
  let result: NamespaceDeletion | undefined;
  void awaitNamespaceDeletion(store.client(), "kubemark", { clock, timeoutMs: 10_000 }).then((r) => {
    result = r;
  });
  await clock.advance(9_000);
  assert.equal(result, undefined);
  await clock.advance(2_000);
  assert.deepEqual(result, {
    state: "terminating",
    waitedMs: 10_000,
    holders:
      "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
  });
  assert.equal(deletionHolders({ metadata: {} }), undefined, "no conditions: nothing named");
});

test("create waits for its namespace to finish being deleted, then makes it again", async () => {
  const f = fakeFleet();
  terminating(f.store);
  let done = false;
  const created = createFleet(f.session, CREATE_ONE).then((r) => {
    done = true;
    return r;
  });
  await f.clock.advance(3_000);
  assert.equal(done, false, "nothing is made in a namespace being deleted");
  assert.ok(
    f.events.some((e) => e.kind === "step" && /namespace kubemark is being deleted; waiting/.test(e.message)),
    "the wait is said",
  );
  assert.deepEqual(writes(f.store), [], "nothing written yet");
  f.store.objects.delete(NS);
  for (let i = 0; i < 20 && !done; i++) await f.clock.advance(1_000);
  await created;
  const ns = f.store.objects.get(NS);
  assert.ok(ns && !ns.metadata?.deletionTimestamp, "the namespace is made again");
});

test("create gives up on a namespace held past the wait, naming what holds it and changing nothing", async () => {
  const f = fakeFleet();
  terminating(f.store, "Some resources are remaining: configmaps. has 1 resource instances");
  const created = createFleet(f.session, CREATE_ONE);
  const rejected = assert.rejects(created, (err: Error & { hint?: string }) => {
    assert.match(
      err.message,
      /namespace kubemark is still being deleted after 120 s: Some resources are remaining: configmaps/,
    );
    assert.match(err.hint ?? "", /kubectl get namespace kubemark/);
    return true;
  });
  await f.clock.advance(121_000);
  await rejected;
  assert.deepEqual(writes(f.store), []);
});
