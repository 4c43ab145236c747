import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeUsage } from "../usage/node-usage.ts";
import { DEFAULT_USAGE } from "../usage/usage-defaults.ts";
import { T0, container, fakeNode, pod } from "../usage/testdata/usage-fixtures.ts";
import { containerId } from "../pod-status.ts";
import { renderCadvisorMetrics, podCgroup } from "./stats-cadvisor.ts";
import { renderResourceMetrics } from "./stats-endpoints.ts";

const QUIET = { ...DEFAULT_USAGE, noise: 0 };
const MI = 2 ** 20;

/** Sample lines of `family` by their label text, value and timestamp. */
function series(text: string, family: string): Map<string, [number, number | undefined]> {
  const out = new Map<string, [number, number | undefined]>();
  for (const line of text.split("\n")) {
    const m = /^(\w+)(\{.*\}) (\S+)(?: (\d+))?$/.exec(line);
    if (m && m[1] === family) out.set(m[2]!, [Number(m[3]), m[4] === undefined ? undefined : Number(m[4])]);
  }
  return out;
}

const node = () =>
  fakeNode(
    [
      pod("web-1", [container("app", { startedAtMs: T0 - 60_000, image: "nginx" })]),
      {
        ...pod("db-0", [
          container("db", {
            startedAtMs: T0 - 30_000,
            cpuRequestMilli: 1000,
            cpuLimitMilli: 1000,
            memoryRequestBytes: 512 * MI,
            memoryLimitBytes: 512 * MI,
            image: "registry.k8s.io/etcd:3.6.0",
          }),
        ]),
        namespace: "data",
      },
    ],
    T0 - 3_600_000,
  );

test("pods' cgroups are the kubelet's systemd ones, by QoS class", () => {
  const p = (over: Partial<ReturnType<typeof container>>) =>
    new NodeUsage(QUIET, "n").sample(
      fakeNode([pod("x", [container("c", { startedAtMs: T0 - 1000, ...over })])]),
      T0,
    ).pods[0]!;
  assert.equal(
    podCgroup(p({})),
    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poduid_x.slice",
  );
  assert.equal(
    podCgroup(p({ cpuRequestMilli: undefined, memoryRequestBytes: undefined })),
    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poduid_x.slice",
  );
  assert.equal(
    podCgroup(p({ cpuLimitMilli: 500, memoryLimitBytes: 256 * MI })),
    "/kubepods.slice/kubepods-poduid_x.slice",
  );
  const dashed = new NodeUsage(QUIET, "n").sample(
    fakeNode([{ ...pod("y", [container("c", { startedAtMs: T0 - 1000 })]), uid: "a1-b2" }]),
    T0,
  ).pods[0]!;
  assert.match(podCgroup(dashed), /kubepods-burstable-poda1_b2\.slice$/);
});

test("/metrics/cadvisor: the node, kubepods, each pod's and each container's cgroup with cAdvisor's labels", () => {
  const view = node();
  const text = renderCadvisorMetrics(view, T0 + 500, new NodeUsage(QUIET, view.name));
  const cpu = series(text, "container_cpu_usage_seconds_total");
  const app = containerId("uid-web-1", "app").replace(/^\w+:\/\//, "");
  const appLabels =
    `{container="app",cpu="total",id="/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poduid_web_1.slice/cri-containerd-${app}.scope",` +
    `image="docker.io/library/nginx:latest",name="${app}",namespace="default",pod="web-1"}`;
  // As /metrics/resource: 10 % of 500m for 60.5 s.
  assert.deepEqual(cpu.get(appLabels), [3.025, T0 + 500]);
  const podLabels =
    '{container="",cpu="total",id="/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poduid_web_1.slice",image="",name="",namespace="default",pod="web-1"}';
  assert.deepEqual(cpu.get(podLabels), [3.025, T0 + 500]);
  const db = containerId("uid-db-0", "db").replace(/^\w+:\/\//, "");
  assert.ok(
    [...cpu.keys()].some((k) =>
      k.includes(`id="/kubepods.slice/kubepods-poduid_db_0.slice/cri-containerd-${db}.scope"`),
    ),
    "a Guaranteed pod's container",
  );
  // The node: its system overhead (100m for an hour) and its pods.
  const root = cpu.get('{container="",cpu="total",id="/",image="",name="",namespace="",pod=""}');
  assert.ok(root && Math.abs(root[0] - (360.05 + 3.025 + 3.05)) < 1e-6, String(root));
  const kubepods = cpu.get(
    '{container="",cpu="total",id="/kubepods.slice",image="",name="",namespace="",pod=""}',
  );
  assert.ok(kubepods && Math.abs(kubepods[0] - 6.075) < 1e-6, String(kubepods));
  // Series sorted by label values (container first): the node's and pods' cgroups, then app, then db.
  const ids = [...cpu.keys()].map((k) => /container="([^"]*)"/.exec(k)![1]);
  assert.deepEqual(ids, ["", "", "", "", "app", "db"]);
  // User and system time add up to the usage.
  const user = series(text, "container_cpu_user_seconds_total");
  const system = series(text, "container_cpu_system_seconds_total");
  const plain = appLabels.replace('cpu="total",', "");
  assert.ok(Math.abs(user.get(plain)![0] + system.get(plain)![0] - 3.025) < 1e-9);
});

test("memory as /metrics/resource's working set; rss, cache and usage derived as /stats/summary's", () => {
  const view = node();
  const model = new NodeUsage(QUIET, view.name);
  const text = renderCadvisorMetrics(view, T0 + 500, model);
  const resource = renderResourceMetrics(view, T0 + 500, model);
  const rws =
    /container_memory_working_set_bytes\{container="app",namespace="default",pod="web-1"\} (\S+)/.exec(
      resource,
    )![1];
  const pick = (family: string): number =>
    [...series(text, family)].find(([k]) => k.startsWith('{container="app"'))![1][0];
  assert.equal(pick("container_memory_working_set_bytes"), Number(rws));
  assert.equal(pick("container_memory_working_set_bytes"), 128 * MI);
  assert.equal(pick("container_memory_rss"), Math.round(128 * MI * 0.8));
  assert.equal(pick("container_memory_usage_bytes"), Math.round(128 * MI * 1.25));
  assert.equal(pick("container_memory_cache"), Math.round(128 * MI * 1.25) - Math.round(128 * MI * 0.8));
  assert.equal(pick("container_memory_swap"), 0);
});

test("network on the node's and each pod's eth0 only; start times untimed; machine figures from the capacity", () => {
  const view = node();
  const text = renderCadvisorMetrics(view, T0 + 500, new NodeUsage(QUIET, view.name));
  const rx = series(text, "container_network_receive_bytes_total");
  // The node's and the two pods' cgroups, not the containers' nor kubepods'.
  assert.deepEqual(
    [...rx.keys()].map((k) => /id="([^"]*)"/.exec(k)![1]),
    [
      "/",
      "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poduid_web_1.slice",
      "/kubepods.slice/kubepods-poduid_db_0.slice",
    ],
  );
  // 1 KiB/s since the pod's start, 1.5 s before.
  const web = [...rx].find(([k]) => k.includes('pod="web-1"'))!;
  assert.match(web[0], /interface="eth0",name="",namespace="default"/);
  assert.deepEqual(web[1], [1536, T0 + 500]);
  const tx = [...series(text, "container_network_transmit_packets_total")].find(([k]) =>
    k.includes('pod="web-1"'),
  );
  assert.equal(tx![1][0], 0, "768 bytes: no whole 1 KiB packet yet");
  const start = series(text, "container_start_time_seconds");
  assert.deepEqual(
    [...start.values()].find(([v]) => v === (T0 - 60_000) / 1000),
    [(T0 - 60_000) / 1000, undefined],
  );
  assert.match(text, /^machine_cpu_cores\{boot_id="",machine_id="",system_uuid=""\} 4 \d+$/m);
  assert.match(
    text,
    /^machine_memory_bytes\{boot_id="",machine_id="",system_uuid=""\} 1\.7179869184e\+10 \d+$/m,
  );
  // Families in name order, each with cAdvisor's help and type.
  const families = [...text.matchAll(/^# TYPE (\w+) (\w+)$/gm)].map((m) => m[1]!);
  assert.deepEqual(families, [...families].sort());
  assert.match(text, /^# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds\.$/m);
  assert.match(text, /^# TYPE container_network_receive_bytes_total counter$/m);
});

test("a node without pods lists its own cgroup and kubepods", () => {
  const view = fakeNode([], T0 - 1000);
  const text = renderCadvisorMetrics(view, T0, new NodeUsage(QUIET, view.name));
  assert.deepEqual(
    [...series(text, "container_memory_working_set_bytes").keys()].map((k) => /id="([^"]*)"/.exec(k)![1]),
    ["/", "/kubepods.slice"],
  );
  // kubepods has used no CPU: cAdvisor leaves it out of the usage family.
  assert.equal(series(text, "container_cpu_usage_seconds_total").size, 1);
});
