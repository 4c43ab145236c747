import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromFlags, parseDuration, parseShard, type HollowNodeFlags } from "./flags.ts";
import { DEFAULT_SHAPE, type EngineConfig, defaultEngineConfig } from "../../engine/config.ts";
import { BadInputError } from "../../kernel/errors.ts";
import { DEFAULT_USAGE } from "../../engine/usage/usage-defaults.ts";

/** The flags as commander hands them over when none are given (the defaults in main.ts). */
function defaultFlags(over: Partial<HollowNodeFlags> = {}): HollowNodeFlags {
  return {
    nodes: "10",
    namePrefix: "hollow-node",
    firstIndex: "0",
    fleet: "default",
    nodeLabels: "hollow-node=true",
    cpu: "1",
    memory: "4026531840",
    maxPods: "110",
    ephemeralStorage: "0",
    traffic: "kubelet",
    proxy: true,
    leaseDuration: "40",
    nodeStatusUpdateFrequency: "10s",
    nodeStatusReportFrequency: "5m",
    jobRunSeconds: "5s",
    nodeIpPool: "100.64.0.0/10",
    podIpPool: "172.16.0.0/12",
    maxInFlight: "200",
    kubeApiQps: "10",
    kubeApiContentType: "application/vnd.kubernetes.protobuf",
    kubeApiBurst: "20",
    kubeletPort: "0",
    kubeletAddress: "127.0.0.1",
    metricsPort: "0",
    csiDriver: "",
    csiMaxVolumes: "128",
    csiLeaseNamespace: "kube-system",
    ...over,
  };
}

/** Asserts that the promise rejects with a BadInputError whose message contains every fragment. */
async function rejects(p: Promise<unknown>, ...fragments: string[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BadInputError, `not a BadInputError: ${String(err)}`);
    for (const f of fragments)
      assert.ok(err.message.includes(f), `${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

test("parseDuration reads Go-style durations and plain seconds", () => {
  const cases: Array<[string, number]> = [
    ["10s", 10_000],
    ["5m", 300_000],
    ["500ms", 500],
    ["1h", 3_600_000],
    ["1.5s", 1_500],
    ["5", 5_000],
    ["0.25", 250],
    [" 30s ", 30_000],
  ];
  for (const [input, want] of cases) assert.equal(parseDuration(input, "--x"), want, input);
});

test("parseDuration rejects what is not a positive duration, naming the flag and the value", () => {
  const cases: Array<[string, string]> = [
    ["", "must be a duration like 10s"],
    ["ten", "must be a duration like 10s"],
    ["-1s", "must be a duration like 10s"],
    ["1d", "must be a duration like 10s"],
    ["1m30s", "must be a duration like 10s"],
    ["0s", "must be longer than zero"],
    ["0", "must be longer than zero"],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parseDuration(input, "--node-status-report-frequency"),
      (err: unknown) =>
        err instanceof BadInputError &&
        err.message.startsWith(`--node-status-report-frequency ${message}`) &&
        err.message.endsWith(`got "${input}"`),
      input,
    );
  }
});

test("configFromFlags: the defaults make the documented config", async () => {
  const cfg = await configFromFlags(defaultFlags(), {});
  const want: EngineConfig = {
    nodeNames: Array.from({ length: 10 }, (_, i) => `hollow-node-${i}`),
    firstIndex: 0,
    shapes: [DEFAULT_SHAPE],
    nodeLabels: { "hollow-node": "true" },
    fleet: "default",
    kubeletVersion: undefined,
    traffic: "kubelet",
    proxy: true,
    events: true,
    leaseDurationSeconds: 40,
    statusUpdateMs: 10_000,
    statusReportMs: 300_000,
    jitter: 0.04,
    jobRunMs: 5_000,
    podStartLatency: { sandbox: { minMs: 290, maxMs: 340 }, containersMs: 10 },
    usage: DEFAULT_USAGE,
    nodeIpPool: "100.64.0.0/10",
    podIpPool: "172.16.0.0/12",
    maxInFlight: 200,
    leaseContentType: "protobuf",
    nodeQps: 10,
    nodeBurst: 20,
    deleteNodesOnExit: false,
    kubeletPort: 0,
    kubeletAddress: "127.0.0.1",
    metricsPort: 0,
    skipped: [],
    csi: undefined,
  };
  assert.deepEqual(cfg, want);
  assert.deepEqual(cfg, defaultEngineConfig(want.nodeNames), "defaultEngineConfig matches the flag defaults");
});

test("configFromFlags: --kube-api-content-type application/json sends Leases as JSON", async () => {
  const cfg = await configFromFlags(defaultFlags({ kubeApiContentType: "application/json" }), {});
  assert.equal(cfg.leaseContentType, "json");
});

test("configFromFlags: the kubelet's Events are on unless --no-events", async () => {
  assert.equal((await configFromFlags(defaultFlags(), {})).events, true);
  assert.equal((await configFromFlags(defaultFlags({ events: false }), {})).events, false);
});

test("configFromFlags: --pod-sandbox-latency sets the start-up latency model; 0 starts pods at once", async () => {
  const cases: [string, unknown][] = [
    ["300ms", { sandbox: { minMs: 300, maxMs: 300 }, containersMs: 10 }],
    ["250ms-350ms", { sandbox: { minMs: 250, maxMs: 350 }, containersMs: 10 }],
    ["1s", { sandbox: { minMs: 1000, maxMs: 1000 }, containersMs: 10 }],
    ["0", { sandbox: { minMs: 0, maxMs: 0 }, containersMs: 0 }],
  ];
  for (const [flag, want] of cases) {
    const cfg = await configFromFlags(defaultFlags({ podSandboxLatency: flag }), {});
    assert.deepEqual(cfg.podStartLatency, want, flag);
  }
  for (const bad of ["fast", "350ms-250ms", "1s-2s-3s", "-1s", "20m"]) {
    await assert.rejects(
      configFromFlags(defaultFlags({ podSandboxLatency: bad }), {}),
      (err: unknown) =>
        err instanceof BadInputError &&
        err.message.startsWith("--pod-sandbox-latency must be") &&
        err.message.endsWith(`got "${bad}"`),
      bad,
    );
  }
});

test("configFromFlags: names follow --name-prefix and --first-index", async () => {
  const cfg = await configFromFlags(defaultFlags({ nodes: "3", namePrefix: "edge", firstIndex: "100" }), {});
  assert.deepEqual(cfg.nodeNames, ["edge-100", "edge-101", "edge-102"]);
  assert.equal(cfg.firstIndex, 100);
});

test("configFromFlags: the kubelet version comes from the flag, else KUBEMARK_VERSION, else the server", async () => {
  const cases: Array<[string | undefined, string | undefined, string | undefined]> = [
    [undefined, undefined, undefined],
    [undefined, "v1.31.0", "v1.31.0"],
    ["v1.34.1", "v1.31.0", "v1.34.1"],
    ["v1.35.0-alpha.1", undefined, "v1.35.0-alpha.1"],
  ];
  for (const [flag, env, want] of cases) {
    const cfg = await configFromFlags(defaultFlags({ kubeletVersion: flag }), { KUBEMARK_VERSION: env });
    assert.equal(cfg.kubeletVersion, want, `flag ${flag} env ${env}`);
  }
});

test("configFromFlags: a bad kubelet version names where it came from", async () => {
  await rejects(
    configFromFlags(defaultFlags({ kubeletVersion: "1.34" }), {}),
    '--kubelet-version must look like v1.36.3, got "1.34"',
  );
  await rejects(
    configFromFlags(defaultFlags({ kubeletVersion: "" }), {}),
    '--kubelet-version must look like v1.36.3, got ""',
  );
  await rejects(
    configFromFlags(defaultFlags(), { KUBEMARK_VERSION: "latest" }),
    'KUBEMARK_VERSION must look like v1.36.3, got "latest"',
  );
});

test("configFromFlags rejects bad values, naming the flag and the value", async () => {
  const cases: Array<[Partial<HollowNodeFlags>, string]> = [
    [{ traffic: "heavy" }, '--traffic must be kubelet or minimal, got "heavy"'],
    [
      { memory: "lots" },
      '--memory must be a Kubernetes quantity such as 4, 500m, 16Gi or 4026531840, got "lots"',
    ],
    [{ cpu: "four" }, "--cpu must be a Kubernetes quantity"],
    [{ maxPods: "0" }, '--max-pods must be between 1 and 10000, got "0"'],
    [{ nodes: "abc" }, '--nodes must be a whole number, got "abc"'],
    [{ nodes: "0" }, '--nodes must be between 1 and 100000, got "0"'],
    [{ namePrefix: "Hollow_Node" }, "--name-prefix must be lower-case letters, digits"],
    [{ fleet: "Blue Team" }, "--fleet must be a DNS label"],
    [{ leaseDuration: "2" }, '--lease-duration must be between 4 and 3600, got "2"'],
    [{ nodeStatusReportFrequency: "often" }, "--node-status-report-frequency must be a duration like 10s"],
    [{ jobRunSeconds: "0s" }, "--job-run-seconds must be longer than zero"],
    [{ nodeIpPool: "100.64.0.0" }, "--node-ip-pool must be an IPv4 CIDR"],
    [{ podIpPool: "fd00::/48" }, "--pod-ip-pool must be an IPv4 CIDR"],
    [{ extendedResources: "gpu" }, "--extended-resources takes name=quantity pairs"],
    [{ registerWithTaints: "gpu=yes" }, "--register-with-taints takes key=value:Effect taints"],
    [{ nodeLabels: "a=b c" }, "--node-labels takes key=value labels"],
    [{ kubeletPort: "70000" }, '--kubelet-port must be between 0 and 65535, got "70000"'],
    [
      { kubeletPort: "65530", nodes: "10" },
      "--kubelet-port 65530 leaves no port for every node: node i listens on 65530 + i, up to 65539 for 10 nodes",
    ],
    [
      { kubeApiContentType: "protobuf" },
      '--kube-api-content-type must be application/vnd.kubernetes.protobuf or application/json, got "protobuf"',
    ],
    [{ kubeletAddress: "localhost" }, "--kubelet-address must be an IP address the API server reaches"],
    [{ kubeletAddress: "0.0.0.0" }, "--kubelet-address must be an IP address the API server reaches"],
    [{ kubeletAddress: "::" }, 'got "::"'],
    [
      { nodeIp: "169.254.1.1" },
      '--node-ip must be an IP address the API server can reach the nodes at, got "169.254.1.1" (a link-local unicast address)',
    ],
    [
      { nodeIp: "$(POD_IP)" },
      '--node-ip must be an IP address the API server can reach the nodes at, got "$(POD_IP)" (not an IP address)',
    ],
  ];
  for (const [over, message] of cases) await rejects(configFromFlags(defaultFlags(over), {}), message);
});

test("configFromFlags: --node-ip fixes every node's InternalIP (in a cluster the pod's, beside --kubelet-address)", async () => {
  const cfg = await configFromFlags(
    defaultFlags({ nodeIp: "10.244.0.7", kubeletAddress: "10.244.0.7", kubeletPort: "10250" }),
    {},
  );
  assert.equal(cfg.nodeIp, "10.244.0.7");
  assert.equal(cfg.kubeletAddress, "10.244.0.7");
  assert.equal(
    (await configFromFlags(defaultFlags(), {})).nodeIp,
    undefined,
    "default: one per node from the pool",
  );
});

test("configFromFlags: --names gives explicit names, validated", async () => {
  const cfg = await configFromFlags(defaultFlags({ names: "edge-a, edge-b,edge-c.zone-1" }), {});
  assert.deepEqual(cfg.nodeNames, ["edge-a", "edge-b", "edge-c.zone-1"]);
  await rejects(
    configFromFlags(defaultFlags({ names: "edge-a,Edge_B" }), {}),
    '--names: "Edge_B" is not a valid node name',
  );
  await rejects(
    configFromFlags(defaultFlags({ names: "edge-a,-edge" }), {}),
    '--names: "-edge" is not a valid node name',
  );
  await rejects(
    configFromFlags(defaultFlags({ names: "edge-a,edge-b,edge-a" }), {}),
    "--names lists a name twice",
  );
});

test("configFromFlags: --profile is read and merged over the flags; an unreadable one is named", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kubemark-flags-"));
  try {
    const file = join(dir, "fleet.yaml");
    await writeFile(
      file,
      "shapes:\n  - {name: small, weight: 3}\n  - {name: big, weight: 1, cpu: 16, memory: 64Gi}\n",
    );
    const cfg = await configFromFlags(
      defaultFlags({ profile: file, cpu: "2", registerWithTaints: "hollow:NoSchedule" }),
      {},
    );
    assert.deepEqual(
      cfg.shapes.map((s) => [s.name, s.weight, s.cpu, s.memory, s.taints.length]),
      [
        ["small", 3, "2", "4026531840", 1],
        ["big", 1, "16", "64Gi", 1],
      ],
    );
    const missing = join(dir, "nope.yaml");
    await rejects(
      configFromFlags(defaultFlags({ profile: missing }), {}),
      `cannot read --profile ${missing} (ENOENT)`,
    );
    await rejects(
      configFromFlags(defaultFlags({ profile: dir }), {}),
      `cannot read --profile ${dir} (EISDIR)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("--shard and --total-nodes: each shard runs its slice, the last the remainder", async () => {
  const names = async (shard: string, total: string): Promise<readonly string[]> =>
    (await configFromFlags({ ...defaultFlags(), nodes: "50", shard, totalNodes: total }, {})).nodeNames;
  assert.deepEqual((await names("hollow-node-0", "120")).slice(0, 2), ["hollow-node-0", "hollow-node-1"]);
  assert.equal((await names("hollow-node-1", "120"))[0], "hollow-node-50");
  const last = await names("2", "120");
  assert.equal(last.length, 20);
  assert.equal(last[0], "hollow-node-100");
  assert.equal(last.at(-1), "hollow-node-119");
  assert.deepEqual(await names("hollow-node-3", "120"), [], "a shard past the end runs no node");
  const third = await configFromFlags({ ...defaultFlags(), nodes: "50", shard: "2", totalNodes: "120" }, {});
  assert.equal(third.firstIndex, 100, "node IPs follow the fleet-wide ordinal");
  for (const [flags, msg] of [
    [{ shard: "2" }, /--shard needs --total-nodes/],
    [{ totalNodes: "5" }, /only used with --shard/],
    [{ shard: "hollow-node", totalNodes: "5" }, /--shard must be/],
    [{ shard: "1", totalNodes: "-1" }, /--total-nodes/],
  ] as const) {
    await assert.rejects(configFromFlags({ ...defaultFlags(), ...flags }, {}), msg);
  }
});

test("parseShard", () => {
  assert.equal(parseShard("hollow-node-12"), 12);
  assert.equal(parseShard("7"), 7);
  assert.throws(() => parseShard("x"), /--shard/);
});

test("configFromFlags: --csi-driver turns the hollow CSI driver on, with its settings", async () => {
  const cfg = await configFromFlags(
    defaultFlags({
      csiDriver: "hollow.csi.kubemark-cluster.io",
      csiAttachRequired: false,
      csiMaxVolumes: "16",
    }),
    {},
  );
  assert.deepEqual(cfg.csi, {
    driver: "hollow.csi.kubemark-cluster.io",
    attachRequired: false,
    maxVolumesPerNode: 16,
    controller: true,
    leaseNamespace: "kube-system",
  });
  await rejects(configFromFlags(defaultFlags({ csiDriver: "Hollow_CSI" }), {}), "--csi-driver must be");
  await rejects(
    configFromFlags(defaultFlags({ csiDriver: "a.b", csiMaxVolumes: "0" }), {}),
    "--csi-max-volumes",
  );
  await rejects(
    configFromFlags(defaultFlags({ csiDriver: "a.b", csiLeaseNamespace: "Kube System" }), {}),
    "--csi-lease-namespace",
  );
});

test("configFromFlags: --usage-defaults sets every node's usage model; a profile's usage: and pods: win over the flags", async () => {
  const cfg = await configFromFlags(defaultFlags({ usageDefaults: "cpu=20%,memory=60%" }), {});
  assert.deepEqual(cfg.usage.cpu, { kind: "const", value: { ofRequest: 0.2 } });
  assert.deepEqual(cfg.usage.memory, { kind: "const", value: { ofRequest: 0.6 } });
  await rejects(
    configFromFlags(defaultFlags({ usageDefaults: "cpu=lots" }), {}),
    '--usage-defaults cpu "lots" is not a usage',
  );
  const dir = await mkdtemp(join(tmpdir(), "kubemark-flags-"));
  try {
    const file = join(dir, "fleet.yaml");
    await writeFile(
      file,
      "usage: {cpu: 30%}\nshapes:\n  - {name: a}\n  - {name: b, usage: {cpu: 90%}, pods: {sandbox-latency: 2s}}\n",
    );
    const p = await configFromFlags(
      defaultFlags({
        profile: file,
        usageDefaults: "cpu=20%,memory=60%",
        jobRunSeconds: "9s",
        podSandboxLatency: "0",
      }),
      {},
    );
    const [a, b] = p.shapes;
    assert.deepEqual(a!.usage!.cpu, { kind: "const", value: { ofRequest: 0.3 } }, "profile over flag");
    assert.deepEqual(a!.usage!.memory, { kind: "const", value: { ofRequest: 0.6 } }, "flag where unset");
    assert.deepEqual(b!.usage!.cpu, { kind: "const", value: { ofRequest: 0.9 } }, "shape over profile");
    assert.equal(a!.pods, undefined, "no pods: the flags' (the fleet config)");
    assert.equal(p.jobRunMs, 9_000);
    assert.deepEqual(b!.pods, {
      jobRunMs: 9_000,
      podStartLatency: { sandbox: { minMs: 2000, maxMs: 2000 }, containersMs: 10 },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
