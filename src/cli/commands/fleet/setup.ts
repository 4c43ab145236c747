import type { Command } from "commander";
import { defaultMode } from "../../../fleet/runtime/placement.ts";
import { readFleet } from "../../../fleet/session.ts";
import type { FleetMode } from "../../../fleet/spec.ts";
import { setup } from "../../../fleet/verbs/setup.ts";
import type { CliContext } from "../../context.ts";
import { withScope, withSession, type ScopeFlags } from "./session.ts";

/** `setup`. */
export function registerSetup(program: Command, ctx: () => CliContext): void {
  withScope(
    program
      .command("setup")
      .description("create the namespace and the hollow nodes' least-privilege identity (idempotent)")
      .option("--local", "prepare for local engine processes (a ServiceAccount token for them)")
      .addHelpText(
        "after",
        `
Same cluster: a ServiceAccount 'hollow-node' with a ClusterRole granting what kubelets and
kube-proxy do (Nodes, pods bound to them, Leases in kube-node-lease, Services, EndpointSlices,
events), and nothing a kubelet may do only for its own pods (Secrets, tokens).
Two clusters (--target-kubeconfig): that identity in the target, and a Secret in the hosting
cluster holding its token (never printed).

Examples:
  kubemark-cluster setup
  kubemark-cluster setup --kubeconfig host.kubeconfig --target-kubeconfig target.kubeconfig`,
      ),
  ).action(async (f: ScopeFlags & { local?: boolean }) => {
    const c = ctx();
    await withSession(c, f, false, async (s) => {
      const existing = await readFleet(s);
      const mode: FleetMode = f.local ? "local" : (existing?.mode ?? defaultMode(s.hosting));
      const r = await setup(s, s.runtime(mode), existing ?? { storage: undefined, proxy: true });
      c.stdout(
        `namespace ${s.namespace} ${r.namespaceCreated ? "created" : "ready"}; ServiceAccount hollow-node with least-privilege RBAC in ${s.target.access.server}${s.twoCluster ? `; Secret ${s.namespace}/hollow-node-target holds its credentials` : ""}\n`,
      );
    });
  });
}
