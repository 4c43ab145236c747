/** The report as a person reads it in a terminal: the SLIs with verdicts, then the worst API series. */
import { renderTable } from "../kernel/text-table.ts";
import type { ReportResult } from "./result.ts";
import { boundText } from "./summary.ts";

/** How many (verb, resource, scope) rows the table shows; `-o json` has all of them. */
export const API_ROWS_SHOWN = 15;

/** Renders a report as text tables. */
export function renderReportText(r: ReportResult): string {
  const out: string[] = [];
  out.push(
    `SLIs of ${r.server} from ${r.window.from} to ${r.window.to} (${r.window.seconds} s, ${r.window.by === "mark" ? "since the mark" : "--since"})\n\n`,
  );
  out.push(
    renderTable(
      ["sli", "value", "limit", "verdict", "detail"],
      r.summary.map((l) => [l.sli, l.value, l.limit, l.verdict, l.detail]),
    ),
  );
  const shown = r.api.slice(0, API_ROWS_SHOWN);
  out.push(
    `\nAPI calls by (verb, resource, scope), worst first; ${r.metric}, counts ${r.window.apiCounts}:\n`,
  );
  out.push(
    shown.length
      ? renderTable(
          ["verb", "resource", "scope", "calls", "p50", "p99", "limit", "verdict"],
          shown.map((a) => [
            a.verb,
            a.resource,
            a.scope,
            a.count,
            boundText(a.p50),
            boundText(a.p99),
            `${a.limitSeconds} s`,
            a.verdict,
          ]),
        )
      : "(no API calls in the window)\n",
  );
  if (r.api.length > shown.length)
    out.push(`... ${r.api.length - shown.length} more series (-o json has all)\n`);
  if (r.notes.length) out.push("\n" + r.notes.map((n) => `note: ${n}\n`).join(""));
  const failed = r.summary.filter((l) => l.verdict === "FAIL").map((l) => l.sli);
  out.push(
    `\n${r.verdict}: ${failed.length ? `${failed.length} SLI(s) over the limit: ${failed.join("; ")}` : "every SLI with data is within its limit"}\n`,
  );
  if (r.markRecorded)
    out.push(`mark recorded at ${r.markRecorded}: the next 'kubemark-cluster report' starts there\n`);
  return out.join("");
}
