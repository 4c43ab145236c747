import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterLayout, type ClusterRecord } from "../cluster-state.ts";
import { metricsServerArgs } from "./args.ts";

const layout = clusterLayout("/state", "c1");
const rec: ClusterRecord = {
  name: "c1",
  version: "v1.36.3",
  ports: {
    etcdClient: 2379,
    etcdPeer: 2380,
    apiserver: 6443,
    controllerManager: 10257,
    scheduler: 10259,
    metricsServer: 4443,
  },
  audit: false,
  loadTest: false,
  serviceCIDR: "10.0.0.0/16",
  clusterCIDR: "10.128.0.0/9",
  createdAt: "2026-01-01T00:00:00.000Z",
  processes: {},
  metricsServer: {},
};

function flag(args: readonly string[], name: string): string | undefined {
  const hit = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  return hit === undefined ? undefined : hit.slice(name.length + 3);
}

test("metrics-server serves on its recorded loopback port with a certificate of the cluster CA", () => {
  const args = metricsServerArgs(rec, layout);
  assert.equal(flag(args, "secure-port"), "4443");
  assert.equal(flag(args, "bind-address"), "127.0.0.1");
  assert.equal(flag(args, "tls-cert-file"), "/state/clusters/c1/pki/metrics-server-serving.crt");
  assert.equal(flag(args, "tls-private-key-file"), "/state/clusters/c1/pki/metrics-server-serving.key");
});

test("metrics-server talks to the API server, and delegates authn and authz to it, with its own kubeconfig", () => {
  const args = metricsServerArgs(rec, layout);
  const kc = "/state/clusters/c1/metrics-server.kubeconfig";
  assert.equal(flag(args, "kubeconfig"), kc);
  assert.equal(flag(args, "authentication-kubeconfig"), kc);
  assert.equal(flag(args, "authorization-kubeconfig"), kc);
});

test("metrics-server scrapes each kubelet at its Node's port and InternalDNS, else InternalIP, every 15 s", () => {
  const args = metricsServerArgs(rec, layout);
  assert.equal(flag(args, "kubelet-use-node-status-port"), "");
  assert.equal(flag(args, "kubelet-preferred-address-types"), "InternalDNS,InternalIP");
  assert.equal(flag(args, "kubelet-insecure-tls"), "");
  assert.equal(flag(args, "metric-resolution"), "15s");
  assert.equal(flag(args, "deprecated-kubelet-completely-insecure"), undefined);
});

test("metrics-server's flags need its port recorded", () => {
  const { metricsServer: _, ...ports } = rec.ports;
  assert.throws(() => metricsServerArgs({ ...rec, ports }, layout), /no metrics-server port/);
});
