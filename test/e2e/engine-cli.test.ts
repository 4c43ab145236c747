/** hollow-node as a user runs it: bad input fails at once with one clear line and a non-zero exit. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { ROOT, adminClientFor, run, testCluster } from "../harness.ts";

const hollow = (args: string[]) =>
  run(join(ROOT, "hollow-node"), args, { ...process.env, KUBECONFIG: "" }, 60_000);

test("unknown flags and bad values exit 2 naming the flag and the value", async () => {
  const kc = testCluster().kubeconfig;
  const unknown = await hollow(["--kubeconfig", kc, "--nodez", "3"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /error: unknown option '--nodez'/);

  const cases: [string[], RegExp][] = [
    [
      ["--memory", "lots"],
      /^error: --memory must be a Kubernetes quantity such as 4, 500m, 16Gi or 4026531840, got "lots"\n/,
    ],
    [["--nodes", "-5"], /^error: --nodes must be between 1 and 100000, got "-5"\n/],
    [["--nodes", "abc"], /^error: --nodes must be a whole number, got "abc"\n/],
    [["--traffic", "heavy"], /^error: --traffic must be kubelet or minimal, got "heavy"\n/],
    [["--kubelet-version", "1.36"], /^error: --kubelet-version must look like v1\.36\.3, got "1\.36"\n/],
    [["--register-with-taints", "gpu"], /^error: --register-with-taints takes key=value:Effect taints/],
  ];
  for (const [args, re] of cases) {
    const r = await hollow(["--kubeconfig", kc, ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test("a missing kubeconfig and an unreachable server give one clear error", async () => {
  const missing = await hollow(["--kubeconfig", "/nonexistent/kubeconfig"]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /^error: kubeconfig \/nonexistent\/kubeconfig does not exist\nhint: pass --kubeconfig/,
  );

  const dir = await mkdtemp(join(tmpdir(), "hollow-bad-"));
  const unreachable = join(dir, "kubeconfig");
  await writeFile(
    unreachable,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1", "insecure-skip-tls-verify": true } }],
      users: [{ name: "u", user: { token: "not-a-real-token" } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      "current-context": "c",
    }),
  );
  const r = await hollow(["--kubeconfig", unreachable]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: cannot reach https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
});

test("a metrics port in use is one clear error before any node is made", async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const r = await hollow(["--kubeconfig", testCluster().kubeconfig, "--metrics-port", String(port)]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: --metrics-port ${port} on 127\\.0\\.0\\.1 is in use`));
    assert.doesNotMatch(r.stderr, /registering nodes|Unhandled/);
  } finally {
    busy.close();
  }
});

test("an identity the API server forbids is refused before any node is made, naming what it lacks", async () => {
  const client = await adminClientFor();
  const ns = `hollow-forbidden-${process.pid}`;
  try {
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns } } });
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/serviceaccounts`,
      body: { metadata: { name: "nobody" } },
    });
    const tr = await client.request<{ status: { token: string } }>({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/serviceaccounts/nobody/token`,
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 600 },
      },
    });
    const dir = await mkdtemp(join(tmpdir(), "hollow-forbidden-"));
    const kc = join(dir, "kubeconfig");
    await writeFile(
      kc,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          { name: "c", cluster: { server: testCluster().server, "insecure-skip-tls-verify": true } },
        ],
        users: [{ name: "nobody", user: { token: tr.status.token } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "nobody" } }],
        "current-context": "c",
      }),
    );
    const r = await hollow(["--kubeconfig", kc, "--nodes", "2", "--name-prefix", "forbidden"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: the identity in .* may not: create nodes, patch nodes\/status, create leases\.coordination\.k8s\.io/,
    );
    const nodes = await client.get<{ items: unknown[] }>("/api/v1/nodes", {
      labelSelector: "kubemark-cluster.io/fleet=default",
    });
    assert.equal(
      (nodes.items as { metadata: { name: string } }[]).filter((n) => n.metadata.name.startsWith("forbidden"))
        .length,
      0,
    );
  } finally {
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` }).catch(() => undefined);
    await client.close();
  }
});
