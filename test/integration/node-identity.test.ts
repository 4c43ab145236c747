/**
 * `--identity node` against a real control plane: every hollow node gets its own certificate by
 * the kubelet's TLS bootstrap (a bootstrap token as `kubeadm token create` makes it, kubeadm's
 * ClusterRoleBindings, kube-controller-manager's csrapproving and csrsigning controllers), and
 * registers and runs as system:node:<name>: the audit log shows each Node created by its own
 * user, a node's SelfSubjectReview names it, every CSR is Approved and issued, and the Node
 * authorizer lets a node read its own pod's Secret and refuses another node's (403).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { KubeClient } from "../../src/client/kube-client.ts";
import { credentialFile } from "../../src/engine/identity/cert-store.ts";
import { KUBELET_CLIENT_SIGNER } from "../../src/engine/identity/node-csr.ts";
import {
  bootstrapTokenSecret,
  ensureNodeBootstrap,
  newBootstrapToken,
  removeNodeBootstrap,
  tokenText,
  type BootstrapToken,
} from "../../src/fleet/bootstrap.ts";
import { adminClientFor, eventually, testCluster } from "../harness.ts";
import { certDirClient, nodeCreators, writeBootstrapKubeconfig, type Csr } from "../node-identity-helpers.ts";
import {
  fleetNodesReady,
  removeTestObjects,
  startEngine,
  startFleetEngine,
  type EngineProcess,
} from "../engine-process.ts";

const FLEET = "it-identity";
const PREFIX = `it-ident-${process.pid}`;
const NS = `it-identity-${process.pid}`;
const NODES = 20;

describe("hollow nodes with their own identities (--identity node)", () => {
  let admin: KubeClient;
  let engine: EngineProcess | undefined;
  let token: BootstrapToken;
  let certDir: string;
  let bootKc: string;
  /** The engine of these tests: the fleet's nodes with their own identities, certificates kept in certDir. */
  const startIdentityEngine = (): EngineProcess =>
    startFleetEngine({ nodes: NODES, namePrefix: PREFIX, fleet: FLEET }, [
      "--bootstrap-kubeconfig",
      bootKc,
      "--identity",
      "node",
      "--cert-dir",
      certDir,
    ]);
  const nodeClients: KubeClient[] = [];

  /** A client presenting node `name`'s certificate, read from --cert-dir (closed after the tests). */
  async function nodeClient(name: string): Promise<KubeClient> {
    const c = await certDirClient(certDir, name);
    nodeClients.push(c);
    return c;
  }

  before(async () => {
    admin = await adminClientFor();
    const dir = await mkdtemp(join(tmpdir(), "it-identity-"));
    certDir = join(dir, "certs");
    token = await ensureNodeBootstrap(admin, {
      fleet: FLEET,
      now: Date.now(),
      ttlMs: 3_600_000,
    });
    bootKc = await writeBootstrapKubeconfig(join(dir, "bootstrap.kubeconfig"), tokenText(token));
    engine = startIdentityEngine();
  });

  after(async () => {
    const code = await engine?.stop();
    if (code !== 0) process.stderr.write(engine?.logs() ?? "");
    for (const c of nodeClients) await c.close();
    // What cleanup removes: the fleet's token, the CSRs it made, kubeadm's bindings.
    const removed = await removeNodeBootstrap(admin, {
      fleet: FLEET,
      bindings: true,
    });
    assert.ok(removed.tokens >= 1 && removed.csrs >= NODES, JSON.stringify(removed));
    await removeTestObjects(admin, NS, FLEET);
  });

  test("every node is Ready, with a CSR Approved and issued for system:node:<name>", async () => {
    await fleetNodesReady(admin, FLEET, NODES);
    const csrs = await admin.get<{ items: Csr[] }>("/apis/certificates.k8s.io/v1/certificatesigningrequests");
    const ours = csrs.items.filter((c) => c.spec.username === `system:bootstrap:${token.id}`);
    assert.equal(ours.length, NODES, "one CSR per node, made by the bootstrap token's user");
    for (const c of ours) {
      assert.match(c.metadata.name, /^node-csr-/);
      assert.equal(c.spec.signerName, KUBELET_CLIENT_SIGNER);
      assert.deepEqual(c.spec.usages, ["digital signature", "client auth"]);
      assert.ok(
        c.status?.conditions?.some((x) => x.type === "Approved"),
        `${c.metadata.name} approved`,
      );
      assert.ok(c.status?.certificate, `${c.metadata.name} issued`);
    }
    const mode = (await stat(credentialFile(certDir, `${PREFIX}-0`))).mode & 0o777;
    assert.equal(mode, 0o600, "--cert-dir files are 0600");
    assert.doesNotMatch(engine!.logs(), /PRIVATE KEY|token-secret/, "no key in the engine's logs");
    assert.ok(!engine!.logs().includes(token.secret), "the bootstrap token is not in the logs");
  });

  test("each Node was created by its own user, and a node's SelfSubjectReview names it", async () => {
    const auditLog = testCluster().auditLog;
    assert.ok(auditLog, "the test cluster writes an audit log");
    let creators = new Set<string>();
    await eventually("the Nodes' creations in the audit log", 30_000, async () => {
      creators = await nodeCreators(auditLog, PREFIX);
      return {
        done: creators.size >= NODES,
        status: `${creators.size} creators`,
      };
    });
    const want = Array.from({ length: NODES }, (_, i) => `system:node:${PREFIX}-${i}`).sort();
    assert.deepEqual([...creators].sort(), want, "each Node created by system:node:<its name>");
    const review = await (
      await nodeClient(`${PREFIX}-3`)
    ).request<{ status: { userInfo: { username: string; groups: string[] } } }>({
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "SelfSubjectReview",
      },
    });
    assert.equal(review.status.userInfo.username, `system:node:${PREFIX}-3`);
    assert.ok(review.status.userInfo.groups.includes("system:nodes"));
  });

  test("a restarted engine re-uses the certificates in --cert-dir: no new CSR, the same Nodes", async () => {
    const uids = async (): Promise<string[]> =>
      (
        await admin.get<{
          items: { metadata: { name: string; uid: string } }[];
        }>("/api/v1/nodes", {
          labelSelector: `kubemark-cluster.io/fleet=${FLEET}`,
        })
      ).items
        .map((n) => `${n.metadata.name}/${n.metadata.uid}`)
        .sort();
    const before = await uids();
    assert.equal(before.length, NODES);
    assert.equal(await engine!.stop(), 0);
    engine = startIdentityEngine();
    const started = Date.now();
    await eventually("the restarted engine's nodes registered", 60_000, () =>
      Promise.resolve({
        done: /nodes registered/.test(engine!.logs()),
        status: "starting",
      }),
    );
    await fleetNodesReady(admin, FLEET, NODES);
    process.stderr.write(
      `restart with --cert-dir: registered and Ready after ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    const csrs = await admin.get<{ items: Csr[] }>("/apis/certificates.k8s.io/v1/certificatesigningrequests");
    assert.equal(
      csrs.items.filter((c) => c.spec.username === `system:bootstrap:${token.id}`).length,
      NODES,
      "no new CSR",
    );
    assert.deepEqual(await uids(), before, "the same Node objects");
  });

  test("a denied CSR stops the engine with an error naming it and the reason", async () => {
    // A token of another group: allowed to create CSRs, not auto-approved.
    const denied = newBootstrapToken();
    const group = "system:bootstrappers:it-identity-denied";
    const secret = bootstrapTokenSecret(denied, new Date(Date.now() + 600_000), FLEET) as unknown as {
      stringData: Record<string, string>;
    };
    secret.stringData["auth-extra-groups"] = group;
    await admin.request({
      method: "POST",
      path: "/api/v1/namespaces/kube-system/secrets",
      body: secret,
    });
    const binding = "it-identity-denied";
    await admin.request({
      method: "POST",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      body: {
        metadata: { name: binding },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "system:node-bootstrapper",
        },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group }],
      },
    });
    const kc = await writeBootstrapKubeconfig(join(dirname(certDir), "denied.kubeconfig"), tokenText(denied));
    const lone = startEngine([
      "--kubeconfig",
      testCluster().kubeconfig,
      "--bootstrap-kubeconfig",
      kc,
      "--identity",
      "node",
      "--names",
      `${PREFIX}-denied`,
      "--fleet",
      FLEET,
      "--stats-interval",
      "0",
    ]);
    try {
      let name = "";
      await eventually("the lone node's CSR", 30_000, async () => {
        const csrs = await admin.get<{ items: Csr[] }>(
          "/apis/certificates.k8s.io/v1/certificatesigningrequests",
        );
        name =
          csrs.items.find((c) => c.spec.username === `system:bootstrap:${denied.id}`)?.metadata.name ?? "";
        return { done: name !== "", status: "no CSR yet" };
      });
      const csr = await admin.get<Csr & { status?: object }>(
        `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`,
      );
      await admin.request({
        method: "PUT",
        path: `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}/approval`,
        body: {
          ...csr,
          status: {
            conditions: [
              {
                type: "Denied",
                status: "True",
                reason: "ItDenied",
                message: "denied by the test",
              },
            ],
          },
        },
      });
      const code = await Promise.race([
        lone.exited,
        new Promise((r) => setTimeout(() => r("still running"), 30_000)),
      ]);
      assert.equal(code, 1, lone.logs());
      assert.match(
        lone.logs(),
        new RegExp(`CertificateSigningRequest ${name} was denied \\(ItDenied: denied by the test\\)`),
      );
      await admin.request({
        method: "DELETE",
        path: `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`,
      });
    } finally {
      await lone.stop();
      await admin
        .request({
          method: "DELETE",
          path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${binding}`,
        })
        .catch(() => undefined);
    }
  });
});
