import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "yaml";
import { cniConflist, containerdToml, kubeletConfigYaml, workerLayout } from "./config-files.ts";
import { parseLdd } from "./image.ts";
import { cidrMatcher } from "./relay.ts";
import { workerIP, workerName } from "./workers.ts";
import { defaultMode, podReachableServer } from "../fleet/operations.ts";
import { parseWorkers } from "../cli/commands/up.ts";

test("worker names and addresses are per cluster and index", () => {
  assert.equal(workerName("kubemark", 0), "kubemark-worker-0");
  assert.equal(workerIP(0), "10.254.0.2");
  assert.equal(workerIP(3), "10.254.0.5");
});

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

test("parseLdd lists the libraries and the loader", () => {
  const text = `\tlinux-vdso.so.1 (0x00007ffd)
\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f)`;
  assert.deepEqual(parseLdd(text), [
    "/lib/x86_64-linux-gnu/libdl.so.2",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib64/ld-linux-x86-64.so.2",
  ]);
});

test("the relay accepts only the allowed networks", () => {
  const allowed = cidrMatcher(["10.128.0.0/9", "10.254.0.0/24", "10.0.0.1/32"]);
  assert.ok(allowed("10.128.0.5"));
  assert.ok(allowed("10.255.255.1"));
  assert.ok(allowed("::ffff:10.254.0.2"));
  assert.ok(allowed("10.0.0.1"));
  assert.ok(!allowed("10.0.0.2"));
  assert.ok(!allowed("192.0.2.7"));
  assert.ok(!allowed("127.0.0.1"));
  assert.ok(!allowed("fd00::2"));
});

test("create defaults to local processes only on a local cluster without workers", () => {
  assert.equal(defaultMode({ localCluster: "kubemark", localWorkers: 0 }), "local");
  assert.equal(defaultMode({ localCluster: "kubemark", localWorkers: 1 }), "in-cluster");
  assert.equal(defaultMode({ localCluster: undefined, localWorkers: 0 }), "in-cluster");
});

test("pods on local workers reach a loopback target through the relay at the Service address", () => {
  assert.equal(podReachableServer({ localWorkers: 1 }, "https://127.0.0.1:34231"), "https://10.0.0.1:34231");
  assert.equal(podReachableServer({ localWorkers: 1 }, "https://localhost:6443/"), "https://10.0.0.1:6443");
  assert.equal(
    podReachableServer({ localWorkers: 1 }, "https://api.example.com:443"),
    "https://api.example.com:443",
  );
  assert.equal(podReachableServer({ localWorkers: 0 }, "https://127.0.0.1:6443"), "https://127.0.0.1:6443");
});

test("--workers takes 0 to 8", () => {
  assert.equal(parseWorkers("0"), 0);
  assert.equal(parseWorkers("2"), 2);
  for (const bad of ["-1", "9", "1.5", "abc", ""])
    assert.throws(() => parseWorkers(bad), /--workers must be/);
});
