import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { realClock } from "../kernel/clock.ts";
import { isDaemonAlive, startDaemon, stopDaemon, type DaemonRecord } from "../host/daemon.ts";
import { caFingerprint } from "./cluster-identity.ts";
import { chooseKubeconfig } from "./endpoints.ts";
import {
  localFleetLayout,
  readLocalFleet,
  reconcileLocal,
  removeLocal,
  removeLocalFleetsOf,
  shardArgs,
  shardArgsHash,
  writeCredentials,
  type LocalFleetLayout,
  type LocalFleetRecord,
} from "./local-runner.ts";
import type { FleetSpec } from "./spec.ts";
import { CA_A, CA_B } from "./testdata/test-cas.ts";

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

/** A process standing for a running engine shard (it only sleeps). */
function sleeper(log: string): Promise<DaemonRecord> {
  return startDaemon({ file: process.execPath, args: ["-e", "setTimeout(() => {}, 300000)"], logFile: log });
}

async function writeRecordWithShard(
  layout: LocalFleetLayout,
  rec: Omit<LocalFleetRecord, "shards">,
  proc: DaemonRecord,
  argsHash = "x",
): Promise<void> {
  await mkdir(layout.dir, { recursive: true });
  const full: LocalFleetRecord = {
    ...rec,
    shards: [{ ...proc, shard: 0, nodes: 3, nodesPerShard: 1000, argsHash, kubeletPort: 40999 }],
  };
  await writeFile(layout.record, JSON.stringify(full));
}

test("reconcileLocal: a process started for another cluster at the same address is replaced, never adopted", async () => {
  const dir = await mkdtemp(join(tmpdir(), "reconcile-"));
  const server = "https://127.0.0.1:1";
  const layout = localFleetLayout(dir, server, "kubemark");
  const small: FleetSpec = { ...spec, nodes: 3, targetServer: server };
  const old = await sleeper(join(dir, "old.log"));
  const same = await sleeper(join(dir, "same.log"));
  try {
    const clusterA = { kubeSystemUid: "uid-a", caFingerprint: caFingerprint(CA_A) };
    const clusterB = { kubeSystemUid: "uid-b", caFingerprint: caFingerprint(CA_B) };
    const argsHash = shardArgsHash(small, layout, 0, 40999);
    // The same cluster: the running process with the same flags is kept.
    await writeRecordWithShard(
      layout,
      { hostingServer: server, cluster: clusterA, spec: small },
      same,
      argsHash,
    );
    // A node certificate (--identity node) issued by cluster A's CA.
    await mkdir(layout.certs, { recursive: true });
    await writeFile(join(layout.certs, "kubelet-client-hollow-node-0.pem"), "issued by A");
    const kept = await reconcileLocal(layout, server, small, realClock, { cluster: clusterA });
    assert.deepEqual([kept.started, kept.restarted, kept.replaced], [[], [], []]);
    assert.ok(isDaemonAlive(same));
    assert.ok(await stat(layout.certs), "the same cluster's certificates are kept");
    // Another cluster answers at the address now: same flags, but the process goes.
    await writeRecordWithShard(
      layout,
      { hostingServer: server, cluster: clusterA, spec: small },
      old,
      argsHash,
    );
    const change = await reconcileLocal(layout, server, small, realClock, {
      cluster: clusterB,
      credentials: { server, caCrt: CA_B, token: "t" },
    });
    assert.deepEqual(change.replaced, [0]);
    assert.match(change.clusterChange ?? "", /kube-system namespace UID was uid-a, now uid-b/);
    assert.ok(!isDaemonAlive(old), "the old cluster's process is stopped");
    const rec = await readLocalFleet(layout);
    assert.deepEqual(rec?.cluster, clusterB, "the fleet is recorded for the new cluster");
    assert.notEqual(rec?.shards[0]?.pid, old.pid);
    assert.equal(await readFile(join(layout.credentials, "ca.crt"), "utf8"), CA_B);
    // The new cluster would refuse A's certificates: the new processes bootstrap theirs (e2e
    // fleet-engine-recovery: create in the new cluster stalled at 0/2 Ready).
    await assert.rejects(stat(layout.certs), /ENOENT/, "the old cluster's certificates are removed");
  } finally {
    await removeLocal(layout, realClock);
    await stopDaemon(old, realClock);
    await stopDaemon(same, realClock);
    await rm(dir, { recursive: true, force: true });
  }
});

test("removeLocalFleetsOf: down stops the fleets started with the cluster's CA, and no other", async () => {
  const dir = await mkdtemp(join(tmpdir(), "down-fleets-"));
  const server = "https://127.0.0.1:6443";
  const mine = localFleetLayout(dir, server, "kubemark");
  const other = localFleetLayout(dir, server, "other");
  const old = localFleetLayout(dir, "https://127.0.0.1:7443", "kubemark");
  const procs = await Promise.all([mine, other, old].map((l, i) => sleeper(join(dir, `p${i}.log`))));
  try {
    const pki = join(dir, "pki");
    await mkdir(pki);
    await writeFile(join(pki, "ca.crt"), CA_A);
    await writeRecordWithShard(
      mine,
      { hostingServer: server, cluster: { caFingerprint: caFingerprint(CA_A) }, spec },
      procs[0]!,
    );
    // Same address, another cluster's CA: a fleet of a cluster that is gone, not this one's.
    await writeRecordWithShard(
      other,
      { hostingServer: server, cluster: { caFingerprint: caFingerprint(CA_B) }, spec },
      procs[1]!,
    );
    // A record of an older version: no identity, but it was given the cluster's CA.
    await writeRecordWithShard(old, { hostingServer: "https://127.0.0.1:7443", spec }, procs[2]!);
    await writeCredentials(old, { server: "https://127.0.0.1:7443", caCrt: CA_A, token: "t" });
    const r = await removeLocalFleetsOf(
      dir,
      { pki },
      { ports: { apiserver: 6443, etcdClient: 0, etcdPeer: 0, controllerManager: 0, scheduler: 0 } },
      realClock,
    );
    assert.deepEqual(r, { fleets: 2, processes: 2 });
    assert.ok(!isDaemonAlive(procs[0]!) && !isDaemonAlive(procs[2]!), "the cluster's engines are stopped");
    assert.ok(isDaemonAlive(procs[1]!), "another cluster's fleet is left alone");
    assert.equal(await readLocalFleet(mine), undefined, "its state is removed");
    assert.ok(await readLocalFleet(other));
  } finally {
    for (const p of procs) await stopDaemon(p, realClock);
    await rm(dir, { recursive: true, force: true });
  }
});
