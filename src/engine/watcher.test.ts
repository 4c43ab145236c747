import { test } from "node:test";
import assert from "node:assert/strict";
import { Watcher, type Versioned, type WatchClient, type WatchListSupport } from "./watcher.ts";
import { FakeClock } from "../kernel/clock.ts";
import { OpeningLists } from "./registration-pacer.ts";
import { KubeApiError, codeForStatus } from "../client/api-error.ts";
import {
  streamFromIterator,
  type KubeRequest,
  type WatchEvent,
  type WatchStreamHandle,
  type WatchStreamHandlers,
} from "../client/kube-client.ts";

interface Obj extends Versioned {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> };
}

type Query = Record<string, string | number | boolean | undefined>;

/** One step of a scripted watch stream: an event to deliver or an error to throw. */
type Step = WatchEvent | Error;

/** Past this many opens the fake refuses (so a watcher that reopens in a hot loop ends the test instead of hanging it). */
const MAX_OPENS = 50;

/**
 * A WatchClient whose streams the test scripts: each open takes the next script and ends after its
 * last step; an open with no script left stays open until the watcher aborts it.
 */
class FakeWatchClient implements WatchClient {
  readonly opens: Array<{ path: string; query: Query }> = [];
  readonly lists: Array<{ path: string; query: Query }> = [];
  private readonly scripts: Step[][] = [];
  listResult: { metadata: { resourceVersion: string }; items: Obj[] } = {
    metadata: { resourceVersion: "1" },
    items: [],
  };

  /** What the next open delivers. */
  script(...steps: Step[]): void {
    this.scripts.push(steps);
  }

  async *watch<T>(
    path: string,
    query: KubeRequest["query"],
    signal?: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    this.opens.push({ path, query: { ...query } });
    if (this.opens.length > MAX_OPENS) throw new Error("too many opens");
    const steps = this.scripts.shift();
    if (!steps) {
      await new Promise<void>((resolve) => {
        if (signal?.aborted) resolve();
        signal?.addEventListener("abort", () => resolve(), { once: true });
      });
      return;
    }
    for (const step of steps) {
      await Promise.resolve();
      if (step instanceof Error) throw step;
      yield step as WatchEvent<T>;
    }
  }

  watchStream(path: string, query: KubeRequest["query"], handlers: WatchStreamHandlers): WatchStreamHandle {
    return streamFromIterator((signal) => this.watch<unknown>(path, query, signal), handlers);
  }

  /** LISTs to fail (with a 500) before they answer. */
  listFailures = 0;

  get<T>(path: string, query?: KubeRequest["query"]): Promise<T> {
    this.lists.push({ path, query: { ...query } });
    if (this.listFailures > 0) {
      this.listFailures--;
      return Promise.reject(apiError(500, "etcdserver: request timed out"));
    }
    return Promise.resolve(this.listResult as T);
  }
}

const obj = (name: string, resourceVersion: string): Obj => ({ metadata: { name, resourceVersion } });
const added = (name: string, rv: string): WatchEvent => ({ type: "ADDED", object: obj(name, rv) });
const modified = (name: string, rv: string): WatchEvent => ({ type: "MODIFIED", object: obj(name, rv) });
const bookmark = (rv: string, end = false): WatchEvent => ({
  type: "BOOKMARK",
  object: {
    metadata: {
      resourceVersion: rv,
      ...(end ? { annotations: { "k8s.io/initial-events-end": "true" } } : {}),
    },
  },
});
const errorEvent = (code: number, message: string): WatchEvent => ({
  type: "ERROR",
  object: { kind: "Status", code, message, reason: code === 410 ? "Expired" : "InternalError" },
});
const apiError = (status: number, message: string): KubeApiError =>
  new KubeApiError({ code: codeForStatus(status), status, method: "GET", path: "/api/v1/pods", message });

/** A watcher on a fake client and clock that logs what its handler sees. */
function setup(watchList: WatchListSupport = { enabled: true }): {
  client: FakeWatchClient;
  clock: FakeClock;
  watcher: Watcher<Obj>;
  log: string[];
  errors: unknown[];
  watchList: WatchListSupport;
} {
  const client = new FakeWatchClient();
  const clock = new FakeClock();
  const log: string[] = [];
  const errors: unknown[] = [];
  const watcher = new Watcher<Obj>(
    client,
    "/api/v1/pods",
    { fieldSelector: "spec.nodeName=hollow-node-0" },
    {
      onEvent: (type, o) => log.push(`${type} ${o.metadata.name}`),
      onRelistStart: () => log.push("relist"),
      onSynced: () => log.push("synced"),
    },
    { clock, random: () => 0.5, watchList, onError: (err) => errors.push(err) },
  );
  return { client, clock, watcher, log, errors, watchList };
}

test("Watcher: first open asks for initial events; relist, events, then synced on the end bookmark", async () => {
  const { client, clock, watcher, log, errors } = setup();
  client.script(added("a", "7"), added("b", "5"), bookmark("9"), bookmark("10", true), modified("a", "11"));
  watcher.start();
  await clock.advance(0);
  assert.deepEqual(client.opens[0], {
    path: "/api/v1/pods",
    query: {
      fieldSelector: "spec.nodeName=hollow-node-0",
      timeoutSeconds: 450,
      sendInitialEvents: true,
      resourceVersionMatch: "NotOlderThan",
    },
  });
  assert.deepEqual(log, ["relist", "ADDED a", "ADDED b", "synced", "MODIFIED a"]);
  assert.deepEqual(errors, []);
  watcher.stop();
});

test("Watcher: after the stream ends it resumes from the last resourceVersion, without a relist", async () => {
  const { client, clock, watcher, log } = setup();
  client.script(added("a", "7"), bookmark("10", true), modified("a", "11"));
  client.script(modified("a", "12"), { type: "DELETED", object: obj("a", "13") });
  watcher.start();
  await clock.advance(0);
  assert.equal(client.opens.length, 3, "reopened at once after each end");
  assert.deepEqual(client.opens[1]!.query, {
    fieldSelector: "spec.nodeName=hollow-node-0",
    timeoutSeconds: 450,
    resourceVersion: "11",
  });
  assert.equal(client.opens[2]!.query["resourceVersion"], "13");
  assert.equal(watcher.resourceVersion, "13");
  assert.deepEqual(log, ["relist", "ADDED a", "synced", "MODIFIED a", "MODIFIED a", "DELETED a"]);
  assert.equal(clock.now(), new FakeClock().now(), "no backoff");
  watcher.stop();
});

test("Watcher: a stream cut before the end bookmark starts the list over", async () => {
  const { client, clock, watcher, log } = setup();
  // Initial events come in no particular resourceVersion order; resuming from one of them would lose the rest.
  client.script(added("b", "9"), added("a", "3"));
  client.script(added("a", "3"), added("b", "9"), added("c", "4"), bookmark("12", true));
  watcher.start();
  await clock.advance(0);
  assert.equal(client.opens.length, 3);
  assert.equal(client.opens[1]!.query["sendInitialEvents"], true);
  assert.equal(client.opens[1]!.query["resourceVersion"], undefined);
  assert.deepEqual(log, [
    "relist",
    "ADDED b",
    "ADDED a",
    "relist",
    "ADDED a",
    "ADDED b",
    "ADDED c",
    "synced",
  ]);
  assert.equal(client.opens[2]!.query["resourceVersion"], "12");
  watcher.stop();
});

test("Watcher: an ERROR event with code 410 makes it list again", async () => {
  const { client, clock, watcher, log, errors } = setup();
  client.script(added("a", "7"), bookmark("10", true), errorEvent(410, "too old resource version: 10 (20)"));
  client.script(added("a", "21"), bookmark("25", true));
  watcher.start();
  await clock.advance(0);
  assert.equal(client.opens.length, 3);
  assert.equal(client.opens[1]!.query["sendInitialEvents"], true);
  assert.equal(client.opens[1]!.query["resourceVersion"], undefined);
  assert.deepEqual(log, ["relist", "ADDED a", "synced", "relist", "ADDED a", "synced"]);
  assert.equal(client.opens[2]!.query["resourceVersion"], "25");
  assert.deepEqual(errors, [], "410 is routine, not an error");
  watcher.stop();
});

test("Watcher: a 422 about sendInitialEvents switches every watcher of the process to LIST then WATCH", async () => {
  const { client, clock, watcher, log, errors, watchList } = setup();
  client.script(
    apiError(422, "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"),
  );
  client.listResult = { metadata: { resourceVersion: "20" }, items: [obj("a", "15"), obj("b", "18")] };
  client.script(modified("a", "21"));
  watcher.start();
  await clock.advance(0);
  assert.equal(watchList.enabled, false);
  assert.deepEqual(client.lists, [
    { path: "/api/v1/pods", query: { fieldSelector: "spec.nodeName=hollow-node-0" } },
  ]);
  assert.deepEqual(client.opens[1]!.query, {
    fieldSelector: "spec.nodeName=hollow-node-0",
    timeoutSeconds: 450,
    resourceVersion: "20",
  });
  assert.deepEqual(log.slice(log.lastIndexOf("relist")), [
    "relist",
    "ADDED a",
    "ADDED b",
    "synced",
    "MODIFIED a",
  ]);
  assert.equal(client.opens[2]!.query["resourceVersion"], "21");
  assert.deepEqual(errors, []);
  watcher.stop();

  // Another watcher sharing the flag lists first.
  const other = setup(watchList);
  other.watcher.start();
  await other.clock.advance(0);
  assert.equal(other.client.lists.length, 1);
  assert.equal(other.client.opens[0]!.query["sendInitialEvents"], undefined);
  assert.equal(other.client.opens[0]!.query["resourceVersion"], "1");
  other.watcher.stop();
});

test("Watcher: other errors back off with jitter, doubling, and resume where they left off", async () => {
  const { client, clock, watcher, log, errors } = setup();
  client.script(added("a", "7"), bookmark("10", true), apiError(500, "etcdserver: leader changed"));
  client.script(apiError(503, "service unavailable"));
  client.script(apiError(0, "connect ECONNREFUSED"));
  watcher.start();
  await clock.advance(0);
  assert.equal(client.opens.length, 1);
  assert.equal(errors.length, 1);
  // random 0.5: half the backoff plus a quarter, i.e. 750 ms, then 1500 ms, then 3000 ms.
  for (const [delay, opens] of [
    [750, 2],
    [1_500, 3],
    [3_000, 4],
  ] as const) {
    await clock.advance(delay - 1);
    assert.equal(client.opens.length, opens - 1, `not before ${delay} ms`);
    await clock.advance(1);
    assert.equal(client.opens.length, opens, `after ${delay} ms`);
  }
  assert.deepEqual(
    errors.map((e) => (e as KubeApiError).status),
    [500, 503, 0],
  );
  for (const o of client.opens.slice(1)) {
    assert.equal(o.query["resourceVersion"], "10");
    assert.equal(o.query["sendInitialEvents"], undefined);
  }
  assert.deepEqual(log, ["relist", "ADDED a", "synced"], "no relist after a transient error");
  watcher.stop();
});

test("Watcher: a stream that closes at once without events is retried with backoff, not in a hot loop", async () => {
  const { client, clock, watcher, errors } = setup();
  client.script(added("a", "7"), bookmark("10", true));
  client.script();
  client.script();
  watcher.start();
  await clock.advance(0);
  assert.equal(client.opens.length, 2, "the first, then one that closed at once");
  assert.equal(errors.length, 1);
  assert.match((errors[0] as Error).message, /closed at once/);
  await clock.advance(750);
  assert.equal(client.opens.length, 3);
  await clock.advance(1_499);
  assert.equal(client.opens.length, 3, "backoff doubles");
  await clock.advance(1);
  assert.equal(client.opens.length, 4);
  assert.equal(client.opens[3]!.query["resourceVersion"], "10");
  watcher.stop();
});

test("Watcher.stop ends an open watch and no retry follows", async () => {
  const { client, clock, watcher } = setup();
  client.script(added("a", "7"), bookmark("10", true));
  watcher.start();
  await clock.advance(0);
  assert.equal(client.opens.length, 2);
  watcher.stop();
  await clock.advance(60_000);
  assert.equal(client.opens.length, 2);
  assert.equal(clock.pending(), 0);
});

/** A Node watcher that records what it reports of its initial lists (`onListed`). */
function listedWatcher(watchList: boolean): {
  client: FakeWatchClient;
  clock: FakeClock;
  listed: [number, boolean, number][];
  watcher: Watcher<Obj>;
} {
  const client = new FakeWatchClient();
  const clock = new FakeClock();
  const start = clock.now();
  // [ms, ok, when it began, from the clock's start]
  const listed: [number, boolean, number][] = [];
  const watcher = nodeWatcher(client, clock, watchList, (ms, ok, since) =>
    listed.push([ms, ok, since - start]),
  );
  return { client, clock, listed, watcher };
}

/** A watcher of one Node whose initial lists go to `onListed`. */
function nodeWatcher(
  client: WatchClient,
  clock: FakeClock,
  watchList: boolean,
  onListed: (ms: number, ok: boolean, since: number) => void,
): Watcher<Obj> {
  return new Watcher<Obj>(
    client,
    "/api/v1/nodes",
    { fieldSelector: "metadata.name=hollow-node-0" },
    { onEvent: () => undefined },
    { clock, random: () => 0.5, watchList: { enabled: watchList }, onListed },
  );
}

test("Watcher: each WatchList reports its time to the end bookmark, or its failure before it (the 504 of a cache not fresh in time)", async () => {
  const { client, clock, listed, watcher } = listedWatcher(true);
  client.script({
    type: "ERROR",
    object: {
      kind: "Status",
      code: 504,
      reason: "Timeout",
      message: "Too large resource version: 90, current: 80",
    },
  });
  client.script(added("hollow-node-0", "95"), bookmark("99", true), modified("hollow-node-0", "100"));
  watcher.start();
  await clock.advance(0);
  assert.deepEqual(listed, [[0, false, 0]], "the failed list, then the retry's backoff");
  await clock.advance(1000);
  assert.deepEqual(listed, [
    [0, false, 0],
    [0, true, 750],
  ]);
  assert.equal(client.opens.length, 3, "the second list succeeded and the watch resumed from its end");
  assert.equal(client.opens[2]!.query["resourceVersion"], "100");
  watcher.stop();
});

test("Watcher: on a server without WatchList, the LIST before the watch reports its end, or its failure", async () => {
  const { client, clock, listed, watcher } = listedWatcher(false);
  client.listFailures = 1;
  watcher.start();
  await clock.advance(0);
  assert.deepEqual(listed, [[0, false, 0]], "the failed LIST, then the retry's backoff");
  await clock.advance(1000);
  assert.deepEqual(listed, [
    [0, false, 0],
    [0, true, 750],
  ]);
  assert.equal(client.lists.length, 2);
  watcher.stop();
});

test("Watcher.listingSince: what it lists and since when while its initial events are under way, then nothing", async () => {
  const { clock, watcher } = setup();
  // No script: the stream stays open without its end bookmark, the list under way.
  assert.equal(watcher.listingSince, undefined, "not before it starts");
  watcher.start();
  const since = clock.now();
  await clock.advance(0);
  assert.deepEqual(watcher.listingSince, {
    path: "/api/v1/pods",
    query: { fieldSelector: "spec.nodeName=hollow-node-0" },
    since,
  });
  watcher.stop();
  assert.equal(watcher.listingSince, undefined, "a stopped watcher lists nothing");

  const ended = setup();
  ended.client.script(added("a", "7"), bookmark("10", true));
  ended.watcher.start();
  await ended.clock.advance(0);
  assert.equal(ended.watcher.listingSince, undefined, "its list ended with the bookmark");
  ended.watcher.stop();
});

/**
 * A clock that, once set ticking, reads a millisecond later at each reading (time goes on between
 * any two), as the real one can turn a millisecond between a watcher's reading and the engine's.
 */
class TickingClock extends FakeClock {
  ticking = false;
  private ticks = 0;
  override now(): number {
    return super.now() + (this.ticking ? this.ticks++ : 0);
  }
}

test("Watcher + OpeningLists, as the engine wires them: a list begun just before the opening counts, however late its end is read", async () => {
  const clock = new TickingClock();
  let handlers: WatchStreamHandlers | undefined;
  const client: WatchClient = {
    watchStream: (_path, _query, h) => {
      handlers = h;
      return { cancel: () => undefined };
    },
    get: () => Promise.reject(new Error("no LIST: WatchList")),
  };
  const opening: { lists?: OpeningLists } = {};
  const reported: number[] = [];
  const watcher = nodeWatcher(client, clock, true, (ms, _ok, since) => {
    reported.push(ms);
    opening.lists?.listEnded(since);
  });
  watcher.start();
  // The engine reads the clock once every watch is open: this list began at that reading or before.
  // Read in the millisecond the last watch opened, as in the engine.
  const lists = new OpeningLists(1, clock.now(), clock);
  opening.lists = lists;
  clock.ticking = true;
  let all: boolean | undefined;
  void lists.ended().then((a) => (all = a));
  await clock.advance(700);
  handlers!.onEvent(bookmark("10", true));
  await clock.advance(0);
  assert.ok(reported[0]! >= 700, `the list's time (${reported[0]} ms)`);
  assert.equal(lists.pending, 0, "the list is counted as one of the opening's");
  assert.equal(all, true, "the registrations go on at once, not after the 30 s limit");
  watcher.stop();
});
