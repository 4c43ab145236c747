// Every type the engine and the CLI read in protobuf must read what a WatchList's end says.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ProtoType } from "./protobuf-schema.ts";
import { POD } from "./protobuf-pod.ts";
import * as types from "./protobuf-types.ts";

test("every read schema reads metadata.annotations (field 12): a WatchList's initial list ends with a bookmark annotated so", () => {
  const all: [string, ProtoType][] = [
    ...Object.entries(types).filter(
      (e): e is [string, ProtoType] => typeof e[1] === "object" && "read" in e[1],
    ),
    ["POD", POD],
    ["watchedOnly", types.watchedOnly("v1", "Secret")],
  ];
  assert.ok(all.length >= 10, `found ${all.length} types`);
  for (const [name, type] of all) {
    const meta = type.read["metadata"];
    assert.ok(meta && typeof meta.t === "object", `${name} reads metadata`);
    const annotations = (meta.t as Record<string, { n: number; map?: boolean }>)["annotations"];
    assert.equal(annotations?.n, 12, `${name} reads metadata.annotations`);
    assert.equal(annotations.map, true, `${name}: annotations are a map`);
  }
});
