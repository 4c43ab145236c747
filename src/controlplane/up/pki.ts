/**
 * `up`'s PKI step for a new cluster: its CA, the API server's serving certificate, the client
 * certificates of the admin, the controller-manager, the scheduler and the API server's kubelet
 * client, the service-account keys, etcd's own CA and certificates, the aggregation layer's
 * front-proxy CA and client certificate; then the kubeconfigs.
 */
import { join } from "node:path";
import { createCertAuthority, createServiceAccountKeys, issueCert } from "../../host/pki.ts";
import { SERVICE_IP, type ClusterLayout, type ClusterRecord } from "../cluster-state.ts";
import { ensureEtcdTls } from "../etcd-tls.ts";
import { ensureFrontProxyTls } from "../front-proxy-tls.ts";
import { renderKubeconfig, writeKubeconfig } from "../kubeconfig-file.ts";

/** Makes every certificate and key of a new cluster `name` in `layout.pki`. */
export async function makePki(layout: ClusterLayout, name: string): Promise<void> {
  const dir = layout.pki;
  const ca = await createCertAuthority(dir, `kubemark-cluster-${name}-ca`);
  await issueCert(dir, ca, {
    name: "apiserver",
    commonName: "kube-apiserver",
    usage: "server",
    altNames: [
      "IP:127.0.0.1",
      `IP:${SERVICE_IP}`,
      "DNS:localhost",
      "DNS:kubernetes",
      "DNS:kubernetes.default",
      "DNS:kubernetes.default.svc",
      "DNS:kubernetes.default.svc.cluster.local",
    ],
  });
  await issueCert(dir, ca, {
    name: "admin",
    commonName: "kubemark-admin",
    organizations: ["system:masters"],
    usage: "client",
  });
  await issueCert(dir, ca, {
    name: "controller-manager",
    commonName: "system:kube-controller-manager",
    usage: "client",
  });
  await issueCert(dir, ca, { name: "scheduler", commonName: "system:kube-scheduler", usage: "client" });
  await issueCert(dir, ca, {
    name: "apiserver-kubelet-client",
    commonName: "kube-apiserver-kubelet-client",
    organizations: ["system:masters"],
    usage: "client",
  });
  await createServiceAccountKeys(dir);
  await ensureEtcdTls(dir, name);
  await ensureFrontProxyTls(dir, name);
}

/** Writes the admin's kubeconfig and the controller-manager's and scheduler's. */
export async function writeKubeconfigs(layout: ClusterLayout, rec: ClusterRecord): Promise<void> {
  const server = `https://127.0.0.1:${rec.ports.apiserver}`;
  const caFile = join(layout.pki, "ca.crt");
  const files: [string, string, string][] = [
    [layout.kubeconfig, "admin", `kubemark-admin`],
    [
      join(layout.dir, "controller-manager.kubeconfig"),
      "controller-manager",
      "system:kube-controller-manager",
    ],
    [join(layout.dir, "scheduler.kubeconfig"), "scheduler", "system:kube-scheduler"],
  ];
  for (const [path, stem, user] of files) {
    const text = await renderKubeconfig({
      clusterName: `kubemark-${rec.name}`,
      userName: user,
      server,
      caFile,
      certFile: join(layout.pki, `${stem}.crt`),
      keyFile: join(layout.pki, `${stem}.key`),
    });
    await writeKubeconfig(path, text);
  }
}
