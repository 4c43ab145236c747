import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeObject, encodeObject, protoWriter, readObjectMeta, readStatus, tag } from "./protobuf.ts";

const LEN = 2;
const VARINT = 0;

/** A meta/v1 Status message as the API server writes a 409 (fields of its generated.proto). */
function conflictStatus(): Uint8Array {
  const w = protoWriter();
  w.uint32(tag(1, LEN)).fork().ldelim(); // empty ListMeta
  w.uint32(tag(2, LEN)).string("Failure");
  w.uint32(tag(3, LEN)).string('leases "n" is being modified');
  w.uint32(tag(4, LEN)).string("Conflict");
  w.uint32(tag(5, LEN)).fork();
  w.uint32(tag(1, LEN)).string("n");
  w.uint32(tag(2, LEN)).string("coordination.k8s.io");
  w.uint32(tag(3, LEN)).string("leases");
  w.uint32(tag(5, VARINT)).int32(3);
  w.ldelim();
  w.uint32(tag(6, VARINT)).int32(409);
  return encodeObject("v1", "Status", w.finish());
}

test("decodeObject reads the envelope's type and message back", () => {
  const raw = Uint8Array.of(1, 2, 3);
  assert.deepEqual(decodeObject(encodeObject("coordination.k8s.io/v1", "Lease", raw)), {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    raw,
  });
  assert.throws(() => decodeObject(new TextEncoder().encode("{}")), /no k8s\\0 prefix/);
  assert.throws(() => decodeObject(new Uint8Array(0)), /no k8s\\0 prefix/);
});

test("readStatus reads an error answer as its JSON form would read", () => {
  const { kind, raw } = decodeObject(conflictStatus());
  assert.equal(kind, "Status");
  assert.deepEqual(readStatus(raw), {
    kind: "Status",
    status: "Failure",
    message: 'leases "n" is being modified',
    reason: "Conflict",
    details: { name: "n", kind: "leases", retryAfterSeconds: 3 },
    code: 409,
  });
});

test("readObjectMeta takes name, namespace, uid and resourceVersion and skips every other field", () => {
  const w = protoWriter();
  w.uint32(tag(1, LEN)).fork();
  w.uint32(tag(1, LEN)).string("hollow-node-1");
  w.uint32(tag(2, LEN)).string("gen-");
  w.uint32(tag(3, LEN)).string("kube-node-lease");
  w.uint32(tag(5, LEN)).string("uid-9");
  w.uint32(tag(6, LEN)).string("12345");
  w.uint32(tag(7, VARINT)).int64(3);
  w.uint32(tag(11, LEN)).fork().uint32(tag(1, LEN)).string("k").uint32(tag(2, LEN)).string("v").ldelim();
  w.ldelim();
  w.uint32(tag(2, LEN)).fork().uint32(tag(1, LEN)).string("spec").ldelim();
  assert.deepEqual(readObjectMeta(w.finish()), {
    name: "hollow-node-1",
    namespace: "kube-node-lease",
    uid: "uid-9",
    resourceVersion: "12345",
  });
});
