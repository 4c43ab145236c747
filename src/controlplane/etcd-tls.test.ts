import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createCertAuthority } from "../host/pki.ts";
import { ensureEtcdTls, etcdTlsFiles } from "./etcd-tls.ts";

async function cert(file: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(file));
}

async function keyFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((f) => f.endsWith(".key")).map((f) => join(dir, f));
}

test("ensureEtcdTls makes etcd a CA of its own, server, peer and API-server client certificates", async () => {
  const pki = await mkdtemp(join(tmpdir(), "kubemark-etcd-tls-"));
  try {
    const clusterCa = await createCertAuthority(pki, "cluster-ca");
    assert.deepEqual(await ensureEtcdTls(pki, "c1"), [
      "etcd/ca",
      "etcd/server",
      "etcd/peer",
      "apiserver-etcd-client",
    ]);
    const f = etcdTlsFiles(pki);
    const ca = await cert(f.ca.certFile);
    const server = await cert(f.server.certFile);
    const peer = await cert(f.peer.certFile);
    const client = await cert(f.apiserverClient.certFile);
    for (const leaf of [server, peer, client]) {
      assert.ok(leaf.verify(ca.publicKey), `${leaf.subject} is signed by etcd's CA`);
      assert.ok(!leaf.checkIssued(await cert(clusterCa.certFile)), "not by the cluster CA");
    }
    assert.notEqual(ca.fingerprint256, (await cert(clusterCa.certFile)).fingerprint256);
    for (const c of [server, peer]) {
      assert.equal(c.checkIP("127.0.0.1"), "127.0.0.1");
      assert.equal(c.checkHost("localhost"), "localhost");
    }
    assert.equal(client.checkIP("127.0.0.1"), undefined, "a client certificate names no address");
    assert.match(client.subject, /CN=kube-apiserver-etcd-client/);
    for (const key of await keyFiles(pki)) {
      assert.equal((await stat(key)).mode & 0o777, 0o600, relative(pki, key));
    }
  } finally {
    await rm(pki, { recursive: true, force: true });
  }
});

test("ensureEtcdTls creates only what is missing, and everything again under a new CA", async () => {
  const pki = await mkdtemp(join(tmpdir(), "kubemark-etcd-tls-"));
  try {
    await ensureEtcdTls(pki, "c1");
    const f = etcdTlsFiles(pki);
    const serverBefore = (await cert(f.server.certFile)).fingerprint256;
    assert.deepEqual(await ensureEtcdTls(pki, "c1"), [], "nothing missing, nothing made");

    await rm(f.apiserverClient.keyFile);
    assert.deepEqual(await ensureEtcdTls(pki, "c1"), ["apiserver-etcd-client"]);
    assert.equal((await cert(f.server.certFile)).fingerprint256, serverBefore, "server kept");

    await rm(f.ca.keyFile);
    assert.deepEqual(await ensureEtcdTls(pki, "c1"), [
      "etcd/ca",
      "etcd/server",
      "etcd/peer",
      "apiserver-etcd-client",
    ]);
    const ca = await cert(f.ca.certFile);
    assert.ok((await cert(f.server.certFile)).verify(ca.publicKey), "re-issued under the new CA");
  } finally {
    await rm(pki, { recursive: true, force: true });
  }
});
