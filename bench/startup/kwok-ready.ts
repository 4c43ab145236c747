/**
 * KWOK beside hollow-node in bench/startup.ts (`--kwok`): KWOK's time to N Nodes Ready on the same
 * control plane, right after hollow-node's start-up, started and counted exactly as bench/compare.ts
 * does it (its launcher creates the Nodes, 32 at once, then starts KWOK; Ready counted from a Node
 * watch), so the two figures are of one run and the KWOK one matches compare.ts's.
 */
import { join } from "node:path";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { resolveBinaries } from "../../src/controlplane/binaries.ts";
import { parseKubeVersion } from "../../src/controlplane/kube-version.ts";
import { removeNodes, watchReadyNodes } from "../compare/cluster-nodes.ts";
import { prefixOf, startSystem } from "../compare/launchers.ts";
import { waitFor } from "../compare/waiting.ts";

/** Where KWOK runs and with what. */
export interface KwokRun {
  kubeconfig: string;
  client: KubeClient;
  /** The control plane's release (`/version`'s gitVersion): KWOK is built or taken from the cache at it. */
  version: string;
  cacheDir: string;
  /** Directory for KWOK's log. */
  workDir: string;
  nodes: number;
}

/** Seconds until KWOK has `nodes` Nodes Ready (from before it creates them); removes them and stops KWOK after. */
export async function kwokReadySeconds(r: KwokRun): Promise<number> {
  const bins = await resolveBinaries({
    version: parseKubeVersion(r.version),
    binaries: ["kwok"],
    cacheDir: r.cacheDir,
    env: process.env,
    now: Date.now,
  });
  const kubeconfigFor = { "hollow-node": r.kubeconfig, kubemark: r.kubeconfig, kwok: r.kubeconfig };
  const ctx = {
    kubeconfig: r.kubeconfig,
    kubeconfigFor,
    client: r.client,
    // Only KWOK is started here: no kubemark binary is needed.
    bins: { kubemark: "", kwok: bins.kwok.path, stages: join(bins.kwok.path, "..", "kwok-stages.yaml") },
    workDir: r.workDir,
  };
  const count = watchReadyNodes(r.client, "kwok", r.nodes);
  const t0 = Date.now();
  const kwok = await startSystem(ctx, "kwok", r.nodes, prefixOf("kwok", r.nodes)).catch((err: unknown) => {
    count.stop();
    throw err;
  });
  try {
    await waitFor(`${r.nodes} KWOK nodes Ready`, 120_000 + r.nodes * 60, () =>
      Promise.resolve(count.readyAt() !== undefined),
    );
    return (count.readyAt()! - t0) / 1000;
  } finally {
    count.stop();
    await kwok.stop();
    await removeNodes(r.client, "kwok");
  }
}
