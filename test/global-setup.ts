/**
 * Integration-test harness: one real control plane shared by every test file. It starts a local
 * cluster in a temporary state directory and stops it afterwards, or uses the cluster named by
 * KUBEMARK_TEST_CLUSTER (in KUBEMARK_STATE_DIR or the default state directory), which it leaves
 * running. Test files find it through the KUBEMARK_IT_* variables set here.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { realClock } from "../src/kernel/clock.ts";
import { downCluster, upCluster } from "../src/controlplane/local-cluster.ts";
import { resolvePaths } from "../src/kernel/paths.ts";
import { downDeps } from "../src/cli/commands/down.ts";

let ownedStateDir: string | undefined;

export async function globalSetup(): Promise<void> {
  const reuse = process.env["KUBEMARK_TEST_CLUSTER"];
  const stateDir = reuse ? resolvePaths(process.env).stateDir : await mkdtemp(join(tmpdir(), "kubemark-it-"));
  if (!reuse) ownedStateDir = stateDir;
  const name = reuse ?? "it";
  const started = Date.now();
  process.stderr.write(
    `integration harness: ${reuse ? "using" : "starting"} local cluster "${name}" in ${stateDir}\n`,
  );
  const paths = resolvePaths(process.env, { stateDir });
  const info = await upCluster(
    {
      paths,
      env: process.env,
      clock: realClock,
      onEvent: (e) => {
        if (e.kind === "build" && e.build.state === "start")
          process.stderr.write(`  build: ${e.build.binary}\n`);
      },
    },
    { name, audit: true, loadTest: true, timeoutMs: 180_000 },
  );
  process.stderr.write(
    `integration harness: ${info.server} ready after ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
  process.env["KUBEMARK_IT_STATE_DIR"] = stateDir;
  process.env["KUBEMARK_IT_CLUSTER"] = name;
  process.env["KUBEMARK_IT_KUBECONFIG"] = info.kubeconfig;
  process.env["KUBEMARK_IT_SERVER"] = info.server;
  process.env["KUBEMARK_IT_VERSION"] = info.version;
  if (info.auditLog) process.env["KUBEMARK_IT_AUDIT_LOG"] = info.auditLog;
}

export async function globalTeardown(): Promise<void> {
  if (!ownedStateDir) return;
  const paths = resolvePaths(process.env, { stateDir: ownedStateDir });
  // Every cluster a test left behind in the private state directory goes too.
  const { listClusterNames } = await import("../src/controlplane/cluster-state.ts");
  for (const name of await listClusterNames(ownedStateDir)) {
    await downCluster(downDeps({ paths, env: process.env, clock: realClock }), { name }).catch(
      (err: unknown) => {
        process.stderr.write(`integration harness: could not stop "${name}": ${String(err)}\n`);
      },
    );
  }
  await rm(ownedStateDir, { recursive: true, force: true });
}
