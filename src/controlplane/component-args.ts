import { join } from "node:path";
import type { ClusterLayout, ClusterRecord, Component } from "./cluster-state.ts";
import { etcdTlsFiles } from "./etcd-tls.ts";
import { FRONT_PROXY_CLIENT_NAME, frontProxyTlsFiles } from "./front-proxy-tls.ts";

/** Command-line flags of each control-plane component (REFERENCE section 4; all on loopback). */
export function componentArgs(component: Component, rec: ClusterRecord, layout: ClusterLayout): string[] {
  const pki = (f: string): string => join(layout.pki, f);
  const p = rec.ports;
  // etcd as kubeadm runs it: TLS on both ports, and only clients with a certificate its own CA
  // signed (the API server's) may connect; without it any local user could read every Secret.
  const etcdTls = etcdTlsFiles(layout.pki);
  const frontProxy = frontProxyTlsFiles(layout.pki);
  const etcdUrl = `https://127.0.0.1:${p.etcdClient}`;
  const etcdPeerUrl = `https://127.0.0.1:${p.etcdPeer}`;
  switch (component) {
    case "etcd":
      return [
        "--name=default",
        `--data-dir=${layout.etcdData}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=default=${etcdPeerUrl}`,
        `--cert-file=${etcdTls.server.certFile}`,
        `--key-file=${etcdTls.server.keyFile}`,
        "--client-cert-auth=true",
        `--trusted-ca-file=${etcdTls.ca.certFile}`,
        `--peer-cert-file=${etcdTls.peer.certFile}`,
        `--peer-key-file=${etcdTls.peer.keyFile}`,
        "--peer-client-cert-auth=true",
        `--peer-trusted-ca-file=${etcdTls.ca.certFile}`,
        "--quota-backend-bytes=8589934592",
        "--auto-compaction-retention=1",
      ];
    case "kube-apiserver": {
      const args = [
        `--etcd-servers=${etcdUrl}`,
        `--etcd-cafile=${etcdTls.ca.certFile}`,
        `--etcd-certfile=${etcdTls.apiserverClient.certFile}`,
        `--etcd-keyfile=${etcdTls.apiserverClient.keyFile}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${p.apiserver}`,
        `--tls-cert-file=${pki("apiserver.crt")}`,
        `--tls-private-key-file=${pki("apiserver.key")}`,
        `--client-ca-file=${pki("ca.crt")}`,
        `--kubelet-client-certificate=${pki("apiserver-kubelet-client.crt")}`,
        `--kubelet-client-key=${pki("apiserver-kubelet-client.key")}`,
        // Hollow nodes that serve a kubelet endpoint advertise it as InternalDNS (their InternalIPs
        // are simulated); real workers serve on their InternalIP.
        "--kubelet-preferred-address-types=InternalDNS,InternalIP,Hostname",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${pki("sa.pub")}`,
        `--service-account-signing-key-file=${pki("sa.key")}`,
        `--service-cluster-ip-range=${rec.serviceCIDR}`,
        // The API aggregation layer, always on as kubeadm sets it: extension API servers
        // (metrics-server) trust the user the API server names in X-Remote-* headers only from a
        // client certificate of the front-proxy CA named front-proxy-client. Not
        // --enable-aggregator-routing: it routes to a Service's Endpoints, and Endpoints may not
        // hold loopback addresses, the only ones a local extension server listens on; the
        // aggregator reaches it through an ExternalName Service instead (metrics-server/objects.ts).
        `--requestheader-client-ca-file=${frontProxy.ca.certFile}`,
        `--requestheader-allowed-names=${FRONT_PROXY_CLIENT_NAME}`,
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User",
        `--proxy-client-cert-file=${frontProxy.client.certFile}`,
        `--proxy-client-key-file=${frontProxy.client.keyFile}`,
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        // Bootstrap tokens (kube-system Secrets bootstrap-token-<id>) authenticate, as kubeadm's API
        // server: hollow nodes with --identity node make their CSRs with one.
        "--enable-bootstrap-token-auth=true",
        "--allow-privileged=true",
      ];
      if (rec.loadTest) {
        args.push(
          // /debug/pprof for whoever measures (system:masters only, as every non-resource URL
          // without a binding); off otherwise, as hardening guides ask.
          "--profiling=true",
          "--max-requests-inflight=0",
          "--max-mutating-requests-inflight=0",
          "--enable-priority-and-fairness=false",
        );
      } else {
        args.push("--profiling=false");
      }
      if (rec.audit) {
        args.push(
          `--audit-policy-file=${layout.auditPolicy}`,
          `--audit-log-path=${layout.auditLog}`,
          "--audit-log-format=json",
          "--audit-log-maxsize=0",
        );
      }
      return args;
    }
    case "kube-controller-manager": {
      const kc = join(layout.dir, "controller-manager.kubeconfig");
      return [
        `--kubeconfig=${kc}`,
        `--authentication-kubeconfig=${kc}`,
        `--authorization-kubeconfig=${kc}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${p.controllerManager}`,
        "--leader-elect=false",
        `--root-ca-file=${pki("ca.crt")}`,
        `--service-account-private-key-file=${pki("sa.key")}`,
        "--use-service-account-credentials=true",
        `--cluster-signing-cert-file=${pki("ca.crt")}`,
        `--cluster-signing-key-file=${pki("ca.key")}`,
        "--allocate-node-cidrs=true",
        `--cluster-cidr=${rec.clusterCIDR}`,
        "--node-cidr-mask-size=24",
        `--service-cluster-ip-range=${rec.serviceCIDR}`,
        // kubeadm's set: the default controllers (csrapproving, csrsigning with the cluster CA,
        // csrcleaner) plus the bootstrap tokens' signer and cleaner.
        "--controllers=*,bootstrapsigner,tokencleaner",
        `--kube-api-qps=${rec.loadTest ? 500 : 100}`,
        `--kube-api-burst=${rec.loadTest ? 1000 : 200}`,
      ];
    }
    case "kube-scheduler": {
      const kc = join(layout.dir, "scheduler.kubeconfig");
      return [
        `--kubeconfig=${kc}`,
        `--authentication-kubeconfig=${kc}`,
        `--authorization-kubeconfig=${kc}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${p.scheduler}`,
        "--leader-elect=false",
      ];
    }
  }
}

/** Audit policy: one Metadata-level record per request (verb, resource, user agent, latency). */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;
