import type { Command } from "commander";
import { KubemarkError } from "../../../kernel/errors.ts";
import type { StorageReport } from "../../../fleet/storage-verify.ts";
import { verifyFleet } from "../../../fleet/verbs/verify.ts";
import type { CliContext } from "../../context.ts";
import { parseOutput, renderData, renderTable } from "../../output.ts";
import { withScope, withSession, type ScopeFlags } from "./session.ts";

/** The table's rows on the fleet's hollow CSI driver (one saying there is none). */
function storageRows(
  st: StorageReport,
  registered: number,
  row: (check: string, ok: boolean, detail: string) => string[],
): string[][] {
  if (!st.driver)
    return [row("CSI driver", true, "none (created with --no-storage, or before storage existed)")];
  return [
    row("CSI driver", st.csiDriver, `${st.driver}${st.csiDriver ? "" : " (CSIDriver missing)"}`),
    row(
      "StorageClass",
      st.storageClass !== undefined,
      st.storageClass ? `${st.storageClass}${st.isDefault ? " (default)" : ""}` : "missing",
    ),
    row(
      "nodes with the driver",
      st.nodesMissing === 0,
      `${st.nodesWithDriver}/${registered}${st.nodesRegistering > 0 ? ` (${st.nodesRegistering} registering it)` : ""}`,
    ),
    row(
      "claims provisioned",
      st.stuckClaims.length === 0,
      st.stuckClaims.length ? `${st.stuckClaims.length} Pending for minutes` : "none stuck",
    ),
  ];
}

/** `verify`. */
export function registerVerify(program: Command, ctx: () => CliContext): void {
  withScope(
    program
      .command("verify")
      .description(
        "check desired vs registered vs Ready nodes, lease freshness and the workload; non-zero exit when unhealthy",
      )
      .option("-o, --output <format>", "table or json", "table"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  kubemark-cluster verify\n  kubemark-cluster verify -o json | jq .problems",
    )
    .action(async (f: ScopeFlags) => {
      const c = ctx();
      const format = parseOutput(f.output, ["table", "json", "yaml"]);
      const r = await withSession(c, f, true, (s) => verifyFleet(s));
      if (format !== "table") c.stdout(renderData(r, format));
      else {
        const row = (check: string, ok: boolean, detail: string): string[] => [
          check,
          ok ? "ok" : "FAIL",
          detail,
        ];
        c.stdout(
          renderTable(
            ["check", "status", "detail"],
            [
              row(
                "nodes registered",
                r.registered >= r.desired && r.desired > 0,
                `${r.registered}/${r.desired}`,
              ),
              row(
                "nodes Ready",
                r.ready === r.desired && r.desired > 0,
                `${r.ready}/${r.desired}${r.notReady.length ? ` (NotReady: ${r.notReady.slice(0, 3).join(", ")})` : ""}`,
              ),
              row("unbacked nodes", r.unbacked.length === 0, String(r.unbacked.length)),
              row(
                "leases fresh",
                r.staleLeases.length + r.missingLeases.length === 0,
                `${r.registered - r.staleLeases.length - r.missingLeases.length}/${r.registered}`,
              ),
              row(
                r.mode === "local" ? "engine processes" : "engine pods",
                r.workload.running === r.workload.desired && r.workload.desired > 0,
                `${r.workload.running}/${r.workload.desired} running`,
              ),
              ...storageRows(r.storage, r.registered, row),
              ...(r.certificates
                ? [
                    row(
                      "client certificates",
                      r.certificates.missing.length + r.certificates.expiring.length === 0,
                      `${r.certificates.missing.length} missing, ${r.certificates.expiring.length} expiring within a day${r.certificates.complete ? "" : " (of the CSRs issued in the last hour)"}`,
                    ),
                  ]
                : []),
            ],
          ),
        );
        for (const w of r.warnings) c.stdout(`warning: ${w}\n`);
      }
      if (!r.healthy) {
        throw new KubemarkError("API_ERROR", `fleet ${r.fleet} is unhealthy: ${r.problems.join("; ")}`, {
          hint: r.fixes.join("; "),
        });
      }
    });
}
