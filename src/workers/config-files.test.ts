import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "yaml";
import { workerLayout } from "../controlplane/worker-records.ts";
import { cniConflist, containerdToml, kubeletConfigYaml } from "./config-files.ts";

test("containerd config keeps everything in the worker's directory and uses the local pause image", () => {
  const l = workerLayout("/state/clusters/c", 0);
  const toml = containerdToml(l, "localhost/kubemark-cluster/pause:1.0");
  assert.match(toml, /^root = "\/state\/clusters\/c\/workers\/w0\/containerd\/root"$/m);
  assert.match(toml, /^state = "\/state\/clusters\/c\/workers\/w0\/containerd\/state"$/m);
  assert.match(toml, /address = "\/state\/clusters\/c\/workers\/w0\/containerd\/containerd.sock"/);
  assert.match(toml, /sandbox_image = "localhost\/kubemark-cluster\/pause:1.0"/);
  assert.match(toml, /restrict_oom_score_adj = true/);
  assert.match(toml, /SystemdCgroup = false/);
  assert.match(toml, /Root = "\/state\/clusters\/c\/workers\/w0\/containerd\/state\/runc"/);
  assert.match(toml, /conf_dir = "\/state\/clusters\/c\/workers\/w0\/cni\/net.d"/);
});

test("the CNI network takes the Node's podCIDR, is the pods' gateway and keeps IPAM state private", () => {
  const c = JSON.parse(cniConflist("kmc-c-w0", "kmcbr0", "10.128.3.0/24", "/w/ipam")) as {
    plugins: {
      type: string;
      bridge: string;
      isGateway: boolean;
      ipMasq: boolean;
      ipam: { ranges: { subnet: string }[][]; dataDir: string };
    }[];
  };
  const b = c.plugins[0]!;
  assert.equal(b.type, "bridge");
  assert.equal(b.bridge, "kmcbr0");
  assert.equal(b.isGateway, true);
  assert.equal(b.ipMasq, false);
  assert.equal(b.ipam.ranges[0]![0]!.subnet, "10.128.3.0/24");
  assert.equal(b.ipam.dataDir, "/w/ipam");
});

test("the kubelet serves on the worker's address with authentication, under its own cgroup", () => {
  const l = workerLayout("/s", 1);
  const k = parse(
    kubeletConfigYaml({ layout: l, nodeIP: "10.254.0.3", caFile: "/s/ca.crt", cgroupRoot: "/kmc-w1" }),
  ) as Record<string, unknown>;
  assert.equal(k["address"], "10.254.0.3");
  assert.equal(k["healthzBindAddress"], "10.254.0.3");
  assert.equal(k["readOnlyPort"], 0);
  assert.deepEqual((k["authentication"] as { anonymous: unknown }).anonymous, { enabled: false });
  assert.deepEqual(k["authorization"], { mode: "Webhook" });
  assert.equal(k["cgroupRoot"], "/kmc-w1");
  assert.equal(k["containerRuntimeEndpoint"], `unix://${l.containerdSocket}`);
});
