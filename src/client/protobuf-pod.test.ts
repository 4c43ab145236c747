import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeAs, encodeAs, type Field, type ProtoType, type Schema } from "./protobuf-schema.ts";
import { POD } from "./protobuf-pod.ts";
import { encodeObject, protoWriter, tag } from "./protobuf.ts";
import { projectOn } from "./testdata/protobuf-project.ts";
import { CAPTURED_PODS, capturedPod } from "./testdata/captured-pods.ts";

const VARINT = 0;
const LEN = 2;

test("omitEmpty: a zero Go writes where JSON leaves the field out is left out; a pointer's zero is kept", () => {
  // {a: "", b: 0, c: false, d: 0 (a pointer set to 0), e: "x"}, as Go's marshallers write them.
  const w = protoWriter();
  w.uint32(tag(1, LEN)).string("");
  w.uint32(tag(2, VARINT)).int32(0);
  w.uint32(tag(3, VARINT)).bool(false);
  w.uint32(tag(4, VARINT)).int64(0);
  w.uint32(tag(5, LEN)).string("x");
  const bytes = encodeObject("v1", "T", w.finish());
  const read: Schema = {
    a: { n: 1, t: "string", omitEmpty: true },
    b: { n: 2, t: "int32", omitEmpty: true },
    c: { n: 3, t: "bool", omitEmpty: true },
    d: { n: 4, t: "int64" },
    e: { n: 5, t: "string", omitEmpty: true },
  };
  const type: ProtoType = { apiVersion: "v1", kind: "T", write: {}, read };
  assert.deepEqual(decodeAs(type, bytes), { apiVersion: "v1", kind: "T", d: 0, e: "x" });
  // Without the flag the zeros are there, as before.
  const plain = Object.fromEntries(Object.entries(read).map(([k, f]) => [k, { n: f.n, t: f.t }]));
  assert.deepEqual(decodeAs({ ...type, read: plain }, bytes), {
    apiVersion: "v1",
    kind: "T",
    a: "",
    b: 0,
    c: false,
    d: 0,
    e: "x",
  });
});

test("inline: an embedded struct's fields are decoded into the enclosing object, and encoding refuses it", () => {
  // A Volume: name 1, VolumeSource 2 { configMap 19 { LocalObjectReference 1 { name 1 } } }.
  const w = protoWriter();
  w.uint32(tag(1, LEN)).string("config");
  w.uint32(tag(2, LEN)).fork();
  w.uint32(tag(19, LEN)).fork().uint32(tag(1, LEN)).fork().uint32(tag(1, LEN)).string("cm").ldelim().ldelim();
  w.ldelim();
  const named: Schema = { ref: { n: 1, t: { name: { n: 1, t: "string" } }, inline: true } };
  const read: Schema = {
    name: { n: 1, t: "string" },
    source: { n: 2, t: { configMap: { n: 19, t: named } }, inline: true },
  };
  const type: ProtoType = { apiVersion: "v1", kind: "T", write: read, read };
  const bytes = encodeObject("v1", "T", w.finish());
  assert.deepEqual(decodeAs(type, bytes), {
    apiVersion: "v1",
    kind: "T",
    name: "config",
    configMap: { name: "cm" },
  });
  assert.throws(() => encodeAs(type, { source: {} }), /T\.source is an inline struct/);
});

test("the Pod read schema: field numbers are unique in each message", () => {
  const walk = (s: Schema, at: string): void => {
    const seen = new Map<number, string>();
    for (const [name, f] of Object.entries(s)) {
      assert.equal(
        seen.get(f.n),
        undefined,
        `${at}.${name} and ${at}.${seen.get(f.n)} are both field ${f.n}`,
      );
      seen.set(f.n, name);
      if (typeof f.t !== "string") walk(f.t, `${at}.${name}`);
    }
  };
  walk(POD.read, "Pod");
});

test("captured pods: the rich one and the engine tests' real ones are all there", () => {
  for (const want of ["pod-running", "pod-deleted", "pod-kubelet-burstable-real", "pod-kubemark-running"])
    assert.ok(CAPTURED_PODS.includes(want), `${want} captured`);
  const rich = capturedPod("pod-deleted").json as {
    metadata: { deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
  };
  assert.ok(rich.metadata.deletionTimestamp, "the deleted pod has its deletionTimestamp");
  assert.equal(rich.metadata.deletionGracePeriodSeconds, 0, "a pointer's zero, kept by both encodings");
});

for (const name of CAPTURED_PODS) {
  test(`${name}: the protobuf Pod decodes to exactly its JSON answer's read fields`, () => {
    const { pb, json } = capturedPod(name);
    assert.deepEqual(decodeAs(POD, pb), projectOn(json, POD.read));
  });
}

test("without omitEmpty the decoded pods would not be their JSON's (the flags matter)", () => {
  const strip = (s: Schema): Schema =>
    Object.fromEntries(
      Object.entries(s).map(([k, f]): [string, Field] => {
        const { omitEmpty: _o, ...rest } = f;
        return [k, typeof f.t === "string" ? rest : { ...rest, t: strip(f.t) }];
      }),
    );
  const { pb, json } = capturedPod("pod-running");
  assert.notDeepEqual(decodeAs({ ...POD, read: strip(POD.read) }, pb), projectOn(json, POD.read));
});
