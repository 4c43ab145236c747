import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_LATENCIES,
  csiDriverName,
  latenciesFrom,
  parseLatency,
  storageClassName,
  uniqueVolumeName,
} from "./csi-names.ts";
import { BadInputError } from "../../kernel/errors.ts";

test("csiDriverName: the CLI's default fleet's driver is the short name, others are prefixed; too long is refused", () => {
  assert.equal(csiDriverName("kubemark"), "hollow.csi.kubemark-cluster.io");
  assert.equal(csiDriverName("blue"), "blue.hollow.csi.kubemark-cluster.io");
  assert.equal(storageClassName("kubemark"), "hollow-csi");
  assert.equal(storageClassName("blue"), "hollow-csi-blue");
  assert.throws(() => csiDriverName("a".repeat(40)), BadInputError);
});

test("uniqueVolumeName: as the attach/detach controller writes it in volumesAttached", () => {
  assert.equal(uniqueVolumeName("d.example", "vol-1"), "kubernetes.io/csi/d.example^vol-1");
});

test("parseLatency: durations and ranges; nonsense is refused with the reason", () => {
  assert.deepEqual(parseLatency("500ms"), { minMs: 500, maxMs: 500 });
  assert.deepEqual(parseLatency("2s"), { minMs: 2000, maxMs: 2000 });
  assert.deepEqual(parseLatency("1s-3s"), { minMs: 1000, maxMs: 3000 });
  assert.deepEqual(parseLatency("0"), { minMs: 0, maxMs: 0 });
  assert.ok("error" in parseLatency("fast"));
  assert.ok("error" in parseLatency("3s-1s"));
  assert.ok("error" in parseLatency("2h"));
});

test("latenciesFrom: StorageClass parameters override the defaults; unknown ones are an error unless lenient", () => {
  const l = latenciesFrom({ attachLatency: "5s", "csi.storage.k8s.io/fstype": "ext4" });
  assert.ok(!("error" in l));
  assert.deepEqual(l.attach, { minMs: 5000, maxMs: 5000 });
  assert.deepEqual(l.mount, DEFAULT_LATENCIES.mount);
  const bad = latenciesFrom({ iops: "3000" });
  assert.ok("error" in bad && bad.error.includes('unknown parameter "iops"'));
  assert.ok(!("error" in latenciesFrom({ iops: "3000" }, { strict: false })));
  const badValue = latenciesFrom({ mountLatency: "soon" });
  assert.ok("error" in badValue && badValue.error.includes("mountLatency"));
});
