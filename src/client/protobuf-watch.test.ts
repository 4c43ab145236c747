import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { encodeAs } from "./protobuf-schema.ts";
import { NODE } from "./protobuf-types.ts";
import { encodeObject, protoWriter, tag } from "./protobuf.ts";
import { WatchFrames, decodeWatchEvent, readWatchEvent } from "./protobuf-watch.ts";

const LEN = 2;
const VARINT = 0;

/** A length-prefixed WatchEvent frame, as the API server's raw stream serializer writes one. */
function frame(type: string, object: Uint8Array): Uint8Array {
  const w = protoWriter();
  w.uint32(tag(1, LEN)).string(type);
  w.uint32(tag(2, LEN)).fork().uint32(tag(1, LEN)).bytes(object).ldelim();
  const msg = w.finish();
  const out = new Uint8Array(4 + msg.length);
  new DataView(out.buffer).setUint32(0, msg.length, false);
  out.set(msg, 4);
  return out;
}

const node = (rv: string): Uint8Array =>
  encodeAs(NODE, {
    metadata: { name: "n", uid: "u", resourceVersion: rv },
    spec: { podCIDR: "10.0.0.0/24" },
  });

test("WatchFrames: events come out whole however the stream is cut into chunks", () => {
  const stream = new Uint8Array([...frame("ADDED", node("1")), ...frame("MODIFIED", node("2"))]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const frames = new WatchFrames();
    const events = [...frames.push(stream.subarray(0, cut)), ...frames.push(stream.subarray(cut))];
    assert.deepEqual(
      events.map((e) => {
        const d = decodeWatchEvent<{ metadata: { resourceVersion: string } }>(e, NODE);
        return `${d.type} ${d.object.metadata.resourceVersion}`;
      }),
      ["ADDED 1", "MODIFIED 2"],
      `cut at ${cut}`,
    );
    assert.equal(frames.pending, 0);
  }
});

test("an ERROR event's object reads as a Status (410 Gone: re-list)", () => {
  const w = protoWriter();
  w.uint32(tag(2, LEN)).string("Failure");
  w.uint32(tag(3, LEN)).string("too old resource version: 1 (5)");
  w.uint32(tag(4, LEN)).string("Expired");
  w.uint32(tag(6, VARINT)).int32(410);
  const [ev] = new WatchFrames().push(frame("ERROR", encodeObject("v1", "Status", w.finish())));
  assert.deepEqual(decodeWatchEvent(ev!, NODE), {
    type: "ERROR",
    object: {
      kind: "Status",
      status: "Failure",
      message: "too old resource version: 1 (5)",
      reason: "Expired",
      code: 410,
    },
  });
  assert.throws(() => readWatchEvent(Uint8Array.of(0x12, 0)), /without an event type/);
});

// The kubelet's Node watch (field-selected to its node) as the real API server sent it, captured by
// test/integration/protobuf.test.ts with KUBEMARK_CAPTURE_PROTOBUF=1.
const captured = new URL("./testdata/protobuf/node-watch.pb", import.meta.url);
test("the API server's protobuf Node watch: an ADDED frame whose object decodes as the Node", () => {
  const frames = new WatchFrames();
  const events = frames.push(new Uint8Array(readFileSync(captured)));
  assert.equal(frames.pending, 0);
  assert.ok(events.length >= 1);
  const first = decodeWatchEvent<{ metadata: { name: string; uid: string } }>(events[0]!, NODE);
  assert.equal(first.type, "ADDED");
  assert.match(first.object.metadata.name, /^it-protobuf-/);
  assert.ok(first.object.metadata.uid);
});
