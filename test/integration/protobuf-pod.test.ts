/**
 * Pods in protobuf against the real API server (#22): a pod with much of what a spec can hold,
 * run by a hollow node and then deleted, and the real kubelet's and kubemark's pods the engine's
 * status tests use (their specs created, their statuses PATCHed back as those kubelets wrote
 * them), are read in protobuf and in JSON at one resourceVersion: the protobuf answer decoded
 * with the Pod read schema (src/client/protobuf-pod.ts) is the JSON answer's read fields, a
 * PATCH's protobuf answer decodes, and a pod watch in protobuf (the kubelet's, over both
 * transports) delivers each pod as its JSON's read fields. With KUBEMARK_CAPTURE_PROTOBUF=1 the answers are saved under
 * src/client/testdata/protobuf/ (pod-*.pb, pod-*.json) for protobuf-pod.test.ts, which checks
 * that the engine's own view of each pod is the same from either.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KubeClient } from "../../src/client/kube-client.ts";
import { loadClusterAccess } from "../../src/client/kubeconfig.ts";
import { decodeAs } from "../../src/client/protobuf-schema.ts";
import { POD } from "../../src/client/protobuf-pod.ts";
import { readObjectMeta, decodeObject } from "../../src/client/protobuf.ts";
import { projectOn } from "../../src/client/testdata/protobuf-project.ts";
import { FLEET_LABEL } from "../../src/kernel/k8s.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { Watcher, type Versioned } from "../../src/engine/watcher.ts";
import { ROOT, adminClientFor, eventually, testCluster } from "../harness.ts";
import {
  defaultServiceAccount,
  fleetNodesReady,
  removeTestObjects,
  startFleetEngine,
  type EngineProcess,
} from "../engine-process.ts";

const FLEET = "it-pbpod";
const NS = `it-pbpod-${process.pid}`;
const CAPTURE = process.env["KUBEMARK_CAPTURE_PROTOBUF"] === "1";
const TESTDATA = join(ROOT, "src/client/testdata/protobuf");
/** Keeps a deleted pod readable (the test takes it off at the end). */
const HOLD = "kubemark-cluster.io/test-hold";

interface PodJson {
  metadata: {
    name: string;
    resourceVersion: string;
    uid: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
  };
  status?: { phase?: string };
}

/** A pod with init and regular containers, each probe kind, env from ConfigMaps and Secrets, many volume kinds. */
function richPod(node: string, owners: { kind: string; apiVersion: string; name: string; uid: string }[]) {
  const probe = { initialDelaySeconds: 0, periodSeconds: 1, failureThreshold: 3 };
  return {
    metadata: {
      name: "rich",
      labels: { app: "rich", tier: "web" },
      annotations: {
        "example.com/note": "kept on the server, not by the engine",
        "kubemark-cluster.io/probe-fail-after": "3600",
        "kubemark-cluster.io/sandbox-latency": "100ms",
      },
      ownerReferences: owners.map((o, i) => ({ ...o, ...(i === 0 ? { controller: true } : {}) })),
      finalizers: [HOLD],
    },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 3,
      imagePullSecrets: [{ name: "pb-pull" }],
      initContainers: [
        { name: "setup", image: "busybox:1.36", command: ["sh", "-c", "sleep 1"] },
        {
          name: "sidecar",
          image: "registry.k8s.io/pause:3.10",
          restartPolicy: "Always",
          startupProbe: { exec: { command: ["true"] }, periodSeconds: 2 },
        },
      ],
      containers: [
        {
          name: "web",
          image: "nginx:1.27",
          imagePullPolicy: "Always",
          ports: [
            { name: "http", containerPort: 8080 },
            { name: "grpc", containerPort: 9090, protocol: "TCP" },
          ],
          readinessProbe: { httpGet: { path: "/ready", port: "http" }, ...probe, successThreshold: 2 },
          livenessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 5, periodSeconds: 7 },
          startupProbe: { grpc: { port: 9090 }, periodSeconds: 3, failureThreshold: 10 },
          lifecycle: {
            preStop: { exec: { command: ["sleep", "1"] } },
            postStart: { httpGet: { path: "/started", port: "http" } },
          },
          resources: {
            requests: { cpu: "100m", memory: "64Mi", "ephemeral-storage": "1Gi" },
            limits: { cpu: "500m", memory: "128Mi" },
          },
          resizePolicy: [{ resourceName: "cpu", restartPolicy: "NotRequired" }],
          env: [
            { name: "PLAIN", value: "1" },
            { name: "FROM_CM", valueFrom: { configMapKeyRef: { name: "pb-config", key: "mode" } } },
            {
              name: "FROM_SECRET",
              valueFrom: { secretKeyRef: { name: "pb-secret", key: "token", optional: true } },
            },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          ],
          envFrom: [
            { configMapRef: { name: "pb-config" } },
            { prefix: "S_", secretRef: { name: "pb-secret" } },
          ],
          volumeMounts: [
            { name: "config", mountPath: "/etc/config", readOnly: true },
            { name: "secret", mountPath: "/etc/secret" },
            { name: "tokens", mountPath: "/var/run/tokens", readOnly: true },
            { name: "data", mountPath: "/data" },
            { name: "inline-csi", mountPath: "/csi" },
            { name: "scratch", mountPath: "/scratch" },
          ],
          volumeDevices: [{ name: "block", devicePath: "/dev/block0" }],
        },
        { name: "helper", image: "busybox:1.36", command: ["sleep", "infinity"], args: [] },
      ],
      volumes: [
        { name: "config", configMap: { name: "pb-config", items: [{ key: "mode", path: "mode" }] } },
        { name: "secret", secret: { secretName: "pb-secret", defaultMode: 0o400 } },
        {
          name: "tokens",
          projected: {
            sources: [
              { serviceAccountToken: { audience: "vault", expirationSeconds: 7200, path: "vault-token" } },
              { serviceAccountToken: { path: "default-token" } },
              { configMap: { name: "pb-config" } },
              { secret: { name: "pb-secret" } },
              { downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } },
            ],
          },
        },
        { name: "data", persistentVolumeClaim: { claimName: "pb-claim", readOnly: false } },
        { name: "inline-csi", csi: { driver: "inline.csi.example.com", volumeAttributes: { size: "1Gi" } } },
        {
          name: "block",
          ephemeral: {
            volumeClaimTemplate: {
              spec: {
                accessModes: ["ReadWriteOnce"],
                volumeMode: "Block",
                resources: { requests: { storage: "1Gi" } },
              },
            },
          },
        },
        { name: "scratch", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
      ],
    },
  };
}

describe("pods in protobuf, on the real API server", () => {
  let client: KubeClient;
  let engine: EngineProcess;
  let node = "";
  const podPath = (name: string): string => `/api/v1/namespaces/${NS}/pods/${name}`;

  /** GETs a pod in protobuf and JSON at one resourceVersion; checks and (capturing) saves both. */
  async function both(name: string, file: string): Promise<PodJson> {
    let bytes: Uint8Array;
    let json: PodJson;
    do {
      bytes = await client.request<Uint8Array>({ method: "GET", path: podPath(name), accept: "protobuf" });
      assert.ok(bytes instanceof Uint8Array, `${name} answered protobuf`);
      json = await client.get<PodJson>(podPath(name));
    } while (readObjectMeta(decodeObject(bytes).raw).resourceVersion !== json.metadata.resourceVersion);
    assert.deepEqual(
      decodeAs(POD, bytes),
      projectOn(json, POD.read),
      `${name}: the read fields, as JSON says`,
    );
    if (CAPTURE) {
      await mkdir(TESTDATA, { recursive: true });
      await writeFile(join(TESTDATA, `${file}.pb`), bytes);
      await writeFile(join(TESTDATA, `${file}.json`), JSON.stringify(json, null, 2) + "\n");
    }
    return json;
  }

  const post = (path: string, body: unknown): Promise<{ metadata: { name: string; uid: string } }> =>
    client.request({ method: "POST", path: `/api/v1/namespaces/${NS}/${path}`, body });

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    engine = startFleetEngine({ nodes: 1, fleet: FLEET });
    await fleetNodesReady(client, FLEET, 1);
    const nodes = await client.get<{ items: { metadata: { name: string } }[] }>("/api/v1/nodes", {
      labelSelector: `${FLEET_LABEL}=${FLEET}`,
    });
    node = nodes.items[0]!.metadata.name;
    await defaultServiceAccount(client, NS);
  });

  after(async () => {
    await engine?.stop();
    // Off with the hold, so the namespace can go.
    const pods = await client
      .get<{ items: PodJson[] }>(`/api/v1/namespaces/${NS}/pods`)
      .catch(() => ({ items: [] as PodJson[] }));
    for (const p of pods.items) {
      await client
        .request({
          method: "PATCH",
          path: podPath(p.metadata.name),
          patchType: "merge",
          body: { metadata: { finalizers: null } },
        })
        .catch(() => undefined);
    }
    await removeTestObjects(client, NS, FLEET);
  });

  test("a rich pod run by a hollow node, then deleted: its protobuf answers are its JSON's read fields", async () => {
    const config = await post("configmaps", { metadata: { name: "pb-config" }, data: { mode: "fast" } });
    await post("secrets", { metadata: { name: "pb-secret" }, stringData: { token: "t" } });
    await post("persistentvolumeclaims", {
      metadata: { name: "pb-claim" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
    const owners = [{ kind: "ConfigMap", apiVersion: "v1", name: "pb-config", uid: config.metadata.uid }];
    await post("pods", richPod(node, owners));
    await eventually("the hollow node to run the rich pod", 60_000, async () => {
      const p = await client.get<PodJson>(podPath("rich"));
      return { done: p.status?.phase === "Running", status: `phase ${p.status?.phase ?? "-"}` };
    });
    await both("rich", "pod-running");

    // A PATCH (JSON body) answered in protobuf decodes to the pod.
    const patched = await client.request<{ metadata: { annotations: Record<string, string> } }>({
      method: "PATCH",
      path: podPath("rich"),
      patchType: "strategic",
      body: { metadata: { annotations: { "kubemark-cluster.io/patched": "yes" } } },
      proto: POD,
    });
    assert.equal(patched.metadata.annotations["kubemark-cluster.io/patched"], "yes");

    // Deleted: the hollow node stops it and deletes it for good (grace 0); the hold keeps it.
    await client.request({ method: "DELETE", path: podPath("rich") });
    await eventually("the hollow node to end the deleted pod", 60_000, async () => {
      const p = await client.get<PodJson>(podPath("rich"));
      return {
        done: p.metadata.deletionGracePeriodSeconds === 0,
        status: `phase ${p.status?.phase ?? "-"}, grace ${p.metadata.deletionGracePeriodSeconds ?? "-"}`,
      };
    });
    const gone = await both("rich", "pod-deleted");
    assert.ok(gone.metadata.deletionTimestamp, "the deleted pod has its deletionTimestamp");
  });

  test("the real kubelet's and kubemark's pods of the engine's status tests: their protobuf answers are their JSON's read fields", async () => {
    type Fixture = { metadata: Record<string, unknown>; spec: Record<string, unknown>; status: unknown };
    const load = async (f: string): Promise<unknown> =>
      JSON.parse(await readFile(join(ROOT, "src/engine/testdata", f), "utf8")) as unknown;
    const kubelet = (await load("kubelet-v1.36.3-containerd-pods.json")) as Fixture[];
    const kubemark = (await load("kubemark-v1.36.3-pod-running.json")) as Fixture;
    const fixtures: [string, Fixture][] = [
      ...kubelet.map((p): [string, Fixture] => [`pod-kubelet-${String(p.metadata["name"])}`, p]),
      ["pod-kubemark-running", kubemark],
    ];
    for (const [file, p] of fixtures) {
      const m = p.metadata;
      const name = String(m["name"]);
      // As it was, on a node that is not there (no kubelet touches it); its owner is not there either.
      await post("pods", {
        metadata: {
          name,
          ...(m["labels"] ? { labels: m["labels"] } : {}),
          ...(m["annotations"] ? { annotations: m["annotations"] } : {}),
          finalizers: [HOLD],
        },
        spec: { ...p.spec, nodeName: "it-pbpod-absent" },
      });
      await client.request({
        method: "PATCH",
        path: `${podPath(name)}/status`,
        patchType: "merge",
        body: { status: p.status },
      });
      const json = await both(name, file);
      assert.equal(
        json.status?.phase,
        (p.status as { phase: string }).phase,
        `${name}: its status as written`,
      );
    }
  });

  test("the pod watch in protobuf, as the engine's kubelet opens it, delivers each pod as its JSON's read fields", async () => {
    for (const lean of [true, false]) {
      const access = await loadClusterAccess({ kubeconfig: testCluster().kubeconfig, env: process.env });
      const c = new KubeClient(access, {
        userAgent: "kubemark-it",
        ...(lean ? { leanWatches: true, leanRequests: true } : {}),
      });
      const seen = new Map<string, Versioned & Record<string, unknown>>();
      let synced = false;
      const errors: string[] = [];
      const w = new Watcher<Versioned & Record<string, unknown>>(
        c,
        `/api/v1/namespaces/${NS}/pods`,
        {},
        {
          onEvent: (type, pod) => {
            const name = (pod.metadata as { name: string }).name;
            if (type === "DELETED") seen.delete(name);
            else seen.set(name, pod);
          },
          onSynced: () => {
            synced = true;
          },
        },
        {
          clock: realClock,
          random: Math.random,
          watchList: { enabled: true },
          onError: (e) => errors.push(String(e)),
        },
        POD,
      );
      w.start();
      try {
        await eventually("the pod watch's initial events", 20_000, () =>
          Promise.resolve({ done: synced, status: `${seen.size} pods` }),
        );
        assert.deepEqual(errors, []);
        assert.ok(seen.size >= 5, `${seen.size} pods watched`);
        for (const name of [...seen.keys()]) {
          // Each pod at the version the watch delivered (later events replace it in `seen`).
          await eventually(`${name} as JSON at the watched version`, 20_000, async () => {
            const have = seen.get(name)!;
            const json = await client.get<PodJson>(podPath(name));
            if (json.metadata.resourceVersion !== have.metadata.resourceVersion)
              return {
                done: false,
                status: `${json.metadata.resourceVersion} vs ${have.metadata.resourceVersion}`,
              };
            assert.deepEqual(
              have,
              projectOn(json, POD.read),
              `${name} over ${lean ? "lean HTTP/2" : "undici"}`,
            );
            return { done: true, status: "same" };
          });
        }
      } finally {
        w.stop();
        await c.close();
      }
    }
  });
});
