import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterLayout, writeRecord } from "../controlplane/cluster-state.ts";
import { KubemarkError } from "../kernel/errors.ts";
import { pickFreePorts } from "../host/ports.ts";
import { connect } from "./endpoints.ts";

test("connect: a local cluster whose API server is down is named, with the 'up' that starts that cluster", async () => {
  const state = await mkdtemp(join(tmpdir(), "endpoints-"));
  try {
    const [port] = await pickFreePorts(1);
    const layout = clusterLayout(state, "rel-a");
    await mkdir(layout.dir, { recursive: true });
    await writeRecord(layout, {
      name: "rel-a",
      version: "v1.36.3",
      ports: { etcdClient: 1, etcdPeer: 2, apiserver: port!, controllerManager: 3, scheduler: 4 },
      audit: false,
      loadTest: false,
      serviceCIDR: "10.0.0.0/16",
      clusterCIDR: "10.128.0.0/9",
      createdAt: new Date(0).toISOString(),
      processes: {},
    });
    await writeFile(
      layout.kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          { name: "x", cluster: { server: `https://127.0.0.1:${port}`, "insecure-skip-tls-verify": true } },
        ],
        users: [{ name: "x", user: { token: "t" } }],
        contexts: [{ name: "x", context: { cluster: "x", user: "x" } }],
        "current-context": "x",
      }),
    );
    await assert.rejects(
      connect({ kubeconfig: layout.kubeconfig }, {}, state),
      (err: unknown) =>
        err instanceof KubemarkError &&
        err.code === "UNREACHABLE" &&
        /the local cluster "rel-a"'s kube-apiserver is not running/.test(err.message) &&
        /'kubemark-cluster up --name rel-a'/.test(err.hint ?? ""),
    );
  } finally {
    await rm(state, { recursive: true, force: true });
  }
});
