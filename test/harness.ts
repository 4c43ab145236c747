/** Helpers for integration and end-to-end tests (the cluster comes from global-setup.ts). */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { realClock } from "../src/kernel/clock.ts";
import { KubeClient } from "../src/client/kube-client.ts";
import { loadClusterAccess } from "../src/client/kubeconfig.ts";
import { cachedBinDir } from "../src/controlplane/binaries.ts";
import { clusterLayout, readRecord, type ClusterRecord } from "../src/controlplane/cluster-state.ts";
import { parseKubeVersion } from "../src/controlplane/kube-version.ts";
import { resolvePaths } from "../src/kernel/paths.ts";
import { waitUntil, type PollResult } from "../src/kernel/wait.ts";
import type { FleetEvent } from "../src/fleet/events.ts";
import { openSession, type Session } from "../src/fleet/session.ts";

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The shared test cluster. */
export interface TestCluster {
  readonly name: string;
  readonly stateDir: string;
  readonly kubeconfig: string;
  readonly server: string;
  readonly version: string;
  readonly auditLog: string | undefined;
}

/** The cluster started by the harness; throws when the test runs without it. */
export function testCluster(): TestCluster {
  const kubeconfig = process.env["KUBEMARK_IT_KUBECONFIG"];
  if (!kubeconfig)
    throw new Error(
      "integration and end-to-end tests run through 'npm run test:integration' or 'npm run test:e2e' (they start the cluster)",
    );
  return {
    name: process.env["KUBEMARK_IT_CLUSTER"] ?? "it",
    stateDir: process.env["KUBEMARK_IT_STATE_DIR"] ?? "",
    kubeconfig,
    server: process.env["KUBEMARK_IT_SERVER"] ?? "",
    version: process.env["KUBEMARK_IT_VERSION"] ?? "",
    auditLog: process.env["KUBEMARK_IT_AUDIT_LOG"],
  };
}

/** The test cluster's record (ports, pids). */
export async function testRecord(): Promise<ClusterRecord> {
  const c = testCluster();
  const rec = await readRecord(clusterLayout(c.stateDir, c.name));
  assert.ok(rec, "the test cluster has a record");
  return rec;
}

/** An admin client of the test cluster, loaded from its kubeconfig as a user's would be. */
export async function adminClientFor(
  kubeconfig = testCluster().kubeconfig,
  userAgent = "kubemark-it",
): Promise<KubeClient> {
  return new KubeClient(await loadClusterAccess({ kubeconfig, env: process.env }), { userAgent });
}

/** Path of the kubectl built with the control plane. */
export function kubectlPath(): string {
  const v = parseKubeVersion(testCluster().version || "v1.36.3");
  return join(cachedBinDir(resolvePaths(process.env).cacheDir, v), "kubectl");
}

/** Output of a finished command. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion. */
export function run(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 300_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Runs `./kubemark-cluster` as a user would, against the harness's state directory by default. */
export function cli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs?: number,
): Promise<RunResult> {
  return run(
    join(ROOT, "kubemark-cluster"),
    args,
    { ...process.env, KUBEMARK_STATE_DIR: testCluster().stateDir, CI: "true", ...env },
    timeoutMs,
  );
}

/** Waits for a condition with the real clock (tests' waits have deadlines too). */
export function eventually(
  what: string,
  timeoutMs: number,
  check: () => Promise<PollResult>,
): Promise<PollResult> {
  return waitUntil(check, { what, timeoutMs, intervalMs: 500, clock: realClock });
}

/** A fleet session of the test cluster for `namespace`, as the CLI opens one; events go to `events`. */
export function testFleetSession(namespace: string, events: FleetEvent[] = []): Promise<Session> {
  const c = testCluster();
  return openSession(
    {
      env: process.env,
      stateDir: c.stateDir,
      clock: realClock,
      onEvent: (e) => events.push(e),
      signal: new AbortController().signal,
    },
    { hosting: { kubeconfig: c.kubeconfig }, namespace },
  );
}
