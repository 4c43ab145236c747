/**
 * `kubemark-cluster` fleet verbs end to end, run as a user would against the real local control
 * plane (issue: CLI): local processes, the in-cluster pod template run on this machine, two
 * clusters, least privilege, and bad input.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { KubeClient } from "../../src/client/kube-client.ts";
import { loadClusterAccess } from "../../src/client/kubeconfig.ts";
import { NO_RETRY } from "../../src/client/retry.ts";
import { createCertAuthority } from "../../src/host/pki.ts";
import { pickFreePorts } from "../../src/host/ports.ts";
import { processStartTicks } from "../../src/host/daemon.ts";
import { adminClientFor, cli, eventually, testCluster, type RunResult } from "../harness.ts";

interface NodeObj {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
}

const FLEET = "kubemark-cluster.io/fleet";

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

async function fleetNodes(client: KubeClient, fleet: string): Promise<NodeObj[]> {
  const list = await client.get<{ items: NodeObj[] }>("/api/v1/nodes", {
    labelSelector: `${FLEET}=${fleet},hollow-node=true`,
  });
  return list.items;
}

async function leaseNames(client: KubeClient, prefix: string): Promise<string[]> {
  const list = await client.get<{ items: { metadata: { name: string } }[] }>(
    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
  );
  return list.items.map((l) => l.metadata.name).filter((n) => n.startsWith(prefix));
}

/** A Node nobody backs, labelled like hollow nodes (or another fleet's): the CLI must never touch it. */
async function foreignNode(client: KubeClient, name: string, labels: Record<string, string>): Promise<void> {
  await client.request({
    method: "POST",
    path: "/api/v1/nodes",
    body: { apiVersion: "v1", kind: "Node", metadata: { name, labels } },
  });
}

function readyCount(nodes: NodeObj[]): number {
  return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
    .length;
}

test("local mode: create 50, verify, scale 120, scale 20, cleanup twice; other Nodes survive", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-local";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  try {
    await foreignNode(client, "bystander-hollow", { "hollow-node": "true" });
    await foreignNode(client, "hollow-node-999", { "hollow-node": "true", [FLEET]: "someone-else" });

    const create = await cli(["create", "50", ...scope]);
    ok(create, "create 50");
    assert.match(create.stdout, /50\/50 hollow nodes Ready/);
    assert.match(create.stderr, /local/, "against the project's own control plane the engine runs locally");
    assert.match(create.stderr, /next: kubemark-cluster verify/);
    assert.equal(readyCount(await fleetNodes(client, ns)), 50);

    const again = await cli(["create", "50", ...scope]);
    ok(again, "create 50 again");
    assert.match(again.stdout, /nothing to do/);

    const verify = await cli(["verify", ...scope, "-o", "json"]);
    ok(verify, "verify");
    const report = JSON.parse(verify.stdout) as { healthy: boolean; ready: number; desired: number };
    assert.deepEqual([report.healthy, report.ready, report.desired], [true, 50, 50]);

    ok(await cli(["scale", "120", ...scope]), "scale 120");
    assert.equal(readyCount(await fleetNodes(client, ns)), 120);

    const down = await cli(["scale", "20", ...scope]);
    ok(down, "scale 20");
    const nodes = (await fleetNodes(client, ns)).map((n) => n.metadata.name).sort();
    assert.equal(nodes.length, 20, "exactly 20 hollow Nodes are left");
    assert.deepEqual(nodes, Array.from({ length: 20 }, (_, i) => `hollow-node-${i}`).sort());
    const leases = (await leaseNames(client, "hollow-node-")).filter((n) => n !== "hollow-node-999");
    assert.equal(leases.length, 20, `exactly 20 Leases are left, got ${leases.length}`);

    const list = await cli(["list", ...scope, "-o", "wide"]);
    ok(list, "list");
    assert.match(list.stdout, /hollow-node-19\s+Ready/);
    const logs = await cli(["logs", "hollow-node-3", ...scope]);
    ok(logs, "logs");
    assert.match(logs.stdout, /hollow-node-3/);

    // kubectl logs of a pod on a local-fleet node: the API server reaches the process's kubelet endpoint.
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/pods`,
      body: {
        metadata: { name: "logged" },
        spec: { nodeName: "hollow-node-3", containers: [{ name: "c", image: "nginx:1.27" }] },
      },
    });
    await eventually("pod logged Running", 60_000, async () => {
      const p = await client.get<{ status?: { phase?: string } }>(`/api/v1/namespaces/${ns}/pods/logged`);
      return { done: p.status?.phase === "Running", status: p.status?.phase ?? "none" };
    });
    const podLog = await client.getText(`/api/v1/namespaces/${ns}/pods/logged/log`);
    assert.match(podLog, new RegExp(`hollow container c of ${ns}/logged started on node hollow-node-3`));

    const clean = await cli(["cleanup", ...scope]);
    ok(clean, "cleanup");
    assert.match(clean.stdout, /removed 20 Nodes/);
    assert.deepEqual(await fleetNodes(client, ns), []);
    assert.deepEqual(
      (await leaseNames(client, "hollow-node-")).filter((n) => n !== "hollow-node-999"),
      [],
    );
    const twice = await cli(["cleanup", "--all", ...scope]);
    ok(twice, "second cleanup");
    for (const name of ["bystander-hollow", "hollow-node-999"]) {
      await client.get(`/api/v1/nodes/${name}`); // still there
    }
    const verifyGone = await cli(["verify", ...scope]);
    assert.notEqual(verifyGone.code, 0, "verify fails when there is no fleet");
  } finally {
    await cli(["cleanup", "--all", ...scope]);
    for (const name of ["bystander-hollow", "hollow-node-999"]) {
      await client.request({ method: "DELETE", path: `/api/v1/nodes/${name}` }).catch(() => undefined);
    }
    await client.close();
  }
});

interface Container {
  command: string[];
  args: string[];
  workingDir: string;
  env: Array<{
    name: string;
    value?: string;
    valueFrom?: { fieldRef?: { fieldPath: string }; configMapKeyRef?: { name: string; key: string } };
  }>;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  emptyDir?: object;
  projected?: {
    sources: Array<{
      serviceAccountToken?: { path: string; expirationSeconds?: number };
      configMap?: { name: string; items: Array<{ key: string; path: string }> };
    }>;
  };
}
interface StatefulSetObj {
  spec: {
    replicas: number;
    template: {
      spec: {
        serviceAccountName: string;
        containers: Container[];
        volumes: Volume[];
        securityContext: { runAsNonRoot?: boolean };
      };
    };
  };
}

/**
 * Does what the kubelet would for pod `podName` of the StatefulSet: materialises its volumes as
 * files (ConfigMaps, Secrets, a TokenRequest'ed projected token) under a directory standing for
 * the container's filesystem, resolves its environment, and returns the command line to run there.
 */
async function materialisePod(
  client: KubeClient,
  ns: string,
  sts: StatefulSetObj,
  podName: string,
  root: string,
): Promise<{ argv: string[]; env: Record<string, string>; cwd: string }> {
  const pod = sts.spec.template.spec;
  const container = pod.containers[0]!;
  const at = (mountPath: string): string => {
    assert.ok(mountPath.startsWith(container.workingDir), `${mountPath} is under the working directory`);
    return join(root, mountPath.slice(container.workingDir.length));
  };
  const configMap = (
    name: string,
  ): Promise<{ data?: Record<string, string>; binaryData?: Record<string, string> }> =>
    client.get(`/api/v1/namespaces/${ns}/configmaps/${name}`);
  for (const m of container.volumeMounts) {
    const v = pod.volumes.find((x) => x.name === m.name)!;
    const dir = at(m.mountPath);
    await mkdir(dir, { recursive: true });
    if (v.configMap) {
      const cm = await configMap(v.configMap.name);
      for (const [k, text] of Object.entries(cm.data ?? {})) await writeFile(join(dir, k), text);
      for (const [k, b64] of Object.entries(cm.binaryData ?? {}))
        await writeFile(join(dir, k), Buffer.from(b64, "base64"));
    } else if (v.secret) {
      const s = await client.get<{ data: Record<string, string> }>(
        `/api/v1/namespaces/${ns}/secrets/${v.secret.secretName}`,
      );
      for (const [k, b64] of Object.entries(s.data))
        await writeFile(join(dir, k), Buffer.from(b64, "base64"));
    } else if (v.projected) {
      for (const src of v.projected.sources) {
        if (src.serviceAccountToken) {
          const tr = await client.request<{ status: { token: string } }>({
            method: "POST",
            path: `/api/v1/namespaces/${ns}/serviceaccounts/${pod.serviceAccountName}/token`,
            body: {
              apiVersion: "authentication.k8s.io/v1",
              kind: "TokenRequest",
              spec: { expirationSeconds: src.serviceAccountToken.expirationSeconds ?? 3600 },
            },
          });
          await writeFile(join(dir, src.serviceAccountToken.path), tr.status.token);
        }
        if (src.configMap) {
          const cm = await configMap(src.configMap.name);
          for (const item of src.configMap.items)
            await writeFile(join(dir, item.path), cm.data?.[item.key] ?? "");
        }
      }
    }
  }
  const server = new URL(testCluster().server);
  const env: Record<string, string> = {
    // What the kubelet injects into every container.
    KUBERNETES_SERVICE_HOST: server.hostname,
    KUBERNETES_SERVICE_PORT: server.port,
  };
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") env[e.name] = podName;
    else if (e.valueFrom?.configMapKeyRef) {
      const cm = await configMap(e.valueFrom.configMapKeyRef.name);
      env[e.name] = cm.data?.[e.valueFrom.configMapKeyRef.key] ?? "";
    } else assert.fail(`unexpected env source for ${e.name}`);
  }
  const expand = (s: string): string => s.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, k: string) => env[k] ?? m);
  return { argv: [...container.command, ...container.args].map(expand), env, cwd: root };
}

test("in-cluster mode: objects pass a server dry run; the pod template, run here, registers and runs its nodes", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-pods";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  const root = await mkdtemp(join(tmpdir(), "hollow-pod-"));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    ok(await cli(["setup", ...scope]), "setup");
    const dry = await cli([
      "create",
      "25",
      "--in-cluster",
      "--nodes-per-pod",
      "10",
      "--dry-run=server",
      ...scope,
    ]);
    ok(dry, "server dry run");
    assert.match(dry.stdout, /accepted by the API server/);
    await assert.rejects(
      client.get(`/apis/apps/v1/namespaces/${ns}/statefulsets/hollow-node`),
      /not ?found/i,
    );

    const create = await cli([
      "create",
      "25",
      "--in-cluster",
      "--nodes-per-pod",
      "10",
      "--no-wait",
      ...scope,
    ]);
    ok(create, "create --in-cluster --no-wait");
    const sts = await client.get<StatefulSetObj>(`/apis/apps/v1/namespaces/${ns}/statefulsets/hollow-node`);
    assert.equal(sts.spec.replicas, 3, "25 nodes at 10 per pod: 3 pods");
    assert.equal(sts.spec.template.spec.securityContext.runAsNonRoot, true);

    // Pod hollow-node-2 runs the last shard: nodes 20..24.
    const pod = await materialisePod(client, ns, sts, "hollow-node-2", root);
    const [cmd, ...args] = pod.argv;
    assert.equal(cmd, "node", "the stock Node.js image's node runs the engine");
    child = spawn(process.execPath, args, {
      cwd: pod.cwd,
      env: { PATH: process.env["PATH"] ?? "", ...pod.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stderr?.on("data", (b: Buffer) => (out += b.toString()));
    await eventually("the pod's 5 nodes Ready", 60_000, async () => {
      const ready = readyCount(await fleetNodes(client, ns));
      return { done: ready === 5, status: `${ready} Ready; engine says: ${out.slice(-300)}` };
    });
    const names = (await fleetNodes(client, ns)).map((n) => n.metadata.name).sort();
    assert.deepEqual(names, [
      "hollow-node-20",
      "hollow-node-21",
      "hollow-node-22",
      "hollow-node-23",
      "hollow-node-24",
    ]);
    // A kubelet posts Ready status and takes its Lease independently: the Lease may come a moment later.
    await eventually("a Lease for each of the pod's nodes", 30_000, async () => {
      const leases = await leaseNames(client, "hollow-node-2");
      const missing = names.filter((n) => !leases.includes(n));
      return { done: missing.length === 0, status: `missing ${missing.join(", ")}` };
    });
    // ... and runs a pod bound to one of them.
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/pods`,
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "work" },
        spec: { nodeName: "hollow-node-22", containers: [{ name: "c", image: "example.com/app:1" }] },
      },
    });
    await eventually("the bound pod Running", 30_000, async () => {
      const p = await client.get<{ status?: { phase?: string; podIP?: string } }>(
        `/api/v1/namespaces/${ns}/pods/work`,
      );
      return { done: p.status?.phase === "Running" && !!p.status.podIP, status: p.status?.phase ?? "none" };
    });

    // The ServiceAccount's token may do what a kubelet does, and nothing a kubelet may not.
    const token = await client.request<{ status: { token: string } }>({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/serviceaccounts/hollow-node/token`,
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 600 },
      },
    });
    const admin = await loadClusterAccess({ kubeconfig: c.kubeconfig, env: process.env });
    const sa = new KubeClient(
      {
        server: admin.server,
        ca: admin.ca,
        insecureSkipTLSVerify: false,
        authorization: () => Promise.resolve(`Bearer ${token.status.token}`),
        source: "hollow-node ServiceAccount",
      },
      { retry: NO_RETRY },
    );
    try {
      await sa.get("/api/v1/nodes", { limit: 1 });
      for (const path of [
        "/api/v1/secrets",
        `/api/v1/namespaces/${ns}/secrets`,
        "/apis/apps/v1/deployments",
      ]) {
        await assert.rejects(
          sa.get(path),
          (err: Error) => /forbidden/i.test(err.message),
          `${path} is refused`,
        );
      }
      await assert.rejects(
        sa.request({ method: "DELETE", path: "/api/v1/namespaces/default" }),
        (err: Error) => /forbidden/i.test(err.message),
      );
    } finally {
      await sa.close();
    }
  } finally {
    child?.kill("SIGTERM");
    await cli(["cleanup", "--all", ...scope]);
    await rm(root, { recursive: true, force: true });
    await client.close();
  }
  const gone = await adminClientFor();
  try {
    assert.deepEqual(await fleetNodes(gone, ns), [], "cleanup removed the pod's Nodes");
    await assert.rejects(
      gone.get(`/apis/rbac.authorization.k8s.io/v1/clusterroles/kubemark-cluster:hollow-node:${ns}`),
      /not ?found/i,
    );
  } finally {
    await gone.close();
  }
});

test("two clusters: the workload's objects land in the hosting cluster, the Nodes in the target", async () => {
  const c = testCluster();
  const up = await cli(["up", "--name", "it-target"]);
  ok(up, "up it-target");
  const targetKubeconfig = join(c.stateDir, "clusters", "it-target", "kubeconfig");
  const host = await adminClientFor();
  const target = await adminClientFor(targetKubeconfig);
  const ns = "fleet-two";
  const scope = ["--kubeconfig", c.kubeconfig, "--target-kubeconfig", targetKubeconfig, "-n", ns];
  try {
    const create = await cli(["create", "5", ...scope], { KUBEMARK_VERSION: "v1.31.4" });
    ok(create, "two-cluster create");
    const nodes = await fleetNodes(target, ns);
    assert.equal(readyCount(nodes), 5, "the Nodes are in the target");
    for (const n of nodes) {
      const v = (n as { status?: { nodeInfo?: { kubeletVersion?: string } } }).status?.nodeInfo
        ?.kubeletVersion;
      assert.equal(v, "v1.31.4", "KUBEMARK_VERSION picks the simulated kubelet version, no image involved");
    }
    assert.deepEqual(await fleetNodes(host, ns), [], "no Node in the hosting cluster");
    const secret = await host.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/secrets/hollow-node-target`,
    );
    assert.ok(secret.data["kubelet.kubeconfig"], "the hosting cluster holds the target kubeconfig Secret");
    assert.ok(
      !create.stdout.includes(Buffer.from(secret.data["token"] ?? "", "base64").toString()),
      "the token is never printed",
    );
    await host.get(`/api/v1/namespaces/${ns}/configmaps/hollow-node-fleet`);
    await target.get(`/api/v1/namespaces/${ns}/serviceaccounts/hollow-node`);
    await assert.rejects(
      host.get(`/apis/rbac.authorization.k8s.io/v1/clusterroles/kubemark-cluster:hollow-node:${ns}`),
      /not ?found/i,
    );
    ok(await cli(["verify", ...scope]), "verify");
    ok(await cli(["cleanup", "--all", ...scope]), "cleanup");
    assert.deepEqual(await fleetNodes(target, ns), []);
  } finally {
    await cli(["cleanup", "--all", ...scope]);
    await host.close();
    await target.close();
    await cli(["down", "--name", "it-target"]);
  }
});

test("bad input: one-line error naming the fix, non-zero exit, nothing half-made", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-bad";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  const dir = await mkdtemp(join(tmpdir(), "bad-kubeconfig-"));
  try {
    const unreachable = join(dir, "unreachable");
    await writeFile(
      unreachable,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          { name: "x", cluster: { server: "https://127.0.0.1:1", "insecure-skip-tls-verify": true } },
        ],
        users: [{ name: "x", user: { token: "nope" } }],
        contexts: [{ name: "x", context: { cluster: "x", user: "x" } }],
        "current-context": "x",
      }),
    );
    // An identity the API server knows but that may do nothing.
    await client.request({
      method: "POST",
      path: "/api/v1/namespaces",
      body: { metadata: { name: "fleet-nobody" } },
    });
    await client.request({
      method: "POST",
      path: "/api/v1/namespaces/fleet-nobody/serviceaccounts",
      body: { metadata: { name: "nobody" } },
    });
    const tr = await client.request<{ status: { token: string } }>({
      method: "POST",
      path: "/api/v1/namespaces/fleet-nobody/serviceaccounts/nobody/token",
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 600 },
      },
    });
    const admin = await loadClusterAccess({ kubeconfig: c.kubeconfig, env: process.env });
    const forbidden = join(dir, "forbidden");
    await writeFile(
      forbidden,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "x",
            cluster: {
              server: admin.server,
              "certificate-authority-data": Buffer.from(String(admin.ca)).toString("base64"),
            },
          },
        ],
        users: [{ name: "x", user: { token: tr.status.token } }],
        contexts: [{ name: "x", context: { cluster: "x", user: "x" } }],
        "current-context": "x",
      }),
    );
    // The running cluster's address and client certificate, with a CA that did not sign its certificate.
    const otherCa = await createCertAuthority(join(dir, "other-ca"), "another-ca");
    const wrongCa = join(dir, "wrong-ca");
    await writeFile(
      wrongCa,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "x",
            cluster: {
              server: admin.server,
              "certificate-authority-data": (await readFile(otherCa.certFile)).toString("base64"),
            },
          },
        ],
        users: [
          {
            name: "x",
            user: {
              "client-certificate-data": Buffer.from(String(admin.cert)).toString("base64"),
              "client-key-data": Buffer.from(String(admin.key)).toString("base64"),
            },
          },
        ],
        contexts: [{ name: "x", context: { cluster: "x", user: "x" } }],
        "current-context": "x",
      }),
    );
    const notKubeconfig = join(dir, "passwd");
    await writeFile(notKubeconfig, "root:x:0:0:root:/root:/bin/bash\n");
    const cases: Array<[string[], RegExp]> = [
      [
        ["create", "10", "--kubeconfig", wrongCa, "-n", ns],
        /does not trust \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)[^)]*\): the kubeconfig's certificate-authority does not match the server's CA/,
      ],
      [["verify", "--kubeconfig", notKubeconfig, "-n", ns], /is not a kubeconfig/],
      [
        ["create", "2", "--kubelet-version", "v9.99.0", ...scope],
        /kubelet version v9\.99\.0 is newer than the API server's v\d+\.\d+\.\d+ .*version skew policy/,
      ],
      [["create", "-5", ...scope], /whole number/],
      [["create", "abc", ...scope], /whole number.*"abc"/],
      [["scale", ...scope], /scale needs the number of nodes/],
      [["create", "10", "--kubeconfig", join(dir, "missing"), "-n", ns], /does not exist/],
      [
        ["create", "10", "--kubeconfig", dirname(join(dir, "x")), "-n", ns],
        /kubeconfig .* (is not readable|is not valid|EISDIR)/,
      ],
      [["create", "10", "--kubeconfig", unreachable, "-n", ns], /cannot reach the cluster/],
      [["create", "10", "--kubeconfig", forbidden, "-n", ns], /may not/],
      [["create", "10", "--nodes-per-pod", "0", ...scope], /--nodes-per-pod/],
      [["scale", "10", ...scope], /no hollow-node fleet/],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(args);
      assert.notEqual(r.code, 0, `${args.join(" ")} must fail`);
      const lines = r.stderr.trim().split("\n");
      assert.match(lines[0] ?? "", /^error: /, `${args.join(" ")}: ${r.stderr}`);
      assert.match(lines[0] ?? "", msg, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(
        lines.length <= 2 && (lines.length === 1 || /^hint: /.test(lines[1] ?? "")),
        `one line and a hint: ${r.stderr}`,
      );
    }
    await assert.rejects(client.get(`/api/v1/namespaces/${ns}`), /not ?found/i, "nothing was made");
  } finally {
    await client
      .request({ method: "DELETE", path: "/api/v1/namespaces/fleet-nobody" })
      .catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await client.close();
  }
});

/** The pids of a fleet's local engine processes, as `list -o json` reports them. */
async function enginePids(scope: string[]): Promise<number[]> {
  const r = await cli(["list", ...scope, "-o", "json"]);
  ok(r, "list -o json");
  return ((JSON.parse(r.stdout) as { processes?: { pid: number }[] }).processes ?? []).map((p) => p.pid);
}

/** True while the process runs (an exited one may linger as a zombie of whoever adopted it). */
function alive(pid: number): boolean {
  return processStartTicks(pid) !== undefined;
}

test("version skew: kubelets newer than the API server only with --force, older than three minors with a warning", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-skew";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  try {
    const forced = await cli(["create", "2", "--kubelet-version", "v9.99.0", "--force", ...scope]);
    ok(forced, "create --force");
    assert.match(forced.stderr, /warning: kubelet version v9\.99\.0 is newer than the API server's/);
    const versions = (await fleetNodes(client, ns)).map(
      (n) => (n as { status?: { nodeInfo?: { kubeletVersion?: string } } }).status?.nodeInfo?.kubeletVersion,
    );
    assert.deepEqual(versions, ["v9.99.0", "v9.99.0"]);
    const old = await cli(["create", "2", "--kubelet-version", "v1.30.0", ...scope]);
    ok(old, "create with an old kubelet");
    assert.match(
      old.stderr,
      /warning: kubelet version v1\.30\.0 is \d+ minor versions older than the API server's/,
    );
  } finally {
    await cli(["cleanup", "--all", ...scope]);
    await client.close();
  }
});

test("engine crash (kill -9): verify names the process and the command that restarts it; create waits for the new process's Leases", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-crash";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  try {
    ok(await cli(["create", "3", ...scope]), "create 3");
    const [pid] = await enginePids(scope);
    assert.ok(pid !== undefined && alive(pid));
    process.kill(pid, "SIGKILL");
    await eventually("the engine process is gone", 10_000, () =>
      Promise.resolve({ done: !alive(pid), status: "alive" }),
    );
    const killedAt = Date.now();
    const verify = await cli(["verify", ...scope]);
    assert.notEqual(verify.code, 0, "verify fails after the crash");
    assert.match(
      verify.stderr,
      new RegExp(`1 of 1 engine processes not running: process 0 \\(pid ${pid}, 3 nodes\\) not running`),
    );
    assert.match(
      verify.stderr,
      /hint: .*'kubemark-cluster create 3 --kubeconfig \S+ -n fleet-crash' restarts them/,
    );

    const t0 = Date.now();
    const again = await cli(["create", "3", ...scope]);
    ok(again, "create 3 after the crash");
    process.stderr.write(`create after kill -9 took ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    const leases = await client.get<{
      items: { metadata: { name: string }; spec?: { renewTime?: string } }[];
    }>("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
    for (const name of ["hollow-node-0", "hollow-node-1", "hollow-node-2"]) {
      const l = leases.items.find((x) => x.metadata.name === name);
      assert.ok(
        Date.parse(l?.spec?.renewTime ?? "") > killedAt,
        `${name}'s Lease was renewed by the new process when create reported it Ready (${l?.spec?.renewTime})`,
      );
    }
    ok(await cli(["verify", ...scope]), "verify after the restart");
  } finally {
    await cli(["cleanup", "--all", ...scope]);
    await client.close();
  }
});

test("down stops the cluster's fleet engines; an engine of a lost cluster is replaced by create at the same address", async () => {
  const c = testCluster();
  const [port] = await pickFreePorts(1);
  const ns = "fleet-orphan";
  const kubeconfigOf = (name: string): string => join(c.stateDir, "clusters", name, "kubeconfig");
  const names = ["it-orphan-a", "it-orphan-b", "it-orphan-c"];
  try {
    // 1. down stops the fleet's engine: nothing keeps retrying the removed cluster.
    ok(await cli(["up", "--name", names[0]!, "--port", String(port)]), "up a");
    const scopeA = ["--kubeconfig", kubeconfigOf(names[0]!), "-n", ns];
    ok(await cli(["create", "2", ...scopeA]), "create 2 in a");
    const [pidA] = await enginePids(scopeA);
    const down = await cli(["down", "--name", names[0]!]);
    ok(down, "down a");
    assert.match(down.stdout, /stopped 1 hollow-node engine process of its local fleets/);
    assert.ok(!alive(pidA!), "down stopped the fleet's engine process");

    // 2. A cluster lost without 'down' (its processes killed, its state removed): its engine survives.
    ok(await cli(["up", "--name", names[1]!, "--port", String(port)]), "up b");
    const scopeB = ["--kubeconfig", kubeconfigOf(names[1]!), "-n", ns];
    const createB = await cli(["create", "2", ...scopeB]);
    ok(createB, "create 2 in b");
    assert.doesNotMatch(createB.stderr, /replaced/, "a's engine was not left for b to find");
    const [pidB] = await enginePids(scopeB);
    const recB = JSON.parse(
      await readFile(join(c.stateDir, "clusters", names[1]!, "cluster.json"), "utf8"),
    ) as { processes: Record<string, { pid: number }> };
    for (const p of Object.values(recB.processes)) process.kill(p.pid, "SIGKILL");
    await rm(join(c.stateDir, "clusters", names[1]!), { recursive: true, force: true });
    assert.ok(alive(pidB!));

    // 3. A new cluster at the same address: verify reports the orphan, create replaces it.
    ok(await cli(["up", "--name", names[2]!, "--port", String(port)]), "up c");
    const scopeC = ["--kubeconfig", kubeconfigOf(names[2]!), "-n", ns];
    const verify = await cli(["verify", ...scopeC]);
    assert.notEqual(verify.code, 0);
    assert.match(
      verify.stderr,
      new RegExp(
        `1 local engine process recorded for that namespace and address runs \\(pid ${pidB}\\): started for another cluster at this address \\(its kube-system namespace UID was`,
      ),
    );
    assert.match(
      verify.stderr,
      /hint: stop them with 'kubemark-cluster cleanup --kubeconfig \S+ -n fleet-orphan'/,
    );
    const create = await cli(["create", "2", ...scopeC]);
    ok(create, "create 2 in c");
    assert.match(
      create.stderr,
      /replaced 1 engine process started for another cluster at https:\/\/127\.0\.0\.1:\d+ \(its kube-system namespace UID was/,
    );
    assert.match(create.stdout, /2\/2 hollow nodes Ready/);
    assert.ok(!alive(pidB!), "the lost cluster's engine is stopped");
    ok(await cli(["verify", ...scopeC]), "verify in c");
  } finally {
    for (const name of names) await cli(["down", "--name", name]);
  }
});
