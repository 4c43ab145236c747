import type { Command } from "commander";
import { cleanupFleet } from "../../../fleet/verbs/cleanup.ts";
import type { CliContext } from "../../context.ts";
import { plural } from "../../../fleet/wording.ts";
import { scopeHint, withScope, withSession, type ScopeFlags } from "./session.ts";

/** `kubemark-cluster cleanup` with the scope flags the user gave. */
function cleanupHint(f: ScopeFlags): string {
  return `kubemark-cluster cleanup${scopeHint(f)}`;
}

/** `cleanup`. */
export function registerCleanup(program: Command, ctx: () => CliContext): void {
  withScope(
    program
      .command("cleanup")
      .description(
        "remove the workload, the Nodes and Leases it created, its CSI driver's volumes and objects, and its RBAC; safe to run twice",
      )
      .option(
        "--all",
        "also delete the namespace (when kubemark-cluster created it) and wait until it is gone",
      )
      .option(
        "--delete-claims",
        "also delete the PersistentVolumeClaims of the fleet's CSI driver (by default they are left, and counted)",
      ),
  )
    .addHelpText(
      "after",
      "\nNodes are selected by the fleet's ownership label and hollow-node=true: Nodes it did not create are never touched.\nThe CSI driver's VolumeAttachments and PersistentVolumes go (their finalizers removed: the driver is stopped), then its\nCSIDriver and the StorageClass the fleet made; claims bound to its volumes stay unless --delete-claims.\n\nExamples:\n  kubemark-cluster cleanup\n  kubemark-cluster cleanup --delete-claims\n  kubemark-cluster cleanup --all",
    )
    .action(async (f: ScopeFlags & { all?: boolean; deleteClaims?: boolean }) => {
      const c = ctx();
      const r = await withSession(c, f, false, (s) =>
        cleanupFleet(s, { all: f.all === true, deleteClaims: f.deleteClaims === true }),
      );
      const st = r.storage;
      const storage = [
        st.attachments ? plural(st.attachments, "VolumeAttachment", "VolumeAttachments") : "",
        st.volumes ? plural(st.volumes, "PersistentVolume", "PersistentVolumes") : "",
        st.claimsDeleted ? plural(st.claimsDeleted, "PersistentVolumeClaim", "PersistentVolumeClaims") : "",
        ...st.drivers.map((d) => `CSIDriver ${d}`),
        ...st.storageClasses.map((n) => `StorageClass ${n}`),
      ].filter(Boolean);
      const b = r.bootstrap;
      const bootstrap = [
        b.tokens ? plural(b.tokens, "bootstrap token", "bootstrap tokens") : "",
        b.csrs ? plural(b.csrs, "CertificateSigningRequest", "CertificateSigningRequests") : "",
        b.bindings ? "the node bootstrap ClusterRoleBindings" : "",
      ].filter(Boolean);
      const parts = [
        `${r.nodes} Nodes (and Leases)`,
        r.processes ? `${r.processes} engine processes` : "",
        ...storage,
        ...bootstrap,
        r.objects.length ? `${r.objects.length} objects` : "",
        r.namespaces.length ? `namespace ${r.namespaces.join(", ")}` : "",
      ].filter(Boolean);
      c.stdout(
        r.nodes + r.processes + storage.length + bootstrap.length + r.objects.length + r.namespaces.length ===
          0
          ? "nothing to remove\n"
          : `removed ${parts.join(", ")}\n`,
      );
      if (st.claimsLeft.length > 0) {
        const shown = st.claimsLeft.slice(0, 3).join(", ");
        c.stdout(
          `left ${plural(st.claimsLeft.length, "PersistentVolumeClaim", "PersistentVolumeClaims")} of the fleet's driver (${shown}${st.claimsLeft.length > 3 ? ", ..." : ""}), Lost without their volumes: delete them with '${cleanupHint(f)} --delete-claims' or 'kubectl delete pvc -n <namespace> <name>'\n`,
        );
      }
      if (r.keptNamespaces.length)
        c.stdout(`kept namespace ${r.keptNamespaces.join(", ")}: kubemark-cluster did not create it\n`);
    });
}
