/**
 * 200 hollow nodes in one engine process with `--identity node`, against the real control plane
 * with its audit log (issue #20's "done when"): one CSR per node made by the bootstrap token's
 * user, Approved and issued by kube-controller-manager for system:node:<name>; 200 distinct
 * system:node:<name> users in the audit log renewing their Leases and patching their Node status;
 * and the Node authorizer refusing, on purpose, node A's read of a Secret of a pod bound to node B
 * (403) while it lets A read its own pod's (200).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeApiError } from "../../src/client/api-error.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { credentialFile } from "../../src/engine/identity/cert-store.ts";
import { FLEET_LABEL, NODES_PATH, NODE_LEASES_PATH } from "../../src/kernel/k8s.ts";
import { KUBELET_CLIENT_SIGNER } from "../../src/engine/identity/node-csr.ts";
import {
  ensureNodeBootstrap,
  otherFleetsBootstrap,
  removeNodeBootstrap,
  tokenText,
  type BootstrapToken,
} from "../../src/fleet/bootstrap.ts";
import { adminClientFor, eventually, testCluster } from "../harness.ts";
import {
  defaultServiceAccount,
  fleetNodesReady,
  removeTestObjects,
  startFleetEngine,
  type EngineProcess,
} from "../engine-process.ts";
import { certDirClient, requestsByUser, writeBootstrapKubeconfig } from "../node-identity-helpers.ts";

const FLEET = "it-identity-scale";
const PREFIX = `it-idscale-${process.pid}`;
const NS = `it-identity-scale-${process.pid}`;
const NODES = 200;
const NAMES = Array.from({ length: NODES }, (_, i) => `${PREFIX}-${i}`);

interface Csr {
  metadata: { name: string };
  spec: { username?: string; signerName: string };
  status?: { certificate?: string; conditions?: { type: string }[] };
}

describe(`${NODES} hollow nodes with their own identities in one engine process (audit log)`, () => {
  let admin: KubeClient;
  let engine: EngineProcess | undefined;
  let token: BootstrapToken;
  let dir: string;
  let certDir: string;
  let engineArgs: string[];
  const nodeClients: KubeClient[] = [];

  before(async () => {
    assert.ok(testCluster().auditLog, "the test cluster writes an audit log (global-setup: up --audit)");
    admin = await adminClientFor();
    dir = await mkdtemp(join(tmpdir(), "it-identity-scale-")); // 0700
    certDir = join(dir, "certs");
    token = await ensureNodeBootstrap(admin, { fleet: FLEET, now: Date.now(), ttlMs: 3_600_000 });
    const bootKc = await writeBootstrapKubeconfig(join(dir, "bootstrap.kubeconfig"), tokenText(token));
    engineArgs = ["--bootstrap-kubeconfig", bootKc, "--identity", "node", "--cert-dir", certDir];
    engine = startFleetEngine({ nodes: NODES, namePrefix: PREFIX, fleet: FLEET }, engineArgs);
  });

  after(async () => {
    const code = await engine?.stop();
    if (code !== undefined && code !== 0) process.stderr.write(engine?.logs() ?? "");
    for (const c of nodeClients) await c.close();
    const others = await otherFleetsBootstrap(admin, FLEET);
    const removed = await removeNodeBootstrap(admin, { fleet: FLEET, bindings: !others, nodes: NAMES });
    assert.ok(removed.tokens >= 1 && removed.csrs >= NODES, JSON.stringify(removed));
    await removeTestObjects(admin, NS, FLEET);
    await rm(dir, { recursive: true, force: true });
  });

  test("every node is Ready after one CSR each, made by the bootstrap user, Approved and issued for it", async () => {
    const started = Date.now();
    await fleetNodesReady(admin, FLEET, NODES);
    process.stdout.write(
      `# ${NODES} nodes with --identity node Ready ${((Date.now() - started) / 1000).toFixed(1)} s after the engine's start\n`,
    );
    const bootUser = `system:bootstrap:${token.id}`;
    const csrs = (
      await admin.get<{ items: Csr[] }>("/apis/certificates.k8s.io/v1/certificatesigningrequests")
    ).items.filter((c) => c.spec.username === bootUser);
    assert.equal(csrs.length, NODES, "one CSR per node, by the bootstrap token's user");
    const subjects = new Set<string>();
    for (const c of csrs) {
      assert.equal(c.spec.signerName, KUBELET_CLIENT_SIGNER);
      assert.ok(
        c.status?.conditions?.some((x) => x.type === "Approved"),
        `${c.metadata.name} approved`,
      );
      assert.ok(c.status?.certificate, `${c.metadata.name} issued`);
      const cert = new X509Certificate(Buffer.from(c.status.certificate, "base64"));
      assert.match(cert.subject, /(^|\n)O=system:nodes(\n|$)/);
      subjects.add(/(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? "");
    }
    assert.deepEqual(
      [...subjects].sort(),
      NAMES.map((n) => `system:node:${n}`).sort(),
      "the issued certificates name each node once",
    );
    // The audit log: exactly one CSR creation per node, all by the bootstrap user.
    const boot = await requestsByUser(testCluster().auditLog!, bootUser);
    assert.equal(boot.get(bootUser)?.get("create certificatesigningrequests"), NODES);
    assert.equal((await stat(credentialFile(certDir, NAMES[0]!))).mode & 0o777, 0o600);
  });

  test(`the audit log shows ${NODES} distinct system:node:<name> users renewing their Leases and patching their Node status`, async () => {
    const userPrefix = `system:node:${PREFIX}-`;
    const kubelet = ["create nodes", "update leases", "patch nodes/status"];
    let byUser = new Map<string, Map<string, number>>();
    // A kubelet renews its Lease every 10 s: give every node a renewal after registration.
    await eventually("every node's kubelet requests in the audit log", 60_000, async () => {
      byUser = await requestsByUser(testCluster().auditLog!, userPrefix);
      const complete = NAMES.filter((n) => {
        const did = byUser.get(`system:node:${n}`);
        return kubelet.every((k) => did?.has(k));
      }).length;
      return { done: complete === NODES, status: `${complete}/${NODES} users with ${kubelet.join(", ")}` };
    });
    assert.deepEqual(
      [...byUser.keys()].sort(),
      NAMES.map((n) => `system:node:${n}`).sort(),
      `${NODES} distinct node users, none other of the fleet's`,
    );
    const totals = new Map<string, number>();
    for (const did of byUser.values()) for (const [k, v] of did) totals.set(k, (totals.get(k) ?? 0) + v);
    process.stdout.write(
      `# audit log, ${byUser.size} system:node users: ${[...totals].map(([k, v]) => `${k} ${v}`).join(", ")}\n`,
    );
  });

  test("the Node authorizer: node A reads its own pod's Secret (200), node B's pod's Secret is 403", async () => {
    await admin.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    await defaultServiceAccount(admin, NS);
    const [a, b] = [NAMES[0]!, NAMES[NODES - 1]!];
    for (const [secret, node] of [
      ["secret-a", a],
      ["secret-b", b],
    ] as const) {
      await admin.request({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/secrets`,
        body: { metadata: { name: secret }, stringData: { k: "v" } },
      });
      await admin.request({
        method: "POST",
        path: `/api/v1/namespaces/${NS}/pods`,
        body: {
          metadata: { name: `pod-${secret}` },
          spec: {
            nodeName: node,
            containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
            volumes: [{ name: "s", secret: { secretName: secret } }],
          },
        },
      });
    }
    const clientA = await certDirClient(certDir, a);
    nodeClients.push(clientA);
    // The authorizer's graph follows the pods a moment later.
    await eventually("node A reads its own pod's Secret", 30_000, async () => {
      try {
        await clientA.get(`/api/v1/namespaces/${NS}/secrets/secret-a`);
        return { done: true, status: "200" };
      } catch (err) {
        return { done: false, status: String(err) };
      }
    });
    const denied = await clientA.get(`/api/v1/namespaces/${NS}/secrets/secret-b`).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(denied instanceof KubeApiError, "node A may not read node B's pod's Secret");
    assert.equal(denied.status, 403);
    assert.match(denied.message, /no relationship found between node/);
    // And the audit log has the refusal, as node A.
    await eventually("the 403 in the audit log", 15_000, async () => {
      const did = (await requestsByUser(testCluster().auditLog!, `system:node:${a}`)).get(`system:node:${a}`);
      return { done: (did?.get("get secrets 403") ?? 0) >= 1, status: "not logged yet" };
    });
  });

  test("SIGTERM with --delete-nodes-on-exit deletes every Node and Lease with the process's kubeconfig identity, not the nodes' own (NodeRestriction forbids a node its own Node's deletion)", async () => {
    assert.equal(await engine!.stop("SIGTERM"), 0);
    // Again, on the certificates kept in --cert-dir (no new CSRs), this time deleting on exit.
    engine = startFleetEngine({ nodes: NODES, namePrefix: PREFIX, fleet: FLEET }, [
      ...engineArgs,
      "--delete-nodes-on-exit",
    ]);
    await eventually("the engine to report its nodes registered", 120_000, () =>
      Promise.resolve({ done: engine!.logs().includes('"msg":"nodes registered"'), status: "starting" }),
    );
    assert.equal(await engine.stop("SIGTERM"), 0);
    assert.doesNotMatch(engine.logs(), /could not delete/);
    const nodes = await admin.get<{ items: unknown[] }>(NODES_PATH, {
      labelSelector: `${FLEET_LABEL}=${FLEET}`,
    });
    assert.equal(nodes.items.length, 0, "the fleet's Nodes are gone");
    const leases = await admin.get<{ items: { metadata: { name: string } }[] }>(NODE_LEASES_PATH);
    assert.equal(leases.items.filter((l) => l.metadata.name.startsWith(`${PREFIX}-`)).length, 0);
    engine = undefined;
  });
});
