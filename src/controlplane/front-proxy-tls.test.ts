import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCertAuthority } from "../host/pki.ts";
import { clusterLayout, type ClusterRecord } from "./cluster-state.ts";
import { ensureEtcdTls } from "./etcd-tls.ts";
import { ensureFrontProxyTls, frontProxyTlsFiles, hasFrontProxyTls } from "./front-proxy-tls.ts";
import { planRestart } from "./up/restart.ts";

async function cert(file: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(file));
}

test("ensureFrontProxyTls: a front-proxy CA of its own and the front-proxy-client certificate, keys 0600", async () => {
  const pki = await mkdtemp(join(tmpdir(), "kubemark-front-proxy-"));
  try {
    const clusterCa = await cert((await createCertAuthority(pki, "cluster-ca")).certFile);
    assert.equal(await hasFrontProxyTls(pki), false);
    assert.deepEqual(await ensureFrontProxyTls(pki, "c1"), ["front-proxy/ca", "front-proxy-client"]);
    assert.equal(await hasFrontProxyTls(pki), true);
    const f = frontProxyTlsFiles(pki);
    const ca = await cert(f.ca.certFile);
    const client = await cert(f.client.certFile);
    assert.ok(client.verify(ca.publicKey), "signed by the front-proxy CA");
    assert.ok(!client.checkIssued(clusterCa), "not by the cluster CA");
    assert.match(client.subject, /CN=front-proxy-client/);
    for (const key of [f.ca.keyFile, f.client.keyFile]) {
      assert.equal((await stat(key)).mode & 0o777, 0o600, key);
    }
    assert.deepEqual(await ensureFrontProxyTls(pki, "c1"), [], "nothing missing, nothing made");
    await rm(f.ca.keyFile);
    assert.deepEqual(await ensureFrontProxyTls(pki, "c1"), ["front-proxy/ca", "front-proxy-client"]);
    assert.ok((await cert(f.client.certFile)).verify((await cert(f.ca.certFile)).publicKey));
  } finally {
    await rm(pki, { recursive: true, force: true });
  }
});

test("up of a healthy cluster made before the aggregation layer: makes its certificates and restarts only the API server", async () => {
  const state = await mkdtemp(join(tmpdir(), "kubemark-front-proxy-"));
  try {
    const layout = clusterLayout(state, "old");
    await createCertAuthority(layout.pki, "cluster-ca");
    await ensureEtcdTls(layout.pki, "old");
    const rec: ClusterRecord = {
      name: "old",
      version: "v1.36.3",
      ports: { etcdClient: 1, etcdPeer: 2, apiserver: 3, controllerManager: 4, scheduler: 5 },
      audit: false,
      loadTest: false,
      serviceCIDR: "10.0.0.0/16",
      clusterCIDR: "10.128.0.0/9",
      createdAt: "2026-01-01T00:00:00.000Z",
      processes: {},
    };
    const healthy = (["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const).map(
      (component) => ({ component, pid: 1, port: 1, running: true, healthy: true, detail: "ok" }),
    );
    const { plan } = await planRestart(layout, rec, healthy, {});
    assert.equal(plan["kube-apiserver"].action, "start");
    assert.match(
      plan["kube-apiserver"].action === "start" ? plan["kube-apiserver"].reason : "",
      /aggregation layer's certificates were missing \(made front-proxy\/ca, front-proxy-client\)/,
    );
    assert.equal(plan.etcd.action, "keep");
    assert.equal(plan["kube-controller-manager"].action, "keep");
    assert.equal(plan["kube-scheduler"].action, "keep");
    assert.equal(await hasFrontProxyTls(layout.pki), true);
  } finally {
    await rm(state, { recursive: true, force: true });
  }
});
