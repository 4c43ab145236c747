/**
 * Local fleets when their engine or their cluster goes away, run as a user would (issue: CLI): a
 * killed engine is named by verify and restarted by create; down stops a cluster's engines; an
 * engine of a lost cluster is replaced by create at the same address.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { pickFreePorts } from "../../src/host/ports.ts";
import { adminClientFor, cli, eventually, testCluster } from "../harness.ts";
import { alive, enginePids, ok } from "../fleet-checks.ts";

test("engine crash (kill -9): verify names the process and the command that restarts it; create waits for the new process's Leases", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-crash";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  try {
    ok(await cli(["create", "3", ...scope]), "create 3");
    const [pid] = await enginePids(scope);
    assert.ok(pid !== undefined && alive(pid));
    process.kill(pid, "SIGKILL");
    await eventually("the engine process is gone", 10_000, () =>
      Promise.resolve({ done: !alive(pid), status: "alive" }),
    );
    const killedAt = Date.now();
    const verify = await cli(["verify", ...scope]);
    assert.notEqual(verify.code, 0, "verify fails after the crash");
    assert.match(
      verify.stderr,
      new RegExp(`1 of 1 engine processes not running: process 0 \\(pid ${pid}, 3 nodes\\) not running`),
    );
    assert.match(
      verify.stderr,
      /hint: .*'kubemark-cluster create 3 --kubeconfig \S+ -n fleet-crash' restarts them/,
    );

    const t0 = Date.now();
    const again = await cli(["create", "3", ...scope]);
    ok(again, "create 3 after the crash");
    process.stderr.write(`create after kill -9 took ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    const leases = await client.get<{
      items: { metadata: { name: string }; spec?: { renewTime?: string } }[];
    }>("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
    for (const name of ["hollow-node-0", "hollow-node-1", "hollow-node-2"]) {
      const l = leases.items.find((x) => x.metadata.name === name);
      assert.ok(
        Date.parse(l?.spec?.renewTime ?? "") > killedAt,
        `${name}'s Lease was renewed by the new process when create reported it Ready (${l?.spec?.renewTime})`,
      );
    }
    ok(await cli(["verify", ...scope]), "verify after the restart");
  } finally {
    await cli(["cleanup", "--all", ...scope]);
    await client.close();
  }
});

test("down stops the cluster's fleet engines; an engine of a lost cluster is replaced by create at the same address", async () => {
  const c = testCluster();
  const [port] = await pickFreePorts(1);
  const ns = "fleet-orphan";
  const kubeconfigOf = (name: string): string => join(c.stateDir, "clusters", name, "kubeconfig");
  const names = ["it-orphan-a", "it-orphan-b", "it-orphan-c"];
  try {
    // 1. down stops the fleet's engine: nothing keeps retrying the removed cluster.
    ok(await cli(["up", "--name", names[0]!, "--port", String(port)]), "up a");
    const scopeA = ["--kubeconfig", kubeconfigOf(names[0]!), "-n", ns];
    ok(await cli(["create", "2", ...scopeA]), "create 2 in a");
    const [pidA] = await enginePids(scopeA);
    const down = await cli(["down", "--name", names[0]!]);
    ok(down, "down a");
    assert.match(down.stdout, /stopped 1 hollow-node engine process of its local fleets/);
    assert.ok(!alive(pidA!), "down stopped the fleet's engine process");

    // 2. A cluster lost without 'down' (its processes killed, its state removed): its engine survives.
    ok(await cli(["up", "--name", names[1]!, "--port", String(port)]), "up b");
    const scopeB = ["--kubeconfig", kubeconfigOf(names[1]!), "-n", ns];
    const createB = await cli(["create", "2", ...scopeB]);
    ok(createB, "create 2 in b");
    assert.doesNotMatch(createB.stderr, /replaced/, "a's engine was not left for b to find");
    const [pidB] = await enginePids(scopeB);
    const recB = JSON.parse(
      await readFile(join(c.stateDir, "clusters", names[1]!, "cluster.json"), "utf8"),
    ) as { processes: Record<string, { pid: number }> };
    for (const p of Object.values(recB.processes)) process.kill(p.pid, "SIGKILL");
    await rm(join(c.stateDir, "clusters", names[1]!), { recursive: true, force: true });
    assert.ok(alive(pidB!));

    // 3. A new cluster at the same address: verify reports the orphan, create replaces it.
    ok(await cli(["up", "--name", names[2]!, "--port", String(port)]), "up c");
    const scopeC = ["--kubeconfig", kubeconfigOf(names[2]!), "-n", ns];
    const verify = await cli(["verify", ...scopeC]);
    assert.notEqual(verify.code, 0);
    assert.match(
      verify.stderr,
      new RegExp(
        `1 local engine process recorded for that namespace and address runs \\(pid ${pidB}\\): started for another cluster at this address \\(its kube-system namespace UID was`,
      ),
    );
    assert.match(
      verify.stderr,
      /hint: stop them with 'kubemark-cluster cleanup --kubeconfig \S+ -n fleet-orphan'/,
    );
    const create = await cli(["create", "2", ...scopeC]);
    ok(create, "create 2 in c");
    assert.match(
      create.stderr,
      /replaced 1 engine process started for another cluster at https:\/\/127\.0\.0\.1:\d+ \(its kube-system namespace UID was/,
    );
    assert.match(create.stdout, /2\/2 hollow nodes Ready/);
    assert.ok(!alive(pidB!), "the lost cluster's engine is stopped");
    ok(await cli(["verify", ...scopeC]), "verify in c");
  } finally {
    for (const name of names) await cli(["down", "--name", name]);
  }
});
