import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { observeLeases } from "./lease-observer.ts";

const lease = (name: string, rv: string, renewTime: string) => ({
  type: "MODIFIED",
  object: { metadata: { name, resourceVersion: rv }, spec: { renewTime } },
});

test("the Lease observer starts again from now after 410 Gone, and counts no gap across it", async () => {
  const rvs = ["100", "500"];
  const watchedFrom: string[] = [];
  const streams = [
    [lease("n-1", "101", "2026-12-02T00:00:00.000000Z"), lease("n-1", "102", "2026-12-02T00:00:10.000000Z")],
    [{ type: "ERROR", object: { code: 410, reason: "Expired" } }],
    // A renewal (00:00:20) was missed while the watch was gone: 00:00:30 must not count as a 20 s gap.
    [lease("n-1", "501", "2026-12-02T00:00:30.000000Z"), lease("n-1", "502", "2026-12-02T00:00:40.000000Z")],
  ];
  let ended!: () => void;
  const allRead = new Promise<void>((r) => (ended = r));
  const client = {
    get: () => Promise.resolve({ metadata: { resourceVersion: rvs.shift() } }),
    async *watch(_path: string, query: { resourceVersion: string }, signal: AbortSignal) {
      watchedFrom.push(query.resourceVersion);
      const events = streams.shift();
      if (!events) {
        ended();
        await new Promise((r) => signal.addEventListener("abort", r));
        return;
      }
      yield* events;
    },
  } as unknown as KubeClient;
  const observer = observeLeases(client, "n-");
  await allRead;
  const seen = await observer.stop();
  // Resumed from its last resourceVersion after the stream ended; from the new list's after 410.
  assert.deepEqual(watchedFrom, ["100", "102", "500", "502"]);
  assert.deepEqual(seen.gapsMs, [10_000, 10_000]);
});
