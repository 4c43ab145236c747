import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterLayout, type ClusterRecord } from "./cluster-state.ts";
import { componentArgs } from "./component-args.ts";

const layout = clusterLayout("/state", "c1");
const rec: ClusterRecord = {
  name: "c1",
  version: "v1.36.3",
  ports: { etcdClient: 2379, etcdPeer: 2380, apiserver: 6443, controllerManager: 10257, scheduler: 10259 },
  audit: false,
  loadTest: false,
  serviceCIDR: "10.0.0.0/16",
  clusterCIDR: "10.128.0.0/9",
  createdAt: "2026-01-01T00:00:00.000Z",
  processes: {},
};

/** The value of `--flag=value` in `args`, or undefined. */
function flag(args: readonly string[], name: string): string | undefined {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
}

test("etcd serves clients and peers over TLS and accepts only certificates of its own CA", () => {
  const args = componentArgs("etcd", rec, layout);
  assert.equal(flag(args, "listen-client-urls"), "https://127.0.0.1:2379");
  assert.equal(flag(args, "advertise-client-urls"), "https://127.0.0.1:2379");
  assert.equal(flag(args, "listen-peer-urls"), "https://127.0.0.1:2380");
  assert.equal(flag(args, "initial-advertise-peer-urls"), "https://127.0.0.1:2380");
  assert.equal(flag(args, "initial-cluster"), "default=https://127.0.0.1:2380");
  assert.deepEqual(
    args.filter((a) => a.includes("http://")),
    [],
    "no plain-HTTP listener",
  );
  assert.equal(flag(args, "client-cert-auth"), "true");
  assert.equal(flag(args, "peer-client-cert-auth"), "true");
  assert.equal(flag(args, "trusted-ca-file"), "/state/clusters/c1/pki/etcd/ca.crt");
  assert.equal(flag(args, "peer-trusted-ca-file"), "/state/clusters/c1/pki/etcd/ca.crt");
  assert.equal(flag(args, "cert-file"), "/state/clusters/c1/pki/etcd/server.crt");
  assert.equal(flag(args, "key-file"), "/state/clusters/c1/pki/etcd/server.key");
  assert.equal(flag(args, "peer-cert-file"), "/state/clusters/c1/pki/etcd/peer.crt");
  assert.equal(flag(args, "peer-key-file"), "/state/clusters/c1/pki/etcd/peer.key");
});

test("the API server reaches etcd over TLS with its etcd client certificate", () => {
  const etcd = componentArgs("etcd", rec, layout);
  const args = componentArgs("kube-apiserver", rec, layout);
  assert.equal(flag(args, "etcd-servers"), flag(etcd, "advertise-client-urls"));
  assert.equal(flag(args, "etcd-cafile"), flag(etcd, "trusted-ca-file"));
  assert.equal(flag(args, "etcd-certfile"), "/state/clusters/c1/pki/apiserver-etcd-client.crt");
  assert.equal(flag(args, "etcd-keyfile"), "/state/clusters/c1/pki/apiserver-etcd-client.key");
  // The cluster CA (which signs admins' and nodes' certificates) is not etcd's.
  assert.notEqual(flag(args, "etcd-cafile"), flag(args, "client-ca-file"));
});

test("the API server runs the aggregation layer as kubeadm sets it: front-proxy CA, allowed name, proxy client", () => {
  const args = componentArgs("kube-apiserver", rec, layout);
  assert.equal(flag(args, "requestheader-client-ca-file"), "/state/clusters/c1/pki/front-proxy/ca.crt");
  assert.equal(flag(args, "requestheader-allowed-names"), "front-proxy-client");
  assert.equal(flag(args, "requestheader-extra-headers-prefix"), "X-Remote-Extra-");
  assert.equal(flag(args, "requestheader-group-headers"), "X-Remote-Group");
  assert.equal(flag(args, "requestheader-username-headers"), "X-Remote-User");
  assert.equal(flag(args, "proxy-client-cert-file"), "/state/clusters/c1/pki/front-proxy-client.crt");
  assert.equal(flag(args, "proxy-client-key-file"), "/state/clusters/c1/pki/front-proxy-client.key");
  // The header-asserting CA is not the cluster CA, which signs every user's certificate.
  assert.notEqual(flag(args, "requestheader-client-ca-file"), flag(args, "client-ca-file"));
  // Endpoints cannot hold the loopback address a local extension server listens on.
  assert.equal(flag(args, "enable-aggregator-routing"), undefined);
});
