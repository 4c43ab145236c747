/** Placeholder replaced in the next step. */
import type { ReportResult } from "./report.ts";

/** Renders a report as a self-contained HTML page. */
export function renderReportHtml(r: ReportResult): string {
  return `<!doctype html><pre>${JSON.stringify(r.summary)}</pre>`;
}
