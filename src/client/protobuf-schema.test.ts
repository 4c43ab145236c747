import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeAs, encodeAs, joinTime, splitTime, type ProtoType, type Schema } from "./protobuf-schema.ts";
import { CORE_EVENT, CSI_NODE, EVENTS_V1_EVENT, NODE, protoOf } from "./protobuf-types.ts";
import { decodeObject } from "./protobuf.ts";
import { like, withoutZeros } from "./testdata/protobuf-compare.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
/** A type over `schema`, written and read whole. */
const T = (write: Schema): ProtoType => ({ apiVersion: "v1", kind: "T", write, read: write });
/** The object's own message (the envelope's raw field), in hex. */
const body = (type: ProtoType, obj: unknown): string => hex(decodeObject(encodeAs(type, obj)).raw);

test("encodeAs writes each field type as Go's generated marshallers do", () => {
  const rows: [string, Schema, object, string][] = [
    ["string", { a: { n: 1, t: "string" } }, { a: "hi" }, "0a026869"],
    ["int32", { a: { n: 2, t: "int32" } }, { a: 150 }, "109601"],
    [
      "negative int32 (10 bytes, as proto2)",
      { a: { n: 1, t: "int32" } },
      { a: -1 },
      "08ffffffffffffffffff01",
    ],
    ["int64", { a: { n: 7, t: "int64" } }, { a: 2 ** 33 }, "388080808020"],
    ["bool", { a: { n: 4, t: "bool" } }, { a: true }, "2001"],
    ["quantity", { a: { n: 1, t: "quantity" } }, { a: "4Gi" }, "0a050a03344769"],
    ["time (seconds)", { a: { n: 3, t: "time" } }, { a: "1970-01-01T00:02:30Z" }, "1a03089601"],
    ["microTime", { a: { n: 2, t: "microTime" } }, { a: "1970-01-01T00:00:01.000002Z" }, "1205080110d00f"],
    [
      "map, sorted by key",
      { m: { n: 11, t: "string", map: true } },
      { m: { b: "2", a: "1" } },
      "5a060a0161120131" + "5a060a0162120132",
    ],
    ["list", { l: { n: 3, t: "string", list: true } }, { l: ["x", "y"] }, "1a01781a0179"],
    ["nested message", { o: { n: 1, t: { p: { n: 1, t: "int32" } } } }, { o: { p: 1 } }, "0a020801"],
    ["null and undefined are left out", { a: { n: 1, t: "string" } }, { a: null, b: undefined }, ""],
  ];
  for (const [what, schema, obj, want] of rows) assert.equal(body(T(schema), obj), want, what);
});

test("decodeAs reads the schema's fields back and skips the others", () => {
  const write: Schema = {
    a: { n: 1, t: "string" },
    m: { n: 2, t: "quantity", map: true },
    t: { n: 3, t: "time" },
    z: { n: 4, t: "time" },
    big: { n: 5, t: "int64" },
  };
  const bytes = encodeAs(T(write), {
    a: "x",
    m: { cpu: "1", memory: "4Gi" },
    t: "2026-12-01T03:00:05Z",
    big: 2 ** 40,
  });
  const type: ProtoType = { ...T(write), read: { m: write["m"]!, t: write["t"]!, big: write["big"]! } };
  assert.deepEqual(decodeAs(type, bytes), {
    apiVersion: "v1",
    kind: "T",
    m: { cpu: "1", memory: "4Gi" },
    t: "2026-12-01T03:00:05Z",
    big: 2 ** 40,
  });
});

test("the codec refuses what it cannot write faithfully, naming the field and the fix", () => {
  const type = T({ a: { n: 1, t: "int32" }, s: { n: 2, t: "string" } });
  const rows: [unknown, RegExp][] = [
    [{ a: "1" }, /T\.a must be an integer, got "1"/],
    [{ a: 1.5 }, /T\.a must be an integer/],
    [{ s: 3 }, /T\.s must be a string/],
    [{ extra: 1 }, /T\.extra has no protobuf field.*--kube-api-content-type application\/json/],
    [{ apiVersion: "v2", kind: "T" }, /cannot encode v2 T as v1 T/],
    ["text", /the body is not an object/],
  ];
  for (const [obj, err] of rows) assert.throws(() => encodeAs(type, obj), err);
  assert.throws(
    () => T({ t: { n: 1, t: "time" } }) && encodeAs(T({ t: { n: 1, t: "time" } }), { t: "yesterday" }),
    /T\.t must be an RFC 3339 time, got "yesterday"/,
  );
  // A schema whose field number holds another wire type on the wire is a wrong number.
  const wrong: ProtoType = { ...type, read: { s: { n: 1, t: "string" } } };
  assert.throws(
    () => decodeAs(wrong, encodeAs(type, { a: 5 })),
    /T\.s: wire type 0 where the schema expects 2/,
  );
  assert.throws(() => decodeAs(NODE, encodeAs(type, {})), /expected a v1 Node in protobuf, got v1 T/);
});

test("Time and MicroTime strings: seconds as the API server writes Time, microseconds for MicroTime", () => {
  assert.deepEqual(splitTime("2026-12-01T03:00:05.123456Z"), { seconds: 1796094005, nanos: 123456000 });
  assert.deepEqual(splitTime("2026-12-01T04:00:05+01:00"), { seconds: 1796094005, nanos: 0 });
  assert.equal(joinTime(1796094005, 123456789, true), "2026-12-01T03:00:05.123456Z");
  assert.equal(joinTime(1796094005, 123456789, false), "2026-12-01T03:00:05Z");
});

test("protoOf: the request field for protobuf, nothing with --kube-api-content-type application/json", () => {
  assert.deepEqual(protoOf(true, NODE), { proto: NODE });
  assert.deepEqual(protoOf(false, NODE), {});
});

// Answers of the real API server (v1.36), captured by test/integration/protobuf.test.ts with
// KUBEMARK_CAPTURE_PROTOBUF=1: each object's protobuf GET and its JSON GET at the same version.
const captured: [string, ProtoType][] = [
  ["node", NODE],
  ["csinode", CSI_NODE],
  ["event", CORE_EVENT],
  ["events-v1-event", EVENTS_V1_EVENT],
];
const read = (f: string): Buffer => readFileSync(new URL(`./testdata/protobuf/${f}`, import.meta.url));

for (const [file, type] of captured) {
  test(`the API server's protobuf ${type.apiVersion} ${type.kind} decodes as its JSON answer says, and round-trips`, () => {
    const bytes = new Uint8Array(read(`${file}.pb`));
    const json = JSON.parse(read(`${file}.json`).toString("utf8")) as unknown;
    const whole = { ...type, read: type.write };
    const full = decodeAs<Record<string, unknown>>(whole, bytes);
    assert.deepEqual(withoutZeros(full), withoutZeros(like(json, full)));
    // The read schema's fields are the same values, and nothing else.
    const part = decodeAs<Record<string, unknown>>(type, bytes);
    assert.deepEqual(withoutZeros(part), withoutZeros(like(json, part)));
    // What the engine decodes it can write back (a CSINode's PUT) and read again unchanged.
    assert.deepEqual(withoutZeros(decodeAs(whole, encodeAs(type, full))), withoutZeros(full));
  });
}

test("the read schema of a Node takes what the engine reads: identity, labels, pod CIDR, conditions, volumes", () => {
  const node = decodeAs<{ metadata: Record<string, unknown>; status: { conditions: object[] } }>(
    NODE,
    new Uint8Array(read("node.pb")),
  );
  assert.deepEqual(Object.keys(node.metadata).sort(), [
    "annotations",
    "labels",
    "name",
    "namespace",
    "resourceVersion",
    "uid",
  ]);
  assert.deepEqual(node.status.conditions[3], {
    type: "Ready",
    status: "True",
    reason: "KubeletReady",
    message: "kubelet is posting ready status",
  });
});
