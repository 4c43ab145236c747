import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Agent } from "undici";
import {
  createCertAuthority,
  issueCert,
  certPairExists as exists,
  type CertAuthority,
  type CertPair,
} from "../host/pki.ts";

/**
 * etcd's certificates inside a cluster's PKI directory, laid out as kubeadm lays them out: a CA of
 * etcd's own (`etcd/ca`), so that a certificate the cluster CA signs (an admin's, a node's) is
 * never an etcd client; the server and peer certificates; and the API server's client certificate,
 * the one credential etcd accepts from outside.
 */
export interface EtcdTlsFiles {
  readonly ca: CertAuthority;
  readonly server: CertPair;
  readonly peer: CertPair;
  readonly apiserverClient: CertPair;
}

/** Paths of etcd's certificates in `pkiDir` (whether or not they exist yet). */
export function etcdTlsFiles(pkiDir: string): EtcdTlsFiles {
  const etcdDir = join(pkiDir, "etcd");
  const pair = (dir: string, stem: string): CertPair => ({
    certFile: join(dir, `${stem}.crt`),
    keyFile: join(dir, `${stem}.key`),
  });
  return {
    ca: pair(etcdDir, "ca"),
    server: pair(etcdDir, "server"),
    peer: pair(etcdDir, "peer"),
    apiserverClient: pair(pkiDir, "apiserver-etcd-client"),
  };
}

/** etcd's addresses are loopback only; its certificates name nothing else. */
const ETCD_ALT_NAMES = ["IP:127.0.0.1", "DNS:localhost"];

/**
 * Creates whichever of etcd's certificates are missing (all of them for a new cluster, or for one
 * made by a version that ran etcd without TLS) and returns the names of those it created. A new CA
 * re-issues every certificate, since the old ones would not chain to it.
 */
export async function ensureEtcdTls(pkiDir: string, clusterName: string): Promise<string[]> {
  const files = etcdTlsFiles(pkiDir);
  const created: string[] = [];
  const newCa = !(await exists(files.ca));
  if (newCa) {
    await createCertAuthority(join(pkiDir, "etcd"), `kubemark-cluster-${clusterName}-etcd-ca`);
    created.push("etcd/ca");
  }
  const leaves: { name: string; pair: CertPair; issue: () => Promise<CertPair> }[] = [
    {
      name: "etcd/server",
      pair: files.server,
      issue: () =>
        issueCert(join(pkiDir, "etcd"), files.ca, {
          name: "server",
          commonName: "kube-etcd",
          usage: "server-client",
          altNames: ETCD_ALT_NAMES,
        }),
    },
    {
      name: "etcd/peer",
      pair: files.peer,
      issue: () =>
        issueCert(join(pkiDir, "etcd"), files.ca, {
          name: "peer",
          commonName: "kube-etcd-peer",
          usage: "server-client",
          altNames: ETCD_ALT_NAMES,
        }),
    },
    {
      name: "apiserver-etcd-client",
      pair: files.apiserverClient,
      issue: () =>
        issueCert(pkiDir, files.ca, {
          name: "apiserver-etcd-client",
          commonName: "kube-apiserver-etcd-client",
          usage: "client",
        }),
    },
  ];
  for (const leaf of leaves) {
    if (newCa || !(await exists(leaf.pair))) {
      await leaf.issue();
      created.push(leaf.name);
    }
  }
  return created;
}

/**
 * An HTTPS agent that talks to etcd as the API server does (its client certificate, etcd's CA),
 * for health checks: etcd answers nobody else.
 */
export async function etcdClientAgent(pkiDir: string): Promise<Agent> {
  const files = etcdTlsFiles(pkiDir);
  const [ca, cert, key] = await Promise.all([
    readFile(files.ca.certFile),
    readFile(files.apiserverClient.certFile),
    readFile(files.apiserverClient.keyFile),
  ]);
  return new Agent({ connect: { ca, cert, key }, connections: 2 });
}
