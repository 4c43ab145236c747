import { test } from "node:test";
import assert from "node:assert/strict";
import { etcdVersionFromScript, kubernetesBuildModule } from "./go-build.ts";
import { parseKubeVersion } from "./kube-version.ts";
import { KubemarkError } from "../kernel/errors.ts";

// A trimmed copy of k8s.io/kubernetes v1.36.3's go.mod: same layout (header comments, go and
// godebug lines, a direct and an indirect require block, staging replaces to local paths).
const UPSTREAM_GO_MOD = `// This is a generated file. Do not edit directly.
// Run hack/pin-dependency.sh to change pinned dependency versions.

module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	bitbucket.org/bertimus9/systemstat v0.5.0
	github.com/blang/semver/v4 v4.0.0
	k8s.io/api v0.0.0
	k8s.io/apimachinery v0.0.0
	k8s.io/client-go v0.0.0
	k8s.io/klog/v2 v2.140.0
	k8s.io/kube-openapi v0.0.0-20260317180543-43fb72c5454a
	k8s.io/kubelet v0.0.0
	sigs.k8s.io/yaml v1.6.0
)

require (
	cel.dev/expr v0.25.1 // indirect
	github.com/MakeNowJust/heredoc v1.0.0 // indirect
	sigs.k8s.io/kustomize/kyaml v0.21.1 // indirect
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/apimachinery => ./staging/src/k8s.io/apimachinery
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/kubelet => ./staging/src/k8s.io/kubelet
)
`;

const V1_36_3 = parseKubeVersion("v1.36.3");

test("kubernetesBuildModule carries every require block over", () => {
  const out = kubernetesBuildModule(UPSTREAM_GO_MOD, V1_36_3);
  const requireLines = [
    "\tbitbucket.org/bertimus9/systemstat v0.5.0",
    "\tk8s.io/kube-openapi v0.0.0-20260317180543-43fb72c5454a",
    "\tsigs.k8s.io/yaml v1.6.0",
    "\tcel.dev/expr v0.25.1 // indirect",
    "\tsigs.k8s.io/kustomize/kyaml v0.21.1 // indirect",
  ];
  for (const line of requireLines) {
    assert.ok(out.split("\n").includes(line), `missing require line ${JSON.stringify(line)}`);
  }
  assert.equal(out.match(/^require \($/gm)?.length, 2, "both require blocks");
  assert.match(out, /^module kubemark-cluster\.local\/kubebuild$/m);
  assert.match(out, /^go 1\.26\.0$/m);
});

test("kubernetesBuildModule requires k8s.io/kubernetes at the release", () => {
  for (const [version, line] of [
    ["v1.36.3", "require k8s.io/kubernetes v1.36.3"],
    ["1.31.0", "require k8s.io/kubernetes v1.31.0"],
  ] as const) {
    const out = kubernetesBuildModule(UPSTREAM_GO_MOD, parseKubeVersion(version));
    assert.ok(out.split("\n").includes(line), `${version}: missing ${line}`);
  }
});

test("kubernetesBuildModule points each staging module at its published version", () => {
  const out = kubernetesBuildModule(UPSTREAM_GO_MOD, V1_36_3);
  const replaces = /^replace \(\n([\s\S]*?)\n\)/m.exec(out)?.[1]?.split("\n");
  assert.deepEqual(replaces, [
    "\tk8s.io/api => k8s.io/api v0.36.3",
    "\tk8s.io/apimachinery => k8s.io/apimachinery v0.36.3",
    "\tk8s.io/client-go => k8s.io/client-go v0.36.3",
    "\tk8s.io/kubelet => k8s.io/kubelet v0.36.3",
  ]);
  assert.doesNotMatch(out, /\.\/staging/, "no local staging paths survive");
});

test("kubernetesBuildModule rejects a go.mod of another layout", () => {
  const withoutReplace = UPSTREAM_GO_MOD.slice(0, UPSTREAM_GO_MOD.indexOf("replace ("));
  const withoutRequire = UPSTREAM_GO_MOD.replace(/^require \([\s\S]*?\n\)\n/gm, "");
  for (const [name, goMod] of [
    ["no replace block", withoutReplace],
    ["no require block", withoutRequire],
    ["empty", ""],
  ] as const) {
    assert.throws(
      () => kubernetesBuildModule(goMod, V1_36_3),
      (err: unknown) =>
        err instanceof KubemarkError &&
        err.code === "BUILD_FAILED" &&
        err.message.includes("k8s.io/kubernetes@v1.36.3"),
      name,
    );
  }
});

test("etcdVersionFromScript reads the default ETCD_VERSION", () => {
  const script = [
    "#!/usr/bin/env bash",
    "# A set of helpers for starting/running etcd for tests",
    "",
    "ETCD_VERSION=${ETCD_VERSION:-3.6.8}",
    "ETCD_HOST=${ETCD_HOST:-127.0.0.1}",
    "",
  ].join("\n");
  assert.equal(etcdVersionFromScript(script), "3.6.8");
});

test("etcdVersionFromScript throws when there is no default version", () => {
  for (const script of [
    "",
    "ETCD_HOST=${ETCD_HOST:-127.0.0.1}\n",
    "  ETCD_VERSION=3.6.8\n",
    "ETCD_VERSION=${ETCD_VERSION}\n",
  ]) {
    assert.throws(
      () => etcdVersionFromScript(script),
      (err: unknown) =>
        err instanceof KubemarkError && err.code === "BUILD_FAILED" && /ETCD_VERSION/.test(err.message),
      JSON.stringify(script),
    );
  }
});
