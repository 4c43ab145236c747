/**
 * The comparison's control planes: started in its own state directory, each system given its own
 * client certificate (so the audit log tells them apart), stopped when the run is over.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { KubeClient } from "../../src/client/kube-client.ts";
import { loadClusterAccess } from "../../src/client/kubeconfig.ts";
import { clusterLayout, readRecord } from "../../src/controlplane/cluster-state.ts";
import { renderKubeconfig, writeKubeconfig } from "../../src/controlplane/kubeconfig-file.ts";
import { downCluster, upCluster, type ControlPlaneDeps } from "../../src/controlplane/local-cluster.ts";
import { issueCert } from "../../src/host/pki.ts";
import { ensureNodeBootstrap, tokenText } from "../../src/fleet/bootstrap.ts";
import { targetKubeconfig } from "../../src/fleet/objects.ts";
import { SYSTEM_NAMES, type CompareContext, type ControlPlane, type SystemName } from "./types.ts";
import { log } from "./waiting.ts";

/** Where control planes are started, and with what. */
export interface ControlPlaneSetup {
  deps: ControlPlaneDeps;
  /** The run's state directory (the control planes' and the systems' files). */
  stateDir: string;
  /** Directory of the systems' logs and kubeconfigs. */
  workDir: string;
  kubeVersion: string;
  bins: CompareContext["bins"];
  /** Called once a control plane is up with how to stop it (for SIGINT/SIGTERM). */
  onStarted(stop: () => Promise<void>): void;
  /** `--identity node`: a bootstrap token for hollow-node, a certificate per kubemark node. */
  identity: "shared" | "node";
}

/**
 * Starts a control plane, gives each system its own client certificate, runs `fn`, stops it.
 * Only the fidelity run logs every request: at thousands of nodes the audit log itself would be
 * the bottleneck measured.
 */
export async function withControlPlane(
  setup: ControlPlaneSetup,
  name: string,
  audit: boolean,
  fn: (ctx: CompareContext, cp: ControlPlane) => Promise<void>,
): Promise<void> {
  const { deps, stateDir, workDir } = setup;
  // Load-test limits turn API Priority and Fairness off; --identity node keeps it (and the
  // default in-flight limits) to see which flow schema the nodes' requests are dispatched under.
  const loadTest = setup.identity !== "node";
  log(
    `starting control plane "${name}" (${audit ? "audit log on, " : ""}${loadTest ? "load-test limits" : "default limits, APF on"})`,
  );
  const info = await upCluster(deps, { name, audit, loadTest, kubeVersion: setup.kubeVersion });
  setup.onStarted(async () => {
    await downCluster(deps, { name }).catch(() => undefined);
  });
  const layout = clusterLayout(stateDir, name);
  const rec = await readRecord(layout);
  const cp: ControlPlane = {
    apiserver: rec?.processes["kube-apiserver"]?.pid ?? 0,
    etcd: rec?.processes.etcd?.pid ?? 0,
    auditLog: layout.auditLog,
  };
  const ca = { certFile: join(layout.pki, "ca.crt"), keyFile: join(layout.pki, "ca.key") };
  const kubeconfigFor = {} as Record<SystemName, string>;
  for (const system of SYSTEM_NAMES) {
    await issueCert(layout.pki, ca, {
      name: `bench-${system}`,
      commonName: `bench-${system}`,
      organizations: ["system:masters"],
      usage: "client",
    });
    const file = join(workDir, `${name}-${system}.kubeconfig`);
    await writeKubeconfig(
      file,
      await renderKubeconfig({
        clusterName: name,
        userName: `bench-${system}`,
        server: info.server,
        caFile: ca.certFile,
        certFile: join(layout.pki, `bench-${system}.crt`),
        keyFile: join(layout.pki, `bench-${system}.key`),
      }),
    );
    kubeconfigFor[system] = file;
  }
  const client = new KubeClient(await loadClusterAccess({ kubeconfig: info.kubeconfig, env: deps.env }), {
    userAgent: "kubemark-bench",
  });
  try {
    let nodeIdentity: CompareContext["nodeIdentity"];
    if (setup.identity === "node") {
      // As `create --identity node` does in a target: kubeadm's bindings and a bootstrap token
      // (group system:bootstrappers:kubemark-cluster), handed over in a 0600 kubeconfig.
      const token = await ensureNodeBootstrap(client, {
        fleet: "bench",
        now: Date.now(),
        ttlMs: 6 * 3_600_000,
      });
      const bootstrapKubeconfig = join(workDir, `${name}-bootstrap.kubeconfig`);
      const caCrt = await readFile(ca.certFile, "utf8");
      await writeKubeconfig(
        bootstrapKubeconfig,
        targetKubeconfig({ server: info.server, caCrt, token: tokenText(token) }),
      );
      // Upstream kubemark has no TLS bootstrap: each hollow kubelet is handed a certificate of
      // its own, as a hand-made kubemark setup with node identities would be.
      const kubemarkKubeconfig = async (node: string): Promise<string> => {
        await issueCert(layout.pki, ca, {
          name: `node-${node}`,
          commonName: `system:node:${node}`,
          organizations: ["system:nodes"],
          usage: "client",
        });
        const file = join(workDir, `${name}-node-${node}.kubeconfig`);
        await writeKubeconfig(
          file,
          await renderKubeconfig({
            clusterName: name,
            userName: `system:node:${node}`,
            server: info.server,
            caFile: ca.certFile,
            certFile: join(layout.pki, `node-${node}.crt`),
            keyFile: join(layout.pki, `node-${node}.key`),
          }),
        );
        return file;
      };
      nodeIdentity = { bootstrapKubeconfig, kubemarkKubeconfig };
    }
    await fn(
      {
        kubeconfig: info.kubeconfig,
        kubeconfigFor,
        client,
        bins: setup.bins,
        workDir,
        ...(nodeIdentity ? { nodeIdentity } : {}),
      },
      cp,
    );
  } finally {
    await client.close();
    await downCluster(deps, { name }).catch(() => undefined);
  }
}
