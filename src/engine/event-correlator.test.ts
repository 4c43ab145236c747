import assert from "node:assert/strict";
import { test } from "node:test";
import { CLIENT_GO_CORRELATION, EventCorrelator, type KubeletEvent } from "./event-correlator.ts";

const T0 = Date.UTC(2026, 0, 1);

function ev(over: Partial<KubeletEvent> = {}, container = "app"): KubeletEvent {
  return {
    involvedObject: {
      kind: "Pod",
      namespace: "ns",
      name: "web-0",
      uid: "uid-1",
      apiVersion: "v1",
      fieldPath: `spec.containers{${container}}`,
    },
    type: "Warning",
    reason: "BackOff",
    message: "Back-off restarting failed container app in pod web-0_ns(uid-1)",
    component: "kubelet",
    host: "hollow-node-0",
    ...over,
  };
}

test("a new event is created; an identical one PATCHes the same Event's count, lastTimestamp and message", () => {
  const c = new EventCorrelator();
  const first = c.correlate(ev(), T0);
  assert.equal(first.kind, "create");
  if (first.kind !== "create") return;
  assert.equal(first.namespace, "ns");
  assert.match(first.body.metadata.name, /^web-0\.[0-9a-f]+$/);
  assert.equal(first.body.count, 1);
  assert.equal(first.body.firstTimestamp, "2026-01-01T00:00:00Z");
  assert.deepEqual(first.body.source, { component: "kubelet", host: "hollow-node-0" });
  assert.equal(first.body.reportingComponent, "kubelet");
  assert.equal(first.body.reportingInstance, "hollow-node-0");
  const second = c.correlate(ev(), T0 + 10_000);
  assert.equal(second.kind, "patch");
  if (second.kind !== "patch") return;
  assert.equal(second.name, first.body.metadata.name);
  assert.deepEqual(second.patch, {
    count: 2,
    lastTimestamp: "2026-01-01T00:00:10Z",
    message: first.body.message,
  });
  assert.equal(second.body.firstTimestamp, "2026-01-01T00:00:00Z");
});

test("events that differ in what they are about, their reason or their message are separate Events", () => {
  const cases: { name: string; other: KubeletEvent }[] = [
    { name: "another container", other: ev({}, "sidecar") },
    { name: "another reason", other: ev({ reason: "Unhealthy" }) },
    { name: "another message", other: ev({ message: "other" }) },
    { name: "another node", other: ev({ host: "hollow-node-1" }) },
  ];
  for (const { name, other } of cases) {
    const c = new EventCorrelator();
    c.correlate(ev(), T0);
    const r = c.correlate(other, T0 + 1);
    assert.equal(r.kind, "create", name);
  }
  // Same object, same instant: the names still differ.
  const c = new EventCorrelator();
  const a = c.correlate(ev({ reason: "Created", type: "Normal" }), T0);
  const b = c.correlate(ev({ reason: "Started", type: "Normal" }), T0);
  assert.ok(a.kind === "create" && b.kind === "create");
  assert.notEqual(a.body.metadata.name, b.body.metadata.name);
});

test("the 10th distinct message of one reason within 10 minutes is combined, and repeats PATCH the combined Event", () => {
  const c = new EventCorrelator();
  const kinds: string[] = [];
  for (let i = 0; i < 9; i++) kinds.push(c.correlate(ev({ message: `m${i}` }), T0 + i * 1000).kind);
  assert.deepEqual(kinds, Array(9).fill("create"));
  const tenth = c.correlate(ev({ message: "m9" }), T0 + 9000);
  assert.equal(tenth.kind, "create");
  if (tenth.kind !== "create") return;
  assert.equal(tenth.body.message, "(combined from similar events): m9");
  const eleventh = c.correlate(ev({ message: "m10" }), T0 + 10_000);
  assert.equal(eleventh.kind, "patch");
  if (eleventh.kind !== "patch") return;
  assert.equal(eleventh.name, tenth.body.metadata.name);
  assert.deepEqual(eleventh.patch, {
    count: 2,
    lastTimestamp: "2026-01-01T00:00:10Z",
    message: "(combined from similar events): m10",
  });
});

test("distinct messages more than 10 minutes apart are never combined", () => {
  const c = new EventCorrelator();
  for (let i = 0; i < 20; i++) {
    const r = c.correlate(ev({ message: `m${i}` }), T0 + i * 601_000);
    assert.equal(r.kind, "create");
    assert.ok(r.kind === "create" && !r.body.message.startsWith("(combined"));
  }
});

test("the spam filter lets 25 events of a source about an object through, then one more every 5 minutes", () => {
  const c = new EventCorrelator();
  const at = (s: number): string =>
    c.correlate(ev({ message: `burst ${s}`, reason: `R${s}` }), T0 + s * 1000).kind;
  const burst = Array.from({ length: 30 }, (_, i) => at(i * 0.001));
  assert.equal(burst.filter((k) => k !== "skip").length, 25);
  assert.deepEqual(burst.slice(25), Array(5).fill("skip"));
  // One token back after 300 s, not before.
  assert.equal(at(299), "skip");
  assert.notEqual(at(301), "skip");
  assert.equal(at(302), "skip");
  // The bucket is per source and object and type: another pod, or a Normal event, passes.
  assert.equal(
    c.correlate(ev({ involvedObject: { ...ev().involvedObject, name: "web-1", uid: "u2" } }), T0 + 303_000)
      .kind,
    "create",
  );
  assert.equal(c.correlate(ev({ type: "Normal" }), T0 + 303_000).kind, "create");
});

test("a repeat dropped by the spam filter still counts: the next one through carries the count", () => {
  const c = new EventCorrelator({ ...CLIENT_GO_CORRELATION, spamBurst: 1 });
  assert.equal(c.correlate(ev(), T0).kind, "create");
  assert.equal(c.correlate(ev(), T0 + 1000).kind, "skip");
  assert.equal(c.correlate(ev(), T0 + 2000).kind, "skip");
  const r = c.correlate(ev(), T0 + 301_000);
  assert.equal(r.kind, "patch");
  assert.ok(r.kind === "patch" && r.patch.count === 4);
});

test("the state holds what can still change a decision: entries expire, and the map never passes its cap", () => {
  const c = new EventCorrelator({ ...CLIENT_GO_CORRELATION, maxEntries: 50 });
  for (let i = 0; i < 200; i++) {
    c.correlate(
      ev({ involvedObject: { kind: "Pod", namespace: "ns", name: `p${i}`, uid: `u${i}` } }),
      T0 + i,
    );
    assert.ok(c.size <= 50, `size ${c.size} after ${i + 1} events`);
  }
  // After the API server's event TTL (1 h) every entry of an idle process has gone.
  const idle = new EventCorrelator();
  for (let i = 0; i < 100; i++) idle.correlate(ev({ message: `m${i % 5}` }), T0 + i * 1000);
  assert.ok(idle.size > 0);
  idle.correlate(ev({ host: "other", message: "x" }), T0 + 3 * 3_600_000);
  assert.equal(idle.size, 3, "only the last event's aggregate, count and spam entries");
});
