import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../kernel/clock.ts";
import { AUTHORIZED_TTL_MS, ReviewCache, UNAUTHORIZED_TTL_MS } from "./review-cache.ts";

const authzCache = (clock: FakeClock, capacity = 10): ReviewCache<boolean> =>
  new ReviewCache<boolean>(clock, capacity, (ok) => (ok ? AUTHORIZED_TTL_MS : UNAUTHORIZED_TTL_MS));

test("an allowed answer is kept 5 minutes, a denied one 30 seconds", async () => {
  const clock = new FakeClock();
  const cache = authzCache(clock);
  let asked = 0;
  const ask = (v: boolean) => () => {
    asked++;
    return Promise.resolve(v);
  };
  assert.equal(await cache.resolve("yes", ask(true)), true);
  assert.equal(await cache.resolve("no", ask(false)), false);
  assert.equal(asked, 2);
  await clock.advance(UNAUTHORIZED_TTL_MS - 1);
  await cache.resolve("yes", ask(true));
  await cache.resolve("no", ask(false));
  assert.equal(asked, 2, "both kept just under 30 s");
  await clock.advance(1);
  await cache.resolve("no", ask(false));
  assert.equal(asked, 3, "the denial asked again at 30 s");
  await clock.advance(AUTHORIZED_TTL_MS - UNAUTHORIZED_TTL_MS);
  await cache.resolve("yes", ask(true));
  assert.equal(asked, 4, "the allowance asked again at 5 min");
});

test("bounded: the least recently used answer goes first", () => {
  const clock = new FakeClock();
  const cache = authzCache(clock, 2);
  cache.set("a", true);
  cache.set("b", true);
  assert.equal(cache.get("a"), true); // a is now the most recently used
  cache.set("c", true);
  assert.equal(cache.size, 2);
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.get("a"), true);
  assert.equal(cache.get("c"), true);
});

test("a question in flight is asked once; a failure is not kept", async () => {
  const clock = new FakeClock();
  const cache = authzCache(clock);
  let asked = 0;
  let release!: (v: boolean) => void;
  const slow = (): Promise<boolean> => {
    asked++;
    return new Promise((r) => (release = r));
  };
  const both = Promise.all([cache.resolve("k", slow), cache.resolve("k", slow)]);
  release(true);
  assert.deepEqual(await both, [true, true]);
  assert.equal(asked, 1);
  const fail = (): Promise<boolean> => {
    asked++;
    return Promise.reject(new Error("403"));
  };
  await assert.rejects(cache.resolve("f", fail), /403/);
  await assert.rejects(cache.resolve("f", fail), /403/);
  assert.equal(asked, 3, "the failed question was asked again");
});
