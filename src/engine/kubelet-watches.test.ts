import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultEngineConfig, type EngineConfig } from "./config.ts";
import type { EngineContext } from "./engine-context.ts";
import { KubeletWatches, refKey, refTarget } from "./kubelet-watches.ts";
import type { ProtoType } from "../client/protobuf-schema.ts";
import { protoOf } from "../client/protobuf-types.ts";
import type { Watcher } from "./watcher.ts";

/** KubeletWatches over a context whose watches are only recorded. */
function watches(over: Partial<EngineConfig> = {}): {
  w: KubeletWatches;
  open: () => string[];
  types: () => string[];
} {
  const opened: { path: string; selector: string; stopped: boolean; type: string }[] = [];
  const cfg = defaultEngineConfig(["n"], over);
  const ctx = {
    cfg,
    proto: (type: ProtoType) => protoOf(cfg.leaseContentType === "protobuf", type),
    watch: (path: string, query: { fieldSelector?: string } | undefined, _h: unknown, proto?: ProtoType) => {
      const type = proto ? `${proto.apiVersion} ${proto.kind}` : "json";
      const rec = { path, selector: query?.fieldSelector ?? "", stopped: false, type };
      opened.push(rec);
      return {
        stop: () => {
          rec.stopped = true;
        },
      } as unknown as Watcher<never>;
    },
  } as unknown as EngineContext;
  return {
    w: new KubeletWatches(ctx),
    open: () => opened.filter((o) => !o.stopped).map((o) => `${o.path}?${o.selector}`),
    types: () => opened.filter((o) => !o.stopped).map((o) => `${o.path}: ${o.type}`),
  };
}

test("refKey and refTarget name a ConfigMap or Secret", () => {
  assert.equal(refKey("secrets", "ns", "s"), "secrets/ns/s");
  assert.deepEqual(refTarget("configmaps/ns/c"), { kind: "configmaps", namespace: "ns", name: "c" });
});

test("a referenced object is watched once while any pod references it", () => {
  const { w, open } = watches({ traffic: "kubelet" });
  const key = refKey("configmaps", "default", "cfg");
  w.addRef(key);
  w.addRef(key);
  assert.deepEqual(open(), ["/api/v1/namespaces/default/configmaps?metadata.name=cfg"]);
  w.dropRef(key);
  assert.equal(open().length, 1, "one pod still references it");
  w.dropRef(key);
  assert.deepEqual(open(), []);
  w.dropRef(key);
  assert.deepEqual(open(), [], "an unknown ref is ignored");
});

test("no ref watches with minimal traffic or when that traffic is skipped", () => {
  const minimal = watches({ traffic: "minimal" });
  minimal.w.addRef(refKey("secrets", "default", "s"));
  assert.deepEqual(minimal.open(), []);
  const skipped = watches({ traffic: "kubelet", skipped: ["secrets"] });
  skipped.w.addRef(refKey("secrets", "default", "s"));
  skipped.w.addRef(refKey("configmaps", "default", "c"));
  assert.deepEqual(skipped.open(), ["/api/v1/namespaces/default/configmaps?metadata.name=c"]);
});

test("start opens a kubelet's watches; stop closes them and the ref watches", () => {
  const { w, open } = watches({ traffic: "kubelet" });
  const ignore = { onEvent: () => undefined };
  w.start("node-1", { pods: ignore, node: ignore });
  w.addRef(refKey("secrets", "default", "s"));
  assert.deepEqual(open(), [
    "/api/v1/pods?spec.nodeName=node-1",
    "/api/v1/nodes?metadata.name=node-1",
    "/api/v1/services?spec.clusterIP!=None",
    "/apis/node.k8s.io/v1/runtimeclasses?",
    "/apis/storage.k8s.io/v1/csidrivers?",
    "/api/v1/namespaces/default/secrets?metadata.name=s",
  ]);
  w.stop();
  assert.deepEqual(open(), []);
});

test("the kubelet's watches ask for protobuf as its client does, none with --kube-api-content-type json", () => {
  const handlers = { pods: { onEvent: () => undefined }, node: { onEvent: () => undefined } };
  const pb = watches({ traffic: "kubelet" });
  pb.w.start("n", handlers);
  pb.w.addRef(refKey("secrets", "default", "s"));
  pb.w.addRef(refKey("configmaps", "default", "c"));
  const types = pb.types();
  for (const [path, type] of [
    ["/api/v1/pods", "v1 Pod"],
    ["/api/v1/nodes", "v1 Node"],
    ["/api/v1/services", "v1 Service"],
    ["/apis/node.k8s.io/v1/runtimeclasses", "node.k8s.io/v1 RuntimeClass"],
    ["/apis/storage.k8s.io/v1/csidrivers", "storage.k8s.io/v1 CSIDriver"],
    ["/api/v1/namespaces/default/secrets", "v1 Secret"],
    ["/api/v1/namespaces/default/configmaps", "v1 ConfigMap"],
  ]) {
    assert.ok(types.includes(`${path}: ${type}`), `${path} as ${type} in ${types.join(", ")}`);
  }
  const json = watches({ traffic: "kubelet", leaseContentType: "json" });
  json.w.start("n", handlers);
  json.w.addRef(refKey("secrets", "default", "s"));
  assert.ok(
    json.types().every((t) => t.endsWith(": json")),
    json.types().join(", "),
  );
});
