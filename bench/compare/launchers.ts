/**
 * Starting and stopping the systems under comparison: this project's hollow-node process, one
 * upstream kubemark process per node, or KWOK with the Nodes it manages created for it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { forEachLimit } from "../../src/kernel/concurrency.ts";
import { NODES_PATH } from "../../src/kernel/k8s.ts";
import { ROOT } from "../../test/harness.ts";
import type { CompareContext, Running, SystemName } from "./types.ts";
import { sleep } from "./waiting.ts";

/** Label on every benchmark Node: which system it belongs to. */
export const LABEL = "bench-system";

/** Lease duration KWOK is started with, and after which a Lease counts as a missed heartbeat. */
export const LEASE_SECONDS = 40;

/** Prefix of a system's node names at a size (`b-hn-100`, `b-km-10`, `b-kw-1000`). */
export function prefixOf(system: SystemName, n: number): string {
  return `b-${system === "hollow-node" ? "hn" : system === "kubemark" ? "km" : "kw"}-${n}`;
}

function spawnLogged(file: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, "a");
  const child = spawn(file, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  return child;
}

/** SIGTERM, up to 20 s to exit, then SIGKILL. */
async function stopChildren(children: ChildProcess[]): Promise<void> {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  const deadline = Date.now() + 20_000;
  while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline)
    await sleep(200);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

/** Starts `system` with `n` nodes named `<prefix>-<i>`, logging under the context's work directory. */
export async function startSystem(
  ctx: CompareContext,
  system: SystemName,
  n: number,
  prefix: string,
): Promise<Running> {
  const logFile = join(ctx.workDir, `${prefix}.log`);
  if (system === "hollow-node") {
    const child = spawnLogged(
      join(ROOT, "hollow-node"),
      [
        `--kubeconfig=${ctx.kubeconfigFor[system]}`,
        `--nodes=${n}`,
        `--name-prefix=${prefix}`,
        `--fleet=${prefix}`,
        `--node-labels=hollow-node=true,${LABEL}=${system}`,
        "--stats-interval=0",
        "--max-in-flight=400",
        // Each node its own certificate by the kubelet's TLS bootstrap, and its own connection;
        // kubelets only, as kubemark runs here, so the API server's cost per node compares like with like.
        ...(ctx.nodeIdentity
          ? [
              "--identity=node",
              `--bootstrap-kubeconfig=${ctx.nodeIdentity.bootstrapKubeconfig}`,
              "--no-proxy",
            ]
          : []),
      ],
      logFile,
    );
    return {
      pids: () => (child.pid ? [child.pid] : []),
      logs: () => logFile,
      stop: () => stopChildren([child]),
    };
  }
  if (system === "kubemark") {
    const children: ChildProcess[] = [];
    for (let i = 0; i < n; i++) {
      const kubeconfig = ctx.nodeIdentity
        ? await ctx.nodeIdentity.kubemarkKubeconfig(`${prefix}-${i}`)
        : ctx.kubeconfigFor[system];
      children.push(
        spawnLogged(
          ctx.bins.kubemark,
          [
            "--morph=kubelet",
            `--name=${prefix}-${i}`,
            `--kubeconfig=${kubeconfig}`,
            "--use-host-image-service=false",
            `--node-labels=hollow-node=true,${LABEL}=${system}`,
            `--kubelet-port=${21000 + i}`,
            "--kubelet-read-only-port=0",
            "--v=0",
          ],
          join(ctx.workDir, `${prefix}-${i}.log`),
        ),
      );
      // Starting hundreds of Go processes at once starves the two cores; pace them.
      if (i % 10 === 9) await sleep(500);
    }
    return {
      pids: () => children.map((c) => c.pid ?? 0).filter((p) => p > 0),
      logs: () => join(ctx.workDir, `${prefix}-0.log`),
      stop: () => stopChildren(children),
    };
  }
  // KWOK manages Nodes that exist: create them (as a user of KWOK does), then start it.
  const child = spawnLogged(
    ctx.bins.kwok,
    [
      `--kubeconfig=${ctx.kubeconfigFor[system]}`,
      `--config=${ctx.bins.stages}`,
      `--manage-nodes-with-label-selector=${LABEL}=kwok`,
      `--node-lease-duration-seconds=${LEASE_SECONDS}`,
      "--server-address=127.0.0.1:10247",
    ],
    logFile,
  );
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  await forEachLimit(names, 32, async (name) => {
    await ctx.client.request({
      method: "POST",
      path: NODES_PATH,
      body: {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          labels: { "hollow-node": "true", [LABEL]: "kwok", type: "kwok", "kubernetes.io/hostname": name },
          annotations: { "node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake" },
        },
        status: {
          capacity: { cpu: "1", memory: "4026531840", pods: "110" },
          allocatable: { cpu: "1", memory: "4026531840", pods: "110" },
        },
      },
    });
  });
  return {
    pids: () => (child.pid ? [child.pid] : []),
    logs: () => logFile,
    stop: () => stopChildren([child]),
  };
}
