/**
 * A hollow node's pod statuses field by field against a real kubelet's (issue 17): a local
 * cluster with a real worker (`up --workers 1`: kubelet v1.36.3 on containerd) and a hollow node
 * beside it run the same pods (an init container and a readiness probe, Burstable; Guaranteed;
 * one that completes), each in a namespace of its own; a watch records every status both write,
 * and the statuses at Running/Ready, at completion and just before deletion are compared with
 * the diff procedure (src/engine/pod-status-diff.ts). Differences by design are in its
 * REAL_KUBELET_DIFFERENCES with their reason; any other fails. Then both Nodes are deleted: neither
 * node registers its Node again nor makes a Lease without it (the kubelet registers once per
 * process), and each reports to its Node when somebody creates it again. Skipped, with the reason,
 * where this machine cannot run containers as root.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { adminClientFor, cli, eventually, testCluster } from "../harness.ts";
import { defaultServiceAccount, fleetNodesReady, startEngine } from "../engine-process.ts";
import { workerSkipReason as skipReason } from "../real-workers.ts";
import { PAUSE_IMAGE, STOCK_NODE_IMAGE } from "../../src/workers/image.ts";
import { workerName } from "../../src/workers/workers.ts";
import { isNotFound } from "../../src/client/api-error.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { nodeLeasePath } from "../../src/kernel/k8s.ts";
import {
  REAL_KUBELET_DIFFERENCES,
  compareStatuses,
  describeDifference,
} from "../../src/engine/pod-status-diff.ts";

const CLUSTER = "it-pdiff";
const HOLLOW = "pdiff-hollow-0";
const SIDES = ["real", "hollow"] as const;
type Side = (typeof SIDES)[number];
const ns = (side: Side): string => `pdiff-${side}`;

/** The pods, the same on both sides but for the node they are bound to. */
function pods(node: string): Record<string, unknown>[] {
  const meta = (name: string, annotations: Record<string, string> = {}) => ({
    name,
    labels: { pdiff: "1" },
    annotations,
  });
  return [
    {
      metadata: meta("burstable"),
      spec: {
        nodeName: node,
        terminationGracePeriodSeconds: 5,
        initContainers: [{ name: "init", image: STOCK_NODE_IMAGE, command: ["node", "-e", "0"] }],
        containers: [
          {
            name: "app",
            image: STOCK_NODE_IMAGE,
            command: ["node", "-e", "process.on('SIGTERM',()=>process.exit(0));setInterval(()=>{},1e9)"],
            readinessProbe: {
              exec: { command: ["node", "-e", "0"] },
              initialDelaySeconds: 1,
              periodSeconds: 2,
            },
            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
          },
        ],
      },
    },
    {
      metadata: meta("guaranteed"),
      spec: {
        nodeName: node,
        terminationGracePeriodSeconds: 5,
        containers: [
          {
            name: "pause",
            image: PAUSE_IMAGE,
            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "10m", memory: "16Mi" } },
          },
        ],
      },
    },
    {
      // The hollow node reads the run time from the annotation (a node -e script tells it nothing).
      metadata: meta("completes", { "kubemark-cluster.io/run-seconds": "1" }),
      spec: {
        nodeName: node,
        restartPolicy: "Never",
        containers: [
          {
            name: "once",
            image: STOCK_NODE_IMAGE,
            command: ["node", "-e", "setTimeout(()=>process.exit(0),1000)"],
          },
        ],
      },
    },
  ];
}

interface Pod {
  metadata: { name: string; namespace: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: unknown[];
  };
}

const ready = (p: Pod | undefined): boolean =>
  p?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** The cluster with its real worker, and the hollow node beside it (undefined where skipped). */
let env: { client: KubeClient; engine: { stop(): Promise<unknown> } } | undefined;
let skipped: string | undefined;

before(async () => {
  skipped = await skipReason();
  if (skipped) return;
  const kubeconfig = join(testCluster().stateDir, "clusters", CLUSTER, "kubeconfig");
  const up = await cli(["up", "--name", CLUSTER, "--workers", "1", "--timeout", "300"], {}, 900_000);
  assert.equal(up.code, 0, `up --workers 1: ${up.stdout}\n${up.stderr}`);
  const client = await adminClientFor(kubeconfig);
  const engine = startEngine([
    "--kubeconfig",
    kubeconfig,
    "--names",
    HOLLOW,
    "--fleet",
    "pdiff",
    "--no-proxy",
  ]);
  env = { client, engine };
  await fleetNodesReady(client, "pdiff", 1);
});

after(async () => {
  if (skipped) return;
  await env?.engine.stop();
  await env?.client.close();
  const down = await cli(["down", "--name", CLUSTER]);
  assert.equal(down.code, 0, down.stderr);
});

test("pod statuses: a hollow node writes what a real kubelet v1.36 writes, field by field", async (t) => {
  if (skipped) {
    t.skip(skipped);
    return;
  }
  const { client } = env!;
  /** Every status each pod was seen with, in order, and whether it was deleted. */
  const seen = new Map<string, Pod[]>();
  const deleted = new Set<string>();
  const watch = client.watchStream(
    "/api/v1/pods",
    { labelSelector: "pdiff=1" },
    {
      onEvent: (ev) => {
        const p = ev.object as Pod;
        const key = `${p.metadata.namespace}/${p.metadata.name}`;
        if (ev.type === "DELETED") deleted.add(key);
        else if (ev.type === "ADDED" || ev.type === "MODIFIED") seen.set(key, [...(seen.get(key) ?? []), p]);
      },
      onEnd: () => undefined,
    },
  );
  const latest = (side: Side, name: string): Pod | undefined => seen.get(`${ns(side)}/${name}`)?.at(-1);
  try {
    for (const side of SIDES) {
      await client.request({
        method: "POST",
        path: "/api/v1/namespaces",
        body: { metadata: { name: ns(side) } },
      });
      await defaultServiceAccount(client, ns(side));
    }
    for (const side of SIDES) {
      const node = side === "real" ? workerName(CLUSTER, 0) : HOLLOW;
      for (const p of pods(node))
        await client.request({ method: "POST", path: `/api/v1/namespaces/${ns(side)}/pods`, body: p });
    }
    await eventually("both sides' pods Ready and completed", 120_000, () => {
      const states = SIDES.flatMap((s) => [
        ready(latest(s, "burstable")),
        ready(latest(s, "guaranteed")),
        latest(s, "completes")?.status?.phase === "Succeeded",
      ]);
      return Promise.resolve({ done: states.every(Boolean), status: JSON.stringify(states) });
    });
    // The kubelet writes nothing more for them once Ready and Succeeded; let a late write land.
    await new Promise((r) => setTimeout(r, 3000));
    const snapshot = (name: string) => SIDES.map((s) => latest(s, name)!.status);
    // The node's first status: the pod as the kubelet first reports it (containers not created yet).
    const first = (name: string) =>
      SIDES.map((s) => seen.get(`${ns(s)}/${name}`)?.find((p) => p.status?.containerStatuses)?.status) as [
        unknown,
        unknown,
      ];
    const compared: [string, unknown, unknown][] = [
      ["burstable's first status", ...first("burstable")],
      ["guaranteed's first status", ...first("guaranteed")],
      ["burstable Running and Ready", ...(snapshot("burstable") as [unknown, unknown])],
      ["guaranteed Running and Ready", ...(snapshot("guaranteed") as [unknown, unknown])],
      ["completes Succeeded", ...(snapshot("completes") as [unknown, unknown])],
    ];
    for (const side of SIDES)
      for (const name of ["burstable", "guaranteed"])
        await client.request({ method: "DELETE", path: `/api/v1/namespaces/${ns(side)}/pods/${name}` });
    await eventually("the deleted pods gone on both sides", 60_000, () => {
      const gone = SIDES.flatMap((s) => ["burstable", "guaranteed"].map((n) => deleted.has(`${ns(s)}/${n}`)));
      return Promise.resolve({ done: gone.every(Boolean), status: JSON.stringify(gone) });
    });
    compared.push(
      ["burstable's last status before deletion", ...(snapshot("burstable") as [unknown, unknown])],
      ["guaranteed's last status before deletion", ...(snapshot("guaranteed") as [unknown, unknown])],
    );
    const unexplained: string[] = [];
    for (const [what, real, hollow] of compared) {
      const out = compareStatuses(real, hollow, REAL_KUBELET_DIFFERENCES);
      for (const d of out.allowed) t.diagnostic(`${what}: allowed ${describeDifference(d)} (${d.reason})`);
      for (const d of out.unexplained) unexplained.push(`${what}: ${describeDifference(d)}`);
    }
    for (const side of SIDES)
      for (const name of ["burstable", "guaranteed", "completes"])
        t.diagnostic(
          `${side} ${name}: ${seen.get(`${ns(side)}/${name}`)?.length ?? 0} statuses seen (ADDED/MODIFIED events)`,
        );
    assert.deepEqual(
      unexplained,
      [],
      "differences between the real kubelet's statuses (left) and the hollow node's (right)",
    );
  } finally {
    watch.cancel();
  }
});

interface NodeView {
  metadata: { uid: string };
  status?: { conditions?: { type: string; status: string }[] };
}

interface LeaseView {
  metadata: { ownerReferences?: { uid: string }[] };
}

test("a deleted Node stays deleted, on the real kubelet as on the hollow node; created again, each reports to it", async (t) => {
  if (skipped) {
    t.skip(skipped);
    return;
  }
  const { client } = env!;
  const names = [workerName(CLUSTER, 0), HOLLOW];
  const getOr = <T>(path: string): Promise<T | undefined> =>
    client.get<T>(path).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  for (const name of names) await client.request({ method: "DELETE", path: `/api/v1/nodes/${name}` });
  // The garbage collector deletes each Lease with the Node that owns it; neither node makes a new
  // one without its Node, and neither registers its Node again (kubelet: registrationCompleted).
  await eventually("both Leases gone with their Nodes", 60_000, async () => {
    const leases = await Promise.all(names.map((n) => getOr<LeaseView>(nodeLeasePath(n))));
    return { done: leases.every((l) => l === undefined), status: JSON.stringify(leases.map(Boolean)) };
  });
  // Two status periods and two lease periods (10 s each) more.
  await new Promise((r) => setTimeout(r, 25_000));
  const after = await Promise.all(
    names.flatMap((n) => [getOr<NodeView>(`/api/v1/nodes/${n}`), getOr<LeaseView>(nodeLeasePath(n))]),
  );
  assert.deepEqual(
    after.map(Boolean),
    [false, false, false, false],
    "[real Node, real Lease, hollow Node, hollow Lease] 25 s after",
  );
  // Somebody creates the Nodes again: each node finds its Node, reports Ready to it and makes a
  // Lease it owns.
  for (const name of names)
    await client.request({ method: "POST", path: "/api/v1/nodes", body: { metadata: { name } } });
  await eventually("both Nodes Ready again with Leases they own", 90_000, async () => {
    const state = await Promise.all(
      names.map(async (n) => {
        const node = await getOr<NodeView>(`/api/v1/nodes/${n}`);
        const lease = await getOr<LeaseView>(nodeLeasePath(n));
        const ready = node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        const owned = lease?.metadata.ownerReferences?.[0]?.uid === node?.metadata.uid;
        return { ready: ready === true, owned: lease !== undefined && owned };
      }),
    );
    return { done: state.every((s) => s.ready && s.owned), status: JSON.stringify(state) };
  });
});
