// Leader election against a fake Lease store with the API server's resourceVersion check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../kernel/clock.ts";
import { DueQueue } from "../due-queue.ts";
import { LeaderElector, type LeaderElectionRecord, type LeaseLock } from "./leader-election.ts";

/** One Lease in a store; each candidate's lock remembers the resourceVersion it last saw. */
class FakeLeaseStore {
  record: LeaderElectionRecord | undefined;
  rv = 0;
  writes = 0;
  /** Candidates whose requests fail (a partitioned process). */
  readonly down = new Set<string>();

  lock(who: string): LeaseLock {
    let seen = -1;
    const reachable = (): void => {
      if (this.down.has(who)) throw new Error(`${who}: connection refused`);
    };
    return {
      get: () => {
        reachable();
        seen = this.rv;
        return Promise.resolve(this.record);
      },
      create: (r) => {
        reachable();
        if (this.record) return Promise.reject(new Error("409 AlreadyExists"));
        this.record = r;
        seen = ++this.rv;
        this.writes++;
        return Promise.resolve();
      },
      update: (r) => {
        reachable();
        if (seen !== this.rv) return Promise.reject(new Error("409 Conflict"));
        this.record = r;
        seen = ++this.rv;
        this.writes++;
        return Promise.resolve();
      },
    };
  }
}

interface Candidate {
  elector: LeaderElector;
  transitions: string[];
}

function candidates(names: string[], random = () => 0.5) {
  const clock = new FakeClock();
  const store = new FakeLeaseStore();
  const queue = new DueQueue({ clock, concurrency: Infinity, onError: (e) => assert.fail(String(e)) });
  const out = new Map<string, Candidate>();
  for (const name of names) {
    const transitions: string[] = [];
    const elector = new LeaderElector({
      lock: store.lock(name),
      identity: name,
      clock,
      random,
      schedule: (ms, fn) => queue.after(ms, fn),
      onStartedLeading: () => transitions.push("started"),
      onStoppedLeading: () => transitions.push("stopped"),
    });
    out.set(name, { elector, transitions });
  }
  const leaders = (): string[] => [...out].filter(([, c]) => c.elector.isLeading).map(([n]) => n);
  return { clock, store, queue, c: (n: string) => out.get(n)!, leaders };
}

test("election: of two candidates started together exactly one leads, and keeps leading while it renews", async () => {
  const { clock, store, c, leaders } = candidates(["a", "b"]);
  c("a").elector.start();
  c("b").elector.start();
  await clock.advance(1_000);
  assert.deepEqual(leaders(), ["a"]);
  assert.equal(store.record?.holderIdentity, "a");
  assert.equal(store.record?.leaseDurationSeconds, 15);
  assert.equal(store.record?.leaseTransitions, 0);
  const acquired = store.record?.acquireTime;
  await clock.advance(120_000);
  assert.deepEqual(leaders(), ["a"], "b never takes over a Lease that is renewed");
  assert.deepEqual(c("b").transitions, []);
  assert.equal(store.record?.acquireTime, acquired, "renewals keep acquireTime");
  assert.ok(Date.parse(store.record.renewTime) > clock.now() - 6_000, "renewed every 5 s");
  assert.ok(store.writes >= 20 && store.writes <= 26, `${store.writes} writes in 2 min`);
});

test("election: when the leader stops renewing, the other takes over after the lease duration, with a transition", async () => {
  const { clock, store, c, leaders } = candidates(["a", "b"]);
  c("a").elector.start();
  await clock.advance(100);
  c("b").elector.start();
  await clock.advance(10_000);
  assert.deepEqual(leaders(), ["a"]);
  store.down.add("a");
  const cut = clock.now();
  await clock.advance(9_000);
  assert.deepEqual(leaders(), ["a"], "a still leads within its renew deadline");
  await clock.advance(3_000);
  assert.deepEqual(leaders(), [], "a stopped leading after the 10 s renew deadline");
  assert.deepEqual(c("a").transitions, ["started", "stopped"]);
  await clock.advance(20_000);
  assert.deepEqual(leaders(), ["b"]);
  assert.equal(store.record?.holderIdentity, "b");
  assert.equal(store.record?.leaseTransitions, 1);
  const took = Date.parse(store.record.acquireTime) - cut;
  assert.ok(took >= 15_000 && took <= 30_000, `b took over ${took} ms after a's last renewal`);
  // a comes back: it finds b's valid Lease and stays a candidate.
  store.down.delete("a");
  await clock.advance(60_000);
  assert.deepEqual(leaders(), ["b"]);
});

test("election: a released Lease is taken at the next attempt, without waiting for it to expire", async () => {
  const { clock, store, c, leaders } = candidates(["a", "b"]);
  c("a").elector.start();
  await clock.advance(100);
  c("b").elector.start();
  await clock.advance(10_000);
  await c("a").elector.stop(true);
  assert.equal(store.record?.holderIdentity, "");
  assert.deepEqual(c("a").transitions, ["started", "stopped"]);
  const released = clock.now();
  await clock.advance(12_000);
  assert.deepEqual(leaders(), ["b"]);
  assert.ok(Date.parse(store.record.acquireTime) - released <= 11_000);
});

test("election: a write that lost the race (409 Conflict) does not lead; the winner does", async () => {
  const { clock, store, c, leaders } = candidates(["a", "b"]);
  // An expired Lease of a third process: both read it, both try to take it over with a PUT.
  store.record = {
    holderIdentity: "gone",
    leaseDurationSeconds: 15,
    acquireTime: "2025-01-01T00:00:00.000000Z",
    renewTime: "2025-01-01T00:00:00.000000Z",
    leaseTransitions: 3,
  };
  store.rv = 7;
  c("a").elector.start();
  c("b").elector.start();
  await clock.advance(40_000);
  assert.equal(leaders().length, 1, `leaders: ${leaders().join(",")}`);
  assert.equal(store.record.holderIdentity, leaders()[0]);
  assert.equal(store.record.leaseTransitions, 4, "one transition: from gone to the winner");
});
