/**
 * `up`, `status` and `down` as a user runs them (issue: foundation): named clusters are
 * independent, a second `up` changes nothing, bad input fails cleanly with nothing left running,
 * and `up` of a cluster with a killed component restarts only that one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, eventually, kubectlPath, run, testCluster, testRecord } from "../harness.ts";
import { isDaemonAlive } from "../../src/host/daemon.ts";

/** Command lines of running processes that mention `text` (to prove nothing was left running). */
async function processesMentioning(text: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = (await readFile(`/proc/${pid}/cmdline`, "utf8")).replace(/\0/g, " ");
      if (cmd.includes(text)) out.push(`${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

test("two named clusters run at once and 'down' of one leaves the other untouched", async () => {
  const c = testCluster();
  const up = await cli(["up", "--name", "second", "-o", "json"]);
  assert.equal(up.code, 0, up.stderr);
  const second = JSON.parse(up.stdout) as { server: string; kubeconfig: string; stateDir: string };
  assert.notEqual(second.server, c.server);

  const status = await cli(["status", "-o", "json"]);
  assert.equal(status.code, 0, status.stderr);
  const all = JSON.parse(status.stdout) as { name: string; healthy: boolean }[];
  assert.deepEqual(
    all
      .filter((x) => x.name === c.name || x.name === "second")
      .map((x) => [x.name, x.healthy])
      .sort(),
    [
      [c.name, true],
      ["second", true],
    ].sort(),
  );
  const ready2 = await run(kubectlPath(), ["--kubeconfig", second.kubeconfig, "get", "--raw", "/readyz"]);
  assert.equal(ready2.stdout.trim(), "ok");

  const down = await cli(["down", "--name", "second"]);
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stdout, /cluster "second" is down/);
  assert.deepEqual(await processesMentioning(second.stateDir), []);
  const ready1 = await run(kubectlPath(), ["--kubeconfig", c.kubeconfig, "get", "--raw", "/readyz"]);
  assert.equal(ready1.stdout.trim(), "ok", "the first cluster must still answer");

  const again = await cli(["down", "--name", "second"]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing to do/);
});

test("a second 'up' of a running cluster says so and changes nothing", async () => {
  const c = testCluster();
  const r = await cli(["up", "--name", c.name]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /already running/);
  assert.match(r.stdout, /export KUBECONFIG=/);
});

test("bad input to 'up' gives a one-line error naming the fix and leaves nothing running", async () => {
  const c = testCluster();
  const banana = await cli(["up", "--name", "bad1", "--kube-version", "banana"]);
  assert.equal(banana.code, 2);
  assert.match(
    banana.stderr,
    /^error: --kube-version must be a Kubernetes release like v1\.36\.3, got "banana"\n/,
  );

  const port = new URL(c.server).port;
  const taken = await cli(["up", "--name", "bad2", "--port", port]);
  assert.notEqual(taken.code, 0);
  assert.match(
    taken.stderr,
    new RegExp(
      `^error: port ${port} is already in use on 127\\.0\\.0\\.1\\nhint: choose another with --port`,
    ),
  );
  const gone = await cli(["status", "--name", "bad2"]);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /no local cluster named "bad2"/);

  const scratch = await mkdtemp(join(tmpdir(), "kubemark-it-bad-"));
  const notADir = join(scratch, "file");
  await writeFile(notADir, "");
  const unwritable = await cli(["up", "--name", "bad3"], { KUBEMARK_STATE_DIR: join(notADir, "state") });
  assert.notEqual(unwritable.code, 0);
  assert.match(
    unwritable.stderr,
    /^error: cannot write the state directory .*\nhint: set KUBEMARK_STATE_DIR or pass --state-dir/,
  );

  const badPort = await cli(["up", "--name", "bad4", "--port", "http"]);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /^error: --port must be a whole number, got "http"/);

  for (const n of ["bad1", "bad2", "bad3", "bad4"]) {
    assert.deepEqual(await processesMentioning(`clusters/${n}/`), [], `nothing of ${n} runs`);
  }
  await rm(scratch, { recursive: true, force: true });
});

test("'up' of a cluster whose scheduler was killed restarts only the scheduler", async () => {
  const c = testCluster();
  const before = await testRecord();
  const scheduler = before.processes["kube-scheduler"];
  assert.ok(scheduler && isDaemonAlive(scheduler), "the scheduler runs");
  process.kill(scheduler.pid, "SIGKILL");
  await eventually("the killed scheduler to be gone", 10_000, () =>
    Promise.resolve({ done: !isDaemonAlive(scheduler), status: `pid ${scheduler.pid}` }),
  );
  const t0 = Date.now();
  const up = await cli(["up", "--name", c.name]);
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(up.code, 0, up.stderr);
  process.stderr.write(`'up' after kill -9 of the scheduler took ${seconds.toFixed(1)}s:\n${up.stdout}`);
  assert.match(up.stdout, /^restarted kube-scheduler: not running$/m);
  assert.match(up.stdout, /^kept running: etcd, kube-apiserver, kube-controller-manager$/m);
  assert.doesNotMatch(up.stdout, /restarted (etcd|kube-apiserver|kube-controller-manager)/);

  const after = await testRecord();
  for (const k of ["etcd", "kube-apiserver", "kube-controller-manager"] as const) {
    assert.equal(after.processes[k]?.pid, before.processes[k]?.pid, `${k} keeps its pid`);
    assert.ok(isDaemonAlive(after.processes[k]!), `${k} still runs`);
  }
  const restarted = after.processes["kube-scheduler"];
  assert.ok(restarted && isDaemonAlive(restarted), "a new scheduler runs");
  assert.notEqual(restarted.pid, scheduler.pid);
  const status = await cli(["status", "--name", c.name, "-o", "json"]);
  assert.equal(status.code, 0, status.stderr);
  const [info] = JSON.parse(status.stdout) as {
    healthy: boolean;
    components: { component: string; pid: number; healthy: boolean }[];
  }[];
  assert.ok(info?.healthy, status.stdout);
  assert.deepEqual(
    info.components.find((x) => x.component === "kube-scheduler"),
    { ...info.components.find((x) => x.component === "kube-scheduler"), pid: restarted.pid, healthy: true },
  );
});
