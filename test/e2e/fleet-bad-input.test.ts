/**
 * `kubemark-cluster` fleet verbs given bad input, run as a user would (issue: CLI): a one-line
 * error naming the fix, a non-zero exit, and nothing half-made.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadClusterAccess } from "../../src/client/kubeconfig.ts";
import { createCertAuthority } from "../../src/host/pki.ts";
import { adminClientFor, cli, testCluster } from "../harness.ts";

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
