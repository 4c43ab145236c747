/**
 * Fault tests: a local fleet on the real control plane, with faults injected for real (a
 * controller's Ready=Unknown, etcd paused, the API server killed, the engine killed). Each asserts
 * what a user sees: every node Ready again soon after the fault ends, the same Node UIDs, no orphan
 * process. Each prints how long recovery took.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { clusterLayout, readRecord } from "../../src/controlplane/cluster-state.ts";
import { isDaemonAlive } from "../../src/host/daemon.ts";
import { adminClientFor, cli, eventually, testCluster, type RunResult } from "../harness.ts";

const NODES = 50;
const NS = "it-faults";
/** How soon after a fault ends every node must be Ready again (the bound). */
const RECOVERY_BOUND_MS = 30_000;
/** How long etcd is paused. */
const ETCD_PAUSE_S = 60;

interface NodeObj {
  metadata: { name: string; uid: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
}
interface LeaseObj {
  metadata: { name: string };
  spec: { renewTime?: string };
}

const isReady = (n: NodeObj): boolean =>
  n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/** Pids of running processes whose command line names this fleet's directory (its engines). */
function fleetProcesses(stateDir: string): number[] {
  const marker = join(stateDir, "fleets", `${NS}-`);
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe("faults: a local fleet recovers like kubelets", () => {
  const c = testCluster();
  const scope = ["--kubeconfig", c.kubeconfig, "-n", NS];
  let client: KubeClient;
  let uids: Map<string, string>;

  const fleetNodes = async (): Promise<NodeObj[]> =>
    (
      await client.get<{ items: NodeObj[] }>("/api/v1/nodes", {
        labelSelector: `kubemark-cluster.io/fleet=${NS}`,
      })
    ).items;

  /**
   * Polls the fleet's Nodes from `from` (the fault's end) until they have all been Ready for
   * `stableMs` in a row; returns when the last not-Ready one was seen (0: none was) and how many
   * distinct nodes were seen not Ready. Fails after `timeoutMs`.
   */
  async function recovery(
    what: string,
    from: number,
    stableMs = 15_000,
    timeoutMs = 120_000,
  ): Promise<{ ms: number; notReady: number }> {
    let lastBad = from;
    const seenBad = new Set<string>();
    await eventually(what, timeoutMs, async () => {
      let nodes: NodeObj[];
      try {
        nodes = await fleetNodes();
      } catch (err) {
        lastBad = Date.now();
        return { done: false, status: `API server not answering: ${String(err)}` };
      }
      const bad = nodes.filter((n) => !isReady(n));
      for (const n of bad) seenBad.add(n.metadata.name);
      if (bad.length > 0 || nodes.length !== NODES) lastBad = Date.now();
      return {
        done: Date.now() - lastBad >= stableMs,
        status: `${nodes.length - bad.length}/${NODES} Ready`,
      };
    });
    return { ms: Math.max(0, lastBad - from), notReady: seenBad.size };
  }

  async function sameNodes(): Promise<void> {
    const nodes = await fleetNodes();
    assert.equal(nodes.length, NODES, "no duplicate or missing Node");
    for (const n of nodes)
      assert.equal(n.metadata.uid, uids.get(n.metadata.name), `${n.metadata.name} kept its uid`);
  }

  function report(fault: string, r: { ms: number; notReady: number }): void {
    process.stderr.write(
      `fault "${fault}": ${r.notReady} of ${NODES} nodes seen not Ready; all Ready ${(r.ms / 1000).toFixed(1)} s after the fault ended\n`,
    );
  }

  before(async () => {
    client = await adminClientFor();
    ok(await cli(["create", String(NODES), ...scope]), `create ${NODES}`);
    uids = new Map((await fleetNodes()).map((n) => [n.metadata.name, n.metadata.uid]));
    assert.equal(uids.size, NODES);
  });

  after(async () => {
    await cli(["cleanup", "--all", ...scope]);
    await client.close();
  });

  test("a controller's Ready=Unknown on a Node the engine keeps alive is corrected within one status period", async () => {
    const name = [...uids.keys()][0]!;
    const unknown = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map((type) => ({
      type,
      status: "Unknown",
      reason: "NodeStatusUnknown",
      message: "Kubelet stopped posting node status.",
      lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    }));
    // As the node lifecycle controller writes it: the status subresource, conditions replaced.
    await client.request({
      method: "PATCH",
      path: `/api/v1/nodes/${name}/status`,
      patchType: "strategic",
      body: { status: { conditions: unknown } },
    });
    const marked = Date.now();
    const n = await client.get<NodeObj>(`/api/v1/nodes/${name}`);
    assert.ok(!isReady(n), "the injected Unknown took");
    await eventually(`${name} Ready again`, 60_000, async () => {
      const node = await client.get<NodeObj>(`/api/v1/nodes/${name}`);
      return {
        done: isReady(node),
        status: node.status?.conditions?.find((x) => x.type === "Ready")?.status ?? "?",
      };
    });
    const ms = Date.now() - marked;
    process.stderr.write(`fault "controller's Unknown": Ready again after ${(ms / 1000).toFixed(1)} s\n`);
    // The kubelet's status period is 10 s (+4% jitter): one period, with room for the watch's delivery.
    assert.ok(ms < 15_000, `corrected within one status period, took ${ms} ms`);
  });

  // 45 s is the stall the issue saw; the extra 15 s outlast the node lifecycle controller's grace
  // period (50 s since v1.32), so nodes are marked Unknown and must be corrected by their status sync.
  test(`etcd paused for ${ETCD_PAUSE_S} s (SIGSTOP, SIGCONT): every node Ready again within 30 s`, async () => {
    const rec = await readRecord(clusterLayout(c.stateDir, c.name));
    const etcd = rec?.processes["etcd"];
    assert.ok(etcd && isDaemonAlive(etcd), "the test cluster's etcd runs");
    process.kill(etcd.pid, "SIGSTOP");
    let resumed: number;
    try {
      await new Promise((r) => setTimeout(r, ETCD_PAUSE_S * 1000));
    } finally {
      process.kill(etcd.pid, "SIGCONT");
      resumed = Date.now();
    }
    const r = await recovery("every node Ready after the etcd stall", resumed);
    report(`etcd paused ${ETCD_PAUSE_S} s`, r);
    assert.ok(r.ms <= RECOVERY_BOUND_MS, `all Ready within 30 s of the stall's end, took ${r.ms} ms`);
    await sameNodes();
  });

  test("the engine frozen (SIGSTOP) past the node grace period: the controller marks its nodes Unknown; Ready within 30 s of SIGCONT", async () => {
    const [pid, ...others] = fleetProcesses(c.stateDir);
    assert.ok(pid !== undefined && others.length === 0, "one engine process");
    process.kill(pid, "SIGSTOP");
    let resumed: number;
    try {
      // Past the node lifecycle controller's grace period (50 s) and a few of its 5 s monitor periods.
      await eventually(
        "the node lifecycle controller to mark the frozen nodes not Ready",
        120_000,
        async () => {
          const bad = (await fleetNodes()).filter((n) => !isReady(n)).length;
          return { done: bad === NODES, status: `${bad}/${NODES} not Ready` };
        },
      );
    } finally {
      process.kill(pid, "SIGCONT");
      resumed = Date.now();
    }
    // Every node was marked (the wait above); once resumed, the engine may correct some before the
    // first poll below sees them, so its count of not-Ready nodes is reported, not asserted.
    const r = await recovery("every node Ready after the engine resumed", resumed);
    report("engine frozen past the grace period", r);
    assert.ok(r.ms <= RECOVERY_BOUND_MS, `all Ready within 30 s of SIGCONT, took ${r.ms} ms`);
    await sameNodes();
  });

  test("the API server killed (kill -9) and started again by 'up': every node Ready again within 30 s", async () => {
    const layout = clusterLayout(c.stateDir, c.name);
    const rec = await readRecord(layout);
    const api = rec?.processes["kube-apiserver"];
    assert.ok(api && isDaemonAlive(api), "the test cluster's API server runs");
    process.kill(api.pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 5_000));
    ok(await cli(["up", "--name", c.name]), "up after the API server died");
    const back = Date.now();
    await client.close();
    client = await adminClientFor();
    const r = await recovery("every node Ready after the API server's restart", back);
    report("API server kill -9", r);
    assert.ok(r.ms <= RECOVERY_BOUND_MS, `all Ready within 30 s of the API server's return, took ${r.ms} ms`);
    await sameNodes();
    assert.equal(fleetProcesses(c.stateDir).length, 1, "the engine kept running: one process");
  });

  test("the engine killed (kill -9), then 'create' again: the same nodes Ready again, one engine process", async () => {
    const [pid, ...others] = fleetProcesses(c.stateDir);
    assert.ok(pid !== undefined && others.length === 0, "one engine process before");
    process.kill(pid, "SIGKILL");
    await eventually("the engine to exit", 10_000, () =>
      Promise.resolve({ done: !fleetProcesses(c.stateDir).includes(pid), status: "running" }),
    );
    const restart = Date.now();
    ok(await cli(["create", String(NODES), ...scope]), `create ${NODES} after the engine died`);
    // Ready as the Nodes show it, and renewed by the new process (Leases younger than its start).
    await eventually("every Lease renewed by the new engine", 90_000, async () => {
      const leases = await client.get<{ items: LeaseObj[] }>(
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
      );
      const fresh = leases.items.filter(
        (l) => uids.has(l.metadata.name) && Date.parse(l.spec.renewTime ?? "") >= restart - 1_000,
      ).length;
      return { done: fresh === NODES, status: `${fresh}/${NODES} renewed since the restart` };
    });
    const r = await recovery("every node Ready after the engine's restart", restart, 10_000);
    report("engine kill -9", r);
    await sameNodes();
    const now = fleetProcesses(c.stateDir);
    assert.equal(now.length, 1, `one engine process after the restart, found ${now.length}`);
    assert.notEqual(now[0], pid);
  });
});
