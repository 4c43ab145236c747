import { test } from "node:test";
import assert from "node:assert/strict";
import { kubeletSkew } from "./version-skew.ts";

test("kubeletSkew: kubelets newer than kube-apiserver are refused, more than three minors older warned", () => {
  const cases: Array<[string, string, string]> = [
    ["v1.36.3", "v1.36.3", "ok"],
    ["v1.36.9", "v1.36.3", "ok"], // patch releases do not count
    ["v1.33.0", "v1.36.3", "ok"], // three minors older: allowed
    ["v1.32.7", "v1.36.3", "too-old"],
    ["v1.37.0", "v1.36.3", "newer"],
    ["v9.99.0", "v1.36.3", "newer"],
    ["v0.99.0", "v1.36.3", "too-old"],
    ["v1.36.0-alpha.1", "v1.36.3", "ok"],
    ["v1.36.3", "v1.36.3+k3s1", "ok"],
    ["v1.36.3", "unknown", "unknown"],
  ];
  for (const [kubelet, apiserver, kind] of cases) {
    assert.equal(kubeletSkew(kubelet, apiserver).kind, kind, `${kubelet} against ${apiserver}`);
  }
  assert.deepEqual(kubeletSkew("v1.30.0", "v1.36.3"), { kind: "too-old", minorsBehind: 6 });
});
