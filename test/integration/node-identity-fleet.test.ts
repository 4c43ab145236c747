/**
 * `--identity node` through the fleet verbs against a real control plane: `create` (no
 * `--identity`) detects the Node authorizer and makes a local fleet whose nodes run as
 * system:node:<name>, `verify` checks their certificates, `cleanup` leaves no CSR, token or
 * binding; and the API server killed and started again under such a fleet.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { clusterLayout, readRecord } from "../../src/controlplane/cluster-state.ts";
import { credentialFile } from "../../src/engine/identity/cert-store.ts";
import type { FleetEvent } from "../../src/fleet/events.ts";
import { clusterRoleName } from "../../src/fleet/objects.ts";
import type { Session } from "../../src/fleet/session.ts";
import { cleanupFleet } from "../../src/fleet/verbs/cleanup.ts";
import { createFleet } from "../../src/fleet/verbs/create.ts";
import { verifyFleet } from "../../src/fleet/verbs/verify.ts";
import { isDaemonAlive } from "../../src/host/daemon.ts";
import { adminClientFor, cli, eventually, testCluster, testFleetSession } from "../harness.ts";
import { eventWriters, nodeCreators, type Csr } from "../node-identity-helpers.ts";

/*
 * The fleet verbs with --identity node (local engine processes), as `kubemark-cluster create`,
 * `verify` and `cleanup` run them: the default on a cluster with the Node authorizer, a bootstrap
 * token made in the target and its kubeconfig 0600 in the fleet's state directory, every Node
 * created by its own user, no left-out kubelet requests, and nothing of the fleet's bootstrap left
 * after cleanup.
 */
describe("create --identity node (a local fleet), verify, cleanup", () => {
  const FLEET_NS = `it-fleet-identity-${process.pid}`;
  const FLEET_NODES = 20;

  const fleetSession = (events: FleetEvent[]): Promise<Session> => testFleetSession(FLEET_NS, events);

  test("create 20 (no --identity) detects the Node authorizer, the nodes run as system:node:<name>, cleanup leaves no CSR, token or binding", async () => {
    const admin = await adminClientFor();
    const events: FleetEvent[] = [];
    const s = await fleetSession(events);
    try {
      const started = Date.now();
      const r = await createFleet(s, {
        verb: "create",
        nodes: FLEET_NODES,
        mode: "local",
        wait: true,
        timeoutMs: 240_000,
        stallMs: 120_000,
      });
      process.stdout.write(
        `# create ${FLEET_NODES} (node identities by default): Ready in ${(Date.now() - started) / 1000} s\n`,
      );
      assert.equal(r.spec.identity, "node");
      assert.equal(r.ready, FLEET_NODES);
      const said = events.flatMap((e) => (e.kind === "step" ? [e.message] : []));
      assert.ok(
        said.some((m) => /^identity: node \(the API server runs the Node authorizer\)/.test(m)),
        said.join("\n"),
      );
      // The bootstrap kubeconfig: 0600 in the fleet's state directory, its token nowhere in what was said.
      const dir = s.runtime("local").localDir()!;
      const kc = join(dir, "credentials", "bootstrap.kubeconfig");
      assert.equal((await stat(kc)).mode & 0o777, 0o600);
      const boot = parse(await readFile(kc, "utf8")) as { users: { user: { token: string } }[] };
      const bootToken = boot.users[0]!.user.token;
      assert.match(bootToken, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
      assert.ok(!JSON.stringify(events).includes(bootToken), "the token is never reported");
      // Every Node created by its own user (audit log), certificates kept 0600 under the state dir.
      const prefix = r.spec.namePrefix;
      let users = new Set<string>();
      await eventually("the fleet's Node creations in the audit log", 30_000, async () => {
        users = await nodeCreators(testCluster().auditLog!, `${prefix}-`);
        const own = [...users].filter((u) => u.startsWith(`system:node:${prefix}-`));
        return { done: own.length >= FLEET_NODES, status: `${own.length} node users` };
      });
      for (let i = 0; i < FLEET_NODES; i++)
        assert.ok(users.has(`system:node:${prefix}-${i}`), `Node ${prefix}-${i} created by itself`);
      assert.equal((await stat(credentialFile(join(dir, "certs"), `${prefix}-0`))).mode & 0o777, 0o600);
      // The kubelets' Events (each node's start: Starting, NodeHasSufficientMemory, ...) are written as the node.
      await eventually("the nodes' Events in the audit log", 30_000, async () => {
        const writers = await eventWriters(testCluster().auditLog!, `system:node:${prefix}-`);
        return { done: writers.size >= FLEET_NODES, status: `${writers.size} nodes wrote Events` };
      });
      // The ServiceAccount keeps the hollow proxy's rules only; the engine leaves nothing out.
      const role = await admin.get<{ rules: { resources: string[]; verbs: string[] }[] }>(
        `/apis/rbac.authorization.k8s.io/v1/clusterroles/${clusterRoleName(s.fleet)}`,
      );
      assert.ok(
        !role.rules.some(
          (x) =>
            x.resources.some((res) => /^(pods|secrets|configmaps|leases)/.test(res)) ||
            (x.verbs.includes("create") && x.resources.includes("nodes")),
        ),
        JSON.stringify(role.rules),
      );
      const log = await readFile(join(dir, "shard-0.log"), "utf8");
      assert.doesNotMatch(log, /may not make some kubelet requests/);
      assert.ok(!log.includes(bootToken.split(".")[1]!), "the token is not in the engine's log");
      const report = await verifyFleet(s);
      assert.equal(report.healthy, true, report.problems.join("; "));
      assert.deepEqual(
        [report.certificates?.complete, report.certificates?.missing, report.certificates?.expiring],
        [true, [], []],
      );

      const removed = await cleanupFleet(s, { all: true });
      assert.equal(removed.nodes, FLEET_NODES);
      assert.equal(removed.bootstrap.tokens, 1);
      assert.ok(removed.bootstrap.csrs >= FLEET_NODES, JSON.stringify(removed.bootstrap));
      assert.equal(removed.bootstrap.bindings, true);
      const tokenId = bootToken.split(".")[0]!;
      const csrs = await admin.get<{ items: Csr[] }>(
        "/apis/certificates.k8s.io/v1/certificatesigningrequests",
      );
      const left = csrs.items.filter(
        (c) =>
          c.spec.username === `system:bootstrap:${tokenId}` ||
          c.spec.username?.startsWith(`system:node:${prefix}-`),
      );
      assert.deepEqual(
        left.map((c) => c.metadata.name),
        [],
        "no CSR of the fleet is left",
      );
      await assert.rejects(
        admin.get(`/api/v1/namespaces/kube-system/secrets/bootstrap-token-${tokenId}`),
        /404|not found/i,
      );
      await assert.rejects(
        admin.get(
          "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubemark-cluster:kubelet-bootstrap",
        ),
        /404|not found/i,
      );
    } finally {
      await cleanupFleet(s, { all: true }).catch(() => undefined);
      await admin.close();
    }
  });
});

/*
 * The API server killed (kill -9) and started again by `up` under a fleet with node identities:
 * every node reconnects with the certificate it had (no new CSR), renews its Lease as
 * system:node:<its name>, and none re-registers as a new Node (same UIDs).
 */
describe("faults with node identities", () => {
  const FAULT_NS = `it-identity-fault-${process.pid}`;
  const FAULT_NODES = 20;

  test("the API server restarted: every node reconnects with its own certificate, same Node UIDs, no new CSR", async () => {
    const c = testCluster();
    const scope = ["--kubeconfig", c.kubeconfig, "-n", FAULT_NS];
    let admin = await adminClientFor();
    const fleetNodes = async (): Promise<{ metadata: { name: string; uid: string } }[]> =>
      (
        await admin.get<{ items: { metadata: { name: string; uid: string } }[] }>("/api/v1/nodes", {
          labelSelector: `kubemark-cluster.io/fleet=${FAULT_NS}`,
        })
      ).items;
    const csrNames = async (): Promise<string[]> =>
      (await admin.get<{ items: Csr[] }>("/apis/certificates.k8s.io/v1/certificatesigningrequests")).items
        .map((x) => x.metadata.name)
        .sort();
    try {
      const created = await cli(["create", String(FAULT_NODES), ...scope]);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stderr, /identity: node \(the API server runs the Node authorizer\)/);
      const uids = new Map((await fleetNodes()).map((n) => [n.metadata.name, n.metadata.uid]));
      assert.equal(uids.size, FAULT_NODES);
      const prefix = [...uids.keys()][0]!.replace(/-\d+$/, "-");
      const csrsBefore = await csrNames();

      const rec = await readRecord(clusterLayout(c.stateDir, c.name));
      const api = rec?.processes["kube-apiserver"];
      assert.ok(api && isDaemonAlive(api), "the test cluster's API server runs");
      process.kill(api.pid, "SIGKILL");
      await new Promise((r) => setTimeout(r, 5_000));
      const up = await cli(["up", "--name", c.name]);
      assert.equal(up.code, 0, up.stderr);
      const back = Date.now();
      await admin.close();
      admin = await adminClientFor();

      // Every node renews its Lease after the restart, each as its own user.
      let renewers = new Map<string, Set<string>>();
      await eventually("every node's Lease renewed after the restart", 120_000, async () => {
        renewers = await leaseRenewers(c.auditLog!, prefix, back);
        return { done: renewers.size >= FAULT_NODES, status: `${renewers.size}/${FAULT_NODES} renewed` };
      });
      for (const name of uids.keys())
        assert.deepEqual(
          [...(renewers.get(name) ?? [])],
          [`system:node:${name}`],
          `${name} renews as itself`,
        );
      await eventually("every node Ready after the restart", 60_000, async () => {
        const report = await cli(["verify", ...scope, "-o", "json"]);
        const r = JSON.parse(report.stdout || "{}") as { ready?: number };
        return { done: report.code === 0 && r.ready === FAULT_NODES, status: report.stderr.slice(-200) };
      });
      process.stderr.write(
        `# API server kill -9 with node identities: Ready again ${((Date.now() - back) / 1000).toFixed(1)} s after 'up'\n`,
      );
      const after = await fleetNodes();
      assert.equal(after.length, FAULT_NODES, "no duplicate or missing Node");
      for (const n of after)
        assert.equal(n.metadata.uid, uids.get(n.metadata.name), `${n.metadata.name} kept its UID`);
      assert.deepEqual(await csrNames(), csrsBefore, "no node asked for a new certificate");
    } finally {
      await cli(["cleanup", "--all", ...scope]);
      await admin.close();
    }
  });
});

/** Per Lease name starting with `prefix`, the users whose updates of it the audit log records as successful since `since` (ms). */
async function leaseRenewers(
  auditLog: string,
  prefix: string,
  since: number,
): Promise<Map<string, Set<string>>> {
  const by = new Map<string, Set<string>>();
  for (const line of (await readFile(auditLog, "utf8")).split("\n")) {
    if (!line.includes(prefix) || !line.includes('"leases"')) continue;
    const ev = JSON.parse(line) as {
      verb: string;
      stage?: string;
      requestReceivedTimestamp?: string;
      user: { username: string };
      objectRef?: { resource?: string; namespace?: string; name?: string };
      responseStatus?: { code?: number };
    };
    const name = ev.objectRef?.name ?? "";
    if (
      ev.verb === "update" &&
      ev.objectRef?.resource === "leases" &&
      ev.objectRef.namespace === "kube-node-lease" &&
      name.startsWith(prefix) &&
      ev.responseStatus?.code === 200 &&
      Date.parse(ev.requestReceivedTimestamp ?? "") >= since
    )
      by.set(name, (by.get(name) ?? new Set()).add(ev.user.username));
  }
  return by;
}
