/**
 * metrics-server scrapes a real kubelet (issue 19): a local cluster with a real worker
 * (`up --workers 1 --metrics-server`) lists the worker in `kubectl top nodes`, so the worker's
 * kubelet serves /metrics/resource to metrics-server's client certificate (x509 against the
 * cluster CA, authorized by SubjectAccessReview on nodes/metrics). Skipped, with the reason, where
 * this machine cannot run containers as root.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { cli, eventually, kubectlPath, run, testCluster } from "../harness.ts";
import { missingWorkerTools } from "../../src/workers/host.ts";

const CLUSTER = "it-wmetrics";
const WORKER = `${CLUSTER}-worker-0`;

async function skipReason(): Promise<string | undefined> {
  if (process.platform !== "linux") return "real workers need Linux";
  if (process.getuid?.() !== 0)
    return "real workers need root (a kubelet and containerd make mounts and cgroups)";
  const missing = await missingWorkerTools(process.env);
  const apt = await stat("/usr/bin/apt-get").then(
    () => true,
    () => false,
  );
  if (missing.length > 0 && !apt) return `no ${missing.join(", ")} and no apt-get to install them`;
  return undefined;
}

test("up --workers 1 --metrics-server: kubectl top nodes lists the real worker", async (t) => {
  const reason = await skipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  const kubeconfig = join(testCluster().stateDir, "clusters", CLUSTER, "kubeconfig");
  try {
    const t0 = Date.now();
    const up = await cli(
      ["up", "--name", CLUSTER, "--workers", "1", "--metrics-server", "--timeout", "300"],
      {},
      900_000,
    );
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    assert.match(
      up.stdout,
      /metrics-server: pid \d+ on 127\.0\.0\.1:\d+, v1beta1\.metrics\.k8s\.io Available/,
    );
    t.diagnostic(`up --workers 1 --metrics-server: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const t1 = Date.now();
    const top = await eventually(`kubectl top nodes to list ${WORKER}`, 120_000, async () => {
      const r = await run(kubectlPath(), ["--kubeconfig", kubeconfig, "top", "nodes", "--no-headers"]);
      return { done: r.code === 0 && r.stdout.includes(WORKER), status: r.code === 0 ? r.stdout : r.stderr };
    });
    t.diagnostic(`kubectl top nodes after ${((Date.now() - t1) / 1000).toFixed(1)} s: ${top.status.trim()}`);
    const row = top.status.split("\n").find((l) => l.startsWith(WORKER)) ?? "";
    const [, cpu, , mem] = row.trim().split(/\s+/);
    assert.match(cpu ?? "", /^\d+m$/, row);
    assert.match(mem ?? "", /^\d+Mi$/, row);
  } finally {
    const down = await cli(["down", "--name", CLUSTER]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopped .*metrics-server/);
  }
});
