/**
 * Configuration files of a real worker: containerd, the CNI network, the kubelet. Pure functions
 * of the worker's layout, so they are unit-tested without a machine.
 */
import { join } from "node:path";
import { stringify } from "yaml";
import { CNI_BIN_DIR } from "./host.ts";
import type { WorkerLayout } from "../controlplane/worker-records.ts";

/**
 * containerd 1.6 configuration (REFERENCE 4d): private root, state and socket; the pause image
 * built here; cgroupfs; runc state inside the worker's directory; OOM score adjustments
 * restricted (the process may lack CAP_SYS_RESOURCE); no AppArmor; CNI plugins of the
 * distribution with a private configuration directory.
 */
export function containerdToml(l: WorkerLayout, pauseImage: string): string {
  const q = (s: string): string => JSON.stringify(s);
  return `version = 2
root = ${q(l.containerdRoot)}
state = ${q(l.containerdState)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${q(l.containerdSocket)}

[ttrpc]
  address = ${q(`${l.containerdSocket}.ttrpc`)}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(pauseImage)}
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(CNI_BIN_DIR)}
    conf_dir = ${q(l.cniConfDir)}
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${q(join(l.containerdState, "runc"))}
`;
}

/**
 * The worker's CNI network: a bridge that is the pods' gateway, host-local addresses from the
 * Node's podCIDR (state kept in the worker's directory), no masquerading (nothing leaves the
 * machine).
 */
export function cniConflist(network: string, bridge: string, podCIDR: string, ipamDir: string): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: network,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: podCIDR }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: ipamDir,
          },
        },
      ],
    },
    null,
    2,
  );
}

/** What the kubelet configuration depends on. */
export interface KubeletConfigInput {
  readonly layout: WorkerLayout;
  readonly nodeIP: string;
  readonly caFile: string;
  readonly cgroupRoot: string;
  readonly clusterDomain?: string;
}

/**
 * KubeletConfiguration: serves on the worker's own address, authenticates the API server by the
 * cluster CA and authorizes by webhook (no anonymous access, no read-only port), cgroupfs under a
 * cgroup of its own (two workers on one machine must not garbage-collect each other's pods),
 * cgroup v1 allowed, swap tolerated, relaxed eviction thresholds (a developer's disk is not a
 * reason to evict the hollow-node pods).
 */
export function kubeletConfigYaml(i: KubeletConfigInput): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: i.nodeIP,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: i.nodeIP,
    healthzPort: 10248,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: i.caFile },
    },
    authorization: { mode: "Webhook" },
    cgroupDriver: "cgroupfs",
    cgroupRoot: i.cgroupRoot,
    failCgroupV1: false,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${i.layout.containerdSocket}`,
    resolvConf: i.layout.resolvConf,
    podLogsDir: i.layout.podLogsDir,
    clusterDomain: i.clusterDomain ?? "cluster.local",
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
  });
}
