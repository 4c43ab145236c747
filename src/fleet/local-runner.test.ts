import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseKubeconfig } from "./endpoints.ts";
import { localFleetLayout, shardArgs, writeCredentials } from "./local-runner.ts";
import type { FleetSpec } from "./spec.ts";

const spec: FleetSpec = {
  namespace: "kubemark",
  fleet: "kubemark",
  nodes: 2500,
  nodesPerShard: 1000,
  namePrefix: "hollow-node",
  kubeletVersion: "v1.31.0",
  mode: "local",
  engine: "hollow-node",
  image: "",
  prebuiltEngine: false,
  twoCluster: false,
  targetServer: "https://127.0.0.1:6443",
  traffic: "kubelet",
  proxy: false,
};

test("shardArgs: each local process gets its slice, so a scale restarts only the slices that change", () => {
  const layout = localFleetLayout("/state", "https://127.0.0.1:6443", "kubemark");
  const last = shardArgs(spec, layout, 2);
  assert.ok(last.includes("--first-index=2000"));
  assert.ok(last.includes("--nodes=500"));
  assert.ok(last.includes("--kubelet-version=v1.31.0"));
  assert.ok(last.includes("--no-proxy"));
  assert.ok(last.includes(`--credentials-dir=${layout.credentials}`));
  assert.deepEqual(
    shardArgs({ ...spec, nodes: 2100 }, layout, 0),
    shardArgs(spec, layout, 0),
    "shard 0 unchanged",
  );
  assert.notDeepEqual(shardArgs({ ...spec, nodes: 2100 }, layout, 2), last, "the last shard shrinks");
});

test("shardArgs: a shard with a kubelet port serves its nodes' pods there, on loopback", () => {
  const layout = localFleetLayout("/state", "https://127.0.0.1:6443", "kubemark");
  const args = shardArgs(spec, layout, 1, 40123);
  assert.ok(args.includes("--kubelet-port=40123"));
  assert.ok(args.includes("--kubelet-address=127.0.0.1"));
  assert.ok(!shardArgs(spec, layout, 1).some((a) => a.startsWith("--kubelet-port")));
});

test("localFleetLayout: one directory per hosting cluster and namespace", () => {
  const a = localFleetLayout("/s", "https://127.0.0.1:6443", "kubemark");
  const b = localFleetLayout("/s", "https://127.0.0.1:6444", "kubemark");
  const c = localFleetLayout("/s", "https://127.0.0.1:6443", "other");
  assert.notEqual(a.dir, b.dir);
  assert.notEqual(a.dir, c.dir);
  assert.ok(a.dir.startsWith("/s/fleets/kubemark-"));
});

test("writeCredentials: files readable by this user only", async () => {
  const dir = await mkdtemp(join(tmpdir(), "creds-"));
  try {
    const layout = localFleetLayout(dir, "https://x", "ns");
    await writeCredentials(layout, { server: "https://x:6443", caCrt: "CA", token: "secret" });
    assert.equal(await readFile(join(layout.credentials, "token"), "utf8"), "secret");
    assert.equal((await stat(join(layout.credentials, "token"))).mode & 0o777, 0o600);
    assert.equal((await stat(layout.credentials)).mode & 0o777, 0o700);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("chooseKubeconfig: flag, then $KUBECONFIG, then ~/.kube/config, then the local cluster", async () => {
  const home = await mkdtemp(join(tmpdir(), "home-"));
  const state = join(home, "state");
  try {
    assert.equal(await chooseKubeconfig("/a", { HOME: home, KUBECONFIG: "/b" }, state), "/a");
    assert.equal(await chooseKubeconfig(undefined, { HOME: home, KUBECONFIG: ":/b:/c" }, state), "/b");
    await assert.rejects(
      chooseKubeconfig(undefined, { HOME: home }, state),
      (err: Error & { hint?: string }) =>
        /no kubeconfig/.test(err.message) && /kubemark-cluster up/.test(err.hint ?? ""),
    );
    await mkdir(join(home, ".kube"));
    await writeFile(join(home, ".kube", "config"), "{}");
    assert.equal(await chooseKubeconfig(undefined, { HOME: home }, state), join(home, ".kube", "config"));
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
